/**
 * The incident review's filters and their URL form: /incidents?cluster=&kind=&open=&from=&to=
 * (the same names as GET /api/incidents). The URL is the source of truth, so a filtered view can be
 * bookmarked, shared and reloaded. Pure; unit-tested in test/unit/incidents-ui-filters.test.ts.
 */
import { IncidentKind, type IncidentMsg } from "../../server/protocol";
import { fromInputValue, toInputValue } from "../format";

export interface IncidentFilters {
  cluster: string | null;
  kind: IncidentKind | null;
  /** true: open only, false: resolved only, null: both */
  open: boolean | null;
  /** ISO-8601 UTC; the list shows incidents overlapping [from, to] */
  from: string | null;
  to: string | null;
}

export const NO_FILTERS: IncidentFilters = { cluster: null, kind: null, open: null, from: null, to: null };

/** Statistics need a range: without `from` they cover this long before `to` (or now). */
export const DEFAULT_STATS_RANGE_MS = 24 * 3600_000;

type Params = URLSearchParams | Record<string, string | string[] | undefined>;

function get(params: Params, key: string): string | null {
  if (params instanceof URLSearchParams) return params.get(key);
  const v = params[key];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function isoOrNull(v: string | null): string | null | undefined {
  if (v === null || v === "") return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

/**
 * Reads filters from a query string. Unusable values are dropped (the view then shows more, not
 * less) and named in `problems`, so the page can say what it ignored.
 */
export function parseFilters(params: Params): { filters: IncidentFilters; problems: string[] } {
  const problems: string[] = [];
  const f: IncidentFilters = { ...NO_FILTERS };

  const cluster = get(params, "cluster");
  if (cluster) {
    if (cluster.length <= 128) f.cluster = cluster;
    else problems.push("cluster: too long");
  }
  const kind = get(params, "kind");
  if (kind) {
    const k = IncidentKind.safeParse(kind);
    if (k.success) f.kind = k.data;
    else problems.push(`kind: "${kind.slice(0, 40)}" is not an incident kind`);
  }
  const open = get(params, "open");
  if (open === "true" || open === "false") f.open = open === "true";
  else if (open) problems.push(`open: "${open.slice(0, 40)}" is not true or false`);

  for (const key of ["from", "to"] as const) {
    const v = isoOrNull(get(params, key));
    if (v === undefined) problems.push(`${key}: not a time`);
    else f[key] = v;
  }
  if (f.from && f.to && Date.parse(f.from) > Date.parse(f.to)) {
    problems.push("from: after to, range ignored");
    f.from = null;
    f.to = null;
  }
  return { filters: f, problems };
}

/** The canonical query string (no "?"; empty when no filter), in a fixed order. */
export function filtersToSearch(f: IncidentFilters): string {
  const q = new URLSearchParams();
  if (f.cluster) q.set("cluster", f.cluster);
  if (f.kind) q.set("kind", f.kind);
  if (f.open !== null) q.set("open", String(f.open));
  if (f.from) q.set("from", f.from);
  if (f.to) q.set("to", f.to);
  return q.toString();
}

/** The page's own URL for these filters. */
export function reviewHref(f: IncidentFilters): string {
  const qs = filtersToSearch(f);
  return qs ? `/incidents?${qs}` : "/incidents";
}

export function incidentsApiUrl(f: IncidentFilters): string {
  const qs = filtersToSearch(f);
  return qs ? `/api/incidents?${qs}` : "/api/incidents";
}

/** The range the statistics cover: the filter's, else the DEFAULT_STATS_RANGE_MS up to now. */
export function statsRange(f: IncidentFilters, now: number): { from: string; to: string } {
  const to = f.to ? Date.parse(f.to) : now;
  const from = f.from ? Date.parse(f.from) : to - DEFAULT_STATS_RANGE_MS;
  return { from: new Date(Math.min(from, to - 1000)).toISOString(), to: new Date(to).toISOString() };
}

export function statsApiUrl(f: IncidentFilters, now: number): string {
  const q = new URLSearchParams();
  if (f.cluster) q.set("cluster", f.cluster);
  const r = statsRange(f, now);
  q.set("from", r.from);
  q.set("to", r.to);
  return `/api/stats?${q.toString()}`;
}

/** Whether an incident belongs in the filtered list (the same rule as GET /api/incidents). */
export function matchesFilters(inc: IncidentMsg, f: IncidentFilters): boolean {
  if (f.cluster && inc.cluster !== f.cluster) return false;
  if (f.kind && inc.kind !== f.kind) return false;
  if (f.open === true && inc.closedAt !== null) return false;
  if (f.open === false && inc.closedAt === null) return false;
  // overlapping the range: opened before its end, and not closed before its start
  if (f.to && Date.parse(inc.openedAt) > Date.parse(f.to)) return false;
  if (f.from && inc.closedAt !== null && Date.parse(inc.closedAt) < Date.parse(f.from)) return false;
  return true;
}

export function sameFilters(a: IncidentFilters, b: IncidentFilters): boolean {
  return filtersToSearch(a) === filtersToSearch(b);
}

/** Quick ranges offered next to the time inputs: `from` = now - ms, no `to`. */
export const RANGE_PRESETS: { label: string; ms: number }[] = [
  { label: "1 h", ms: 3600_000 },
  { label: "24 h", ms: 24 * 3600_000 },
  { label: "7 d", ms: 7 * 24 * 3600_000 },
  { label: "30 d", ms: 30 * 24 * 3600_000 },
];

/** ISO -> the value of an <input type="datetime-local"> (UTC, see ../format.ts); "" when absent. */
export function isoToInput(iso: string | null): string {
  return toInputValue(iso);
}

/** The value of an <input type="datetime-local"> read as UTC -> ISO; null when empty or unreadable. */
export function inputToIso(value: string): string | null {
  const t = fromInputValue(value);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}
