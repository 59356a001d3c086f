/**
 * Pure assembly of the timeline's lanes from stored rows: one lane per node x
 * virtual router (VRID), node-wide STOP rows applied to every lane of their
 * node, UNKNOWN while the node's agent was offline, VIP ownership, and the
 * per-pixel aggregation. The database layer (store.ts) only fetches rows.
 */
import { InstanceState, type ConfigInstance } from "../protocol";
import { downsample, mergeIntervals } from "./downsample";
import { buildSegments, countTransitions, offlineIntervals, type LaneEvent, type LaneState, type Range, type Seg, type SessionRow } from "./segments";
import type { Interval, TimelineLane, TimelineSegment } from "./types";
import { heldIntervals, vipAddress, type VipChange } from "./vips";

export interface NodeInput {
  id: number;
  name: string;
  /** instances of the node's newest config snapshot (as of the range end), if any */
  config: readonly ConfigInstance[] | null;
  /** connected_at of the node's first agent session ever; null: liveness never recorded */
  trackedSince: number | null;
  sessions: readonly SessionRow[];
  vipChanges: readonly VipChange[];
  /** when the running server last heard from the node (exact); undefined when not known */
  lastSeen?: number | null;
}

/** A state_change row (instance "*" = node-wide STOP). */
export interface StateRow {
  nodeId: number;
  instance: string;
  vrid: number | null;
  state: string;
  ts: number;
}

export interface AssembleInput {
  range: Range;
  now: number;
  /** pixels to aggregate for */
  width: number;
  offlineMs: number;
  /** how stale stored liveness may be (see offlineIntervals) */
  persistSlackMs?: number;
  nodes: readonly NodeInput[];
  /** the last row per (node, instance) before range.from */
  before: readonly StateRow[];
  /** rows inside the range, in stored order (time, then id) */
  rows: readonly StateRow[];
}

/**
 * ISO time of a segment boundary. Consecutive segments share one (this one's `to` is the next one's `from`), so the
 * last answer is kept: formatting was the largest part of assembling a 7-day timeline (12,000 calls).
 */
let lastMs = Number.NaN;
let lastIso = "";
const iso = (ms: number): string => {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
};
const byName = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

const STATES: ReadonlySet<string> = new Set(InstanceState.options);
/** a set lookup, not a schema parse: it runs once per stored row (10,000 in a 7-day range) */
function isState(s: string): s is LaneState {
  return STATES.has(s);
}

interface LaneAcc {
  node: NodeInput;
  vrid: number | null;
  /** instance names met in rows, newest last */
  names: string[];
  cfg: ConfigInstance | null;
  events: (LaneEvent & { ord: number })[];
  initial: { state: LaneState; ts: number } | null;
}

export function toApiSegment(s: Seg): TimelineSegment {
  return {
    state: s.state,
    from: iso(s.from),
    to: s.open ? null : iso(s.to),
    ...(s.aggregated ? { aggregated: true as const, transitions: s.transitions ?? 0 } : {}),
  };
}

