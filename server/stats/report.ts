/**
 * A cluster's report over a range (the /reports page, GET /api/reports): the range's figures exactly as
 * GET /api/stats computes them (computeClusterStats, the same input), the same figures per UTC day, the
 * availability of every virtual router, and the incidents by kind and by cause.
 * Pure; unit-tested in test/unit/stats-report.test.ts (days add up to the range; availability).
 *
 * Availability of a virtual router: the share of the observed range (from .. min(to, now)) not covered
 * by a NO_MASTER, DUAL_MASTER or STATE_MISMATCH incident of that virtual router, i.e. the time it had
 * exactly one MASTER holding its VIP, as the detectors judged it (a condition shorter than its grace is
 * not an incident and is not counted; see docs/DETECTION.md).
 */
import { z } from "zod";
import { computeClusterStats, incidentGroup, type ClusterStatsInput, type IncidentRow } from "./compute";
import { countFailovers } from "./failovers";
import { unionDuration } from "./intervals";
import { ClusterStats } from "./types";

export const DAY_MS = 24 * 3600_000;

/** the kinds that mean "not exactly one MASTER holding the VIP" */
export const UNAVAILABLE_KINDS = ["NO_MASTER", "DUAL_MASTER", "STATE_MISMATCH"] as const;

export const ReportDay = z.object({
  /** the day's start (UTC midnight, or the range start for the first day) and end (exclusive; the range end for the last) */
  from: z.string(),
  to: z.string(),
  failovers: z.number().int().nonnegative(),
  noMasterMs: z.number().nonnegative(),
  splitBrainMs: z.number().nonnegative(),
  /** mean duration of the critical incidents closed that day; null when none */
  mttrMs: z.number().nonnegative().nullable(),
  recovered: z.number().int().nonnegative(),
  /** incidents opened that day */
  opened: z.number().int().nonnegative(),
});
export type ReportDay = z.infer<typeof ReportDay>;

export const VridAvailability = z.object({
  group: z.string(),
  vrid: z.number().nullable(),
  /** 0..1 of the observed range; null when nothing of the range has been observed yet */
  availability: z.number().min(0).max(1).nullable(),
  unavailableMs: z.number().nonnegative(),
  failovers: z.number().int().nonnegative(),
});
export type VridAvailability = z.infer<typeof VridAvailability>;

export const ReportResponse = z.object({
  cluster: z.string(),
  from: z.string(),
  to: z.string(),
  /** the range as a whole: the same figures GET /api/stats answers for this cluster and range */
  totals: ClusterStats,
  /** ms of the range observed so far (from .. min(to, now)): the base of the availabilities */
  observedMs: z.number().nonnegative(),
  vrids: z.array(VridAvailability),
  days: z.array(ReportDay),
  /** incidents overlapping the range per cause code, most frequent first */
  causes: z.array(z.object({ code: z.string(), count: z.number().int().positive() })),
});
export type ReportResponse = z.infer<typeof ReportResponse>;

export interface ReportInput extends ClusterStatsInput {
  incidents: readonly (IncidentRow & { causeCode: string })[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** [from, to) cut at every UTC midnight; the last piece ends at `to` (inclusive, as the range) */
export function utcDays(from: number, to: number): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let start = from;
  while (start < to) {
    const end = Math.min(to, (Math.floor(start / DAY_MS) + 1) * DAY_MS);
    out.push({ from: start, to: end });
    start = end;
  }
  return out;
}

export function computeReport(input: ReportInput): ReportResponse {
  const { from, to, now } = input;
  const failovers = countFailovers(input.before, input.rows, from, to);
  const totals = computeClusterStats(input, failovers);
  const openEnd = Math.max(from, Math.min(now, to));
  const observedMs = openEnd - from;
  const interval = (i: IncidentRow) => ({ from: i.openedAt, to: i.closedAt });
  const handovers = failovers.flatMap((f) => f.handovers.map((h) => ({ ...h, group: f.group })));
  const ofKind = (kind: string) => input.incidents.filter((i) => i.kind === kind).map(interval);

  const pieces = utcDays(from, to);
  const days = pieces.map((d, n): ReportDay => {
    const last = n === pieces.length - 1;
    const inDay = (t: number) => t >= d.from && (last ? t <= d.to : t < d.to);
    const closed = input.incidents.filter((i) => i.severity === "critical" && i.closedAt !== null && inDay(i.closedAt));
    const durations = closed.map((i) => i.closedAt! - i.openedAt);
    return {
      from: iso(d.from),
      to: iso(d.to),
      failovers: handovers.filter((h) => inDay(h.at)).length,
      noMasterMs: unionDuration(ofKind("NO_MASTER"), d.from, d.to, openEnd),
      splitBrainMs: unionDuration(ofKind("DUAL_MASTER"), d.from, d.to, openEnd),
      mttrMs: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null,
      recovered: durations.length,
      opened: input.incidents.filter((i) => inDay(i.openedAt)).length,
    };
  });

  const vrids: VridAvailability[] = totals.vrids.map((v) => ({ group: v.group, vrid: v.vrid, availability: null, unavailableMs: 0, failovers: v.failovers }));
  const vrid = (group: string, id: number | null) => {
    let v = vrids.find((x) => x.group === group);
    if (!v) vrids.push((v = { group, vrid: id, availability: null, unavailableMs: 0, failovers: 0 }));
    return v;
  };
  const down = input.incidents.filter((i) => (UNAVAILABLE_KINDS as readonly string[]).includes(i.kind));
  for (const i of down) vrid(incidentGroup(i), i.vrid);
  for (const v of vrids) {
    v.unavailableMs = unionDuration(down.filter((i) => incidentGroup(i) === v.group).map(interval), from, to, openEnd);
    v.availability = observedMs > 0 ? Math.max(0, 1 - v.unavailableMs / observedMs) : null;
  }
  vrids.sort((a, b) => (a.vrid ?? Infinity) - (b.vrid ?? Infinity) || a.group.localeCompare(b.group));

  const counts = new Map<string, number>();
  for (const i of input.incidents) {
    if (i.openedAt <= to && (i.closedAt ?? Infinity) >= from) counts.set(i.causeCode, (counts.get(i.causeCode) ?? 0) + 1);
  }
  const causes = [...counts].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));

  return { cluster: input.cluster, from: iso(from), to: iso(to), totals, observedMs, vrids, days, causes };
}
