/**
 * Incident export: JSON (the API's incident object) and CSV of its evidence (node, at, kind, line).
 * CSV follows RFC 4180: CRLF line ends, a field with a comma, a double quote, CR or LF is quoted
 * and its quotes are doubled. A field starting with =, +, -, @, tab or CR gets a leading ' so a
 * spreadsheet shows it as text instead of running it as a formula (CSV injection; log lines and node
 * names come from the nodes). Pure; the download itself is in ExportButtons.tsx.
 */
import type { IncidentMsg } from "../../server/protocol";

export const CSV_HEADER = ["node", "at", "kind", "line"] as const;

/** a spreadsheet would read a cell starting with one of these as a formula */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: string): string {
  const v = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** Evidence in time order (as on the page), one row per line, with a header row. */
export function evidenceCsv(inc: IncidentMsg): string {
  const rows = [...inc.cause.evidence]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => Date.parse(a.e.at) - Date.parse(b.e.at) || a.i - b.i)
    .map(({ e }) => [e.node, e.at, e.kind, e.line]);
  return toCsv([[...CSV_HEADER], ...rows]);
}

export function incidentJson(inc: IncidentMsg): string {
  return JSON.stringify(inc, null, 2) + "\n";
}

/** "incident-42-shop-lb-DUAL_MASTER.csv": safe in every file system. */
export function exportFileName(inc: IncidentMsg, ext: "json" | "csv"): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 64);
  return `incident-${safe(inc.id)}-${safe(inc.cluster)}-${inc.kind}.${ext}`;
}
