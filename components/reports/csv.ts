/**
 * The report's CSV exports (the /reports page's buttons): one row per UTC day, one row per virtual router.
 * The same CSV rules as the incident export (components/incidents/export.ts: RFC 4180, formula cells
 * neutralised). Durations in seconds, availability as a fraction. Pure.
 */
import type { ReportResponse } from "../../server/stats/report";
import { toCsv } from "../incidents/export";

const secs = (ms: number | null) => (ms === null ? "" : (ms / 1000).toFixed(3));

export function daysCsv(r: ReportResponse): string {
  return toCsv([
    ["cluster", "day_from", "day_to", "failovers", "no_master_s", "split_brain_s", "mttr_s", "recovered", "incidents_opened"],
    ...r.days.map((d) => [r.cluster, d.from, d.to, String(d.failovers), secs(d.noMasterMs), secs(d.splitBrainMs), secs(d.mttrMs), String(d.recovered), String(d.opened)]),
  ]);
}

export function availabilityCsv(r: ReportResponse): string {
  return toCsv([
    ["cluster", "from", "to", "virtual_router", "vrid", "availability", "unavailable_s", "observed_s", "failovers"],
    ...r.vrids.map((v) => [
      r.cluster, r.from, r.to, v.group, v.vrid === null ? "" : String(v.vrid), v.availability === null ? "" : v.availability.toFixed(6),
      secs(v.unavailableMs), secs(r.observedMs), String(v.failovers),
    ]),
  ]);
}

/** "report-shop-lb-2024-05-01-2024-05-31-days.csv": safe in every file system */
export function reportFileName(r: ReportResponse, what: "days" | "availability"): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 64);
  return `report-${safe(r.cluster)}-${r.from.slice(0, 10)}-${r.to.slice(0, 10)}-${what}.csv`;
}