export function assembleLanes(input: AssembleInput): TimelineLane[] {
  const { range, now } = input;
  const lanes: LaneAcc[] = [];
  const nodesById = new Map(input.nodes.map((n) => [n.id, n]));
  const cfgVrid = new Map<number, Map<string, number | null>>();
  for (const n of input.nodes) cfgVrid.set(n.id, new Map((n.config ?? []).map((i) => [i.name, i.vrid])));

  // a node's lanes by VRID (a number), or by instance name (a string) where no VRID is known: no key is built
  // per row (10,000 in a 7-day range); `lanes` keeps the order in which lanes were met
  const byNode = new Map<number, Map<number | string, LaneAcc>>();
  const laneOf = (node: NodeInput, instance: string, rowVrid: number | null): LaneAcc => {
    const vrid = rowVrid ?? cfgVrid.get(node.id)?.get(instance) ?? null;
    let mine = byNode.get(node.id);
    if (!mine) byNode.set(node.id, (mine = new Map()));
    let lane = mine.get(vrid ?? instance);
    if (!lane) {
      const cfg = (node.config ?? []).find((i) => (vrid !== null ? i.vrid === vrid : i.name === instance)) ?? null;
      lane = { node, vrid, names: [], cfg, events: [], initial: null };
      mine.set(vrid ?? instance, lane);
      lanes.push(lane);
    }
    if (lane.names[lane.names.length - 1] !== instance) lane.names.push(instance);
    return lane;
  };

  // configured instances have a lane even when nothing happened to them
  for (const n of input.nodes) for (const i of n.config ?? []) laneOf(n, i.name, i.vrid);
  // lanes and initial states from the last rows before the range
  const starBefore = new Map<number, { state: LaneState; ts: number }>();
  for (const r of input.before) {
    const node = nodesById.get(r.nodeId);
    if (!node || !isState(r.state)) continue;
    if (r.instance === "*") {
      const cur = starBefore.get(r.nodeId);
      if (!cur || r.ts >= cur.ts) starBefore.set(r.nodeId, { state: r.state, ts: r.ts });
      continue;
    }
    const lane = laneOf(node, r.instance, r.vrid);
    if (!lane.initial || r.ts >= lane.initial.ts) lane.initial = { state: r.state, ts: r.ts };
  }
  // events inside the range; node-wide rows wait until every lane is known
  const starRows = new Map<number, (LaneEvent & { ord: number })[]>();
  input.rows.forEach((r, ord) => {
    const node = nodesById.get(r.nodeId);
    if (!node || !isState(r.state)) return;
    if (r.instance === "*") {
      const list = starRows.get(r.nodeId) ?? [];
      list.push({ ts: r.ts, state: r.state, ord });
      starRows.set(r.nodeId, list);
      return;
    }
    laneOf(node, r.instance, r.vrid).events.push({ ts: r.ts, state: r.state, ord });
  });

  const offline = new Map<number, Interval[]>();
  for (const n of input.nodes) {
    offline.set(
      n.id,
      offlineIntervals(n.sessions, {
        range,
        now,
        offlineMs: input.offlineMs,
        trackedSince: n.trackedSince,
        persistSlackMs: input.persistSlackMs,
        lastSeen: n.lastSeen,
      }),
    );
  }

  const out: TimelineLane[] = [];
  for (const lane of lanes) {
    const star = starBefore.get(lane.node.id);
    let initial = lane.initial;
    if (star && (!initial || star.ts >= initial.ts)) initial = star;
    const events = [...lane.events, ...(starRows.get(lane.node.id) ?? [])].sort((a, b) => a.ts - b.ts || a.ord - b.ord);
    const gaps = offline.get(lane.node.id) ?? [];
    const segs = buildSegments(initial?.state ?? null, events, gaps, range, now);
    const vips = (lane.cfg?.vips ?? []).map(vipAddress);
    const held = heldIntervals(lane.node.vipChanges, vips, gaps, range, now);
    const openEnd = range.to >= now;
    const end = Math.min(range.to, now);
    out.push({
      node: lane.node.name,
      instance: lane.cfg?.name ?? lane.names[lane.names.length - 1] ?? "?",
      vrid: lane.vrid,
      segments: downsample(segs, range, input.width).map(toApiSegment),
      vipHeld: mergeIntervals(held, range, input.width).map((i) => ({ from: iso(i.from), to: openEnd && i.to === end ? null : iso(i.to) })),
      vips,
      transitions: countTransitions(events, initial?.state ?? null, range),
    });
  }
  return out.sort(
    (a, b) =>
      (a.vrid ?? Number.POSITIVE_INFINITY) - (b.vrid ?? Number.POSITIVE_INFINITY) ||
      (a.vrid === null && b.vrid === null ? byName.compare(a.instance, b.instance) : 0) ||
      byName.compare(a.node, b.node) ||
      byName.compare(a.instance, b.instance),
  );
}
