/**
 * Per-cluster statistics over a time range, from stored incidents and state changes.
 * Pure: the database reads live in load.ts. Unit-tested in test/unit/stats-compute.test.ts.
 *
 * - time without a MASTER: union of the NO_MASTER incidents' intervals, clipped to the range
 *   (an open incident lasts until `now`, or the range end when that is earlier);
 * - time in split brain: the same over DUAL_MASTER incidents;
 * - failovers: MASTER handovers per virtual router (see failovers.ts);
 * - MTTR: mean openedAt -> closedAt of the critical incidents closed inside the range.
 */
import { IncidentKind } from "../protocol";
import { countFailovers, type FailoverCount, type StateRow } from "./failovers";
import { unionDuration, type Interval } from "./intervals";
import type { ClusterStats, VridStats } from "./types";

export interface IncidentRow {
  kind: string;
  severity: string;
  vrid: number | null;
  /** node -> instance; names the virtual router when the VRID is unknown */
  instances?: Record<string, string>;
  /** epoch ms */
  openedAt: number;
  closedAt: number | null;
}

export interface ClusterStatsInput {
  cluster: string;
  /** epoch ms, from < to */
  from: number;
  to: number;
  /** the current time: open incidents last until then */
  now: number;
  /** incidents overlapping [from, to] (others are ignored) */
  incidents: readonly IncidentRow[];
  /** state rows before `from` that say who was MASTER at the start (see countFailovers) */
  before: readonly StateRow[];
  /** state rows inside [from, to] */
  rows: readonly StateRow[];
}

/** the virtual router an incident is about: its VRID, else its one instance name ("?" when unknown) */
export function incidentGroup(i: IncidentRow): string {
  if (i.vrid !== null) return String(i.vrid);
  const names = [...new Set(Object.values(i.instances ?? {}))];
  return names.length === 1 ? names[0]! : "?";
}

function overlaps(i: IncidentRow, from: number, to: number, openEnd: number): boolean {
  return i.openedAt <= to && (i.closedAt ?? openEnd) >= from;
}

/** `failovers`: countFailovers of the same input, when the caller needs it too (the report's handovers per day) */
export function computeClusterStats(input: ClusterStatsInput, failovers: FailoverCount[] = countFailovers(input.before, input.rows, input.from, input.to)): ClusterStats {
  const { from, to } = input;
  const openEnd = Math.max(from, Math.min(input.now, to));
  const incidents = input.incidents.filter((i) => overlaps(i, from, to, Math.max(input.now, i.openedAt)));
  const interval = (i: IncidentRow): Interval => ({ from: i.openedAt, to: i.closedAt });
  const ofKind = (kind: string) => incidents.filter((i) => i.kind === kind);

  const byKind: ClusterStats["incidents"] = {};
  for (const i of incidents) {
    const k = IncidentKind.safeParse(i.kind);
    if (k.success) byKind[k.data] = (byKind[k.data] ?? 0) + 1;
  }

  const recoveredDurations = incidents
    .filter((i) => i.severity === "critical" && i.closedAt !== null && i.closedAt >= from && i.closedAt <= to)
    .map((i) => i.closedAt! - i.openedAt);
  const mttrMs = recoveredDurations.length ? recoveredDurations.reduce((a, b) => a + b, 0) / recoveredDurations.length : null;

  // per virtual router
  const vrids = new Map<string, VridStats>();
  const vrid = (group: string, v: number | null): VridStats => {
    let s = vrids.get(group);
    if (!s) vrids.set(group, (s = { group, vrid: v, failovers: 0, noMasterMs: 0, splitBrainMs: 0 }));
    return s;
  };
  for (const f of failovers) vrid(f.group, f.vrid).failovers = f.failovers;
  for (const [kind, field] of [["NO_MASTER", "noMasterMs"], ["DUAL_MASTER", "splitBrainMs"]] as const) {
    const groups = new Map<string, IncidentRow[]>();
    for (const i of ofKind(kind)) {
      const g = incidentGroup(i);
      groups.set(g, [...(groups.get(g) ?? []), i]);
    }
    for (const [g, list] of groups) vrid(g, list[0]!.vrid)[field] = unionDuration(list.map(interval), from, to, openEnd);
  }

  return {
    cluster: input.cluster,
    noMasterMs: unionDuration(ofKind("NO_MASTER").map(interval), from, to, openEnd),
    splitBrainMs: unionDuration(ofKind("DUAL_MASTER").map(interval), from, to, openEnd),
    failovers: failovers.reduce((n, f) => n + f.failovers, 0),
    mttrMs,
    recovered: recoveredDurations.length,
    incidents: byKind,
    vrids: [...vrids.values()].sort((a, b) => (a.vrid ?? Infinity) - (b.vrid ?? Infinity) || a.group.localeCompare(b.group)),
  };
}

