/**
 * Pure transforms: state changes and agent liveness -> state segments of one
 * lane, with explicit UNKNOWN where the node's agent was offline. Times are
 * epoch ms. No I/O; unit-tested in test/unit/timeline-segments.test.ts.
 */
import type { InstanceState } from "../protocol";
import type { Interval } from "./types";

export type LaneState = InstanceState;

/** One state change of a lane (a node-wide STOP is expanded to every lane of its node). */
export interface LaneEvent {
  ts: number;
  state: LaneState;
}

/** A segment in epoch ms. `to` is exact; `open` says the state still holds at the range end. */
export interface Seg {
  state: LaneState;
  from: number;
  to: number;
  open?: boolean;
  aggregated?: boolean;
  transitions?: number;
  mix?: Partial<Record<LaneState, number>>;
}

export interface Range {
  from: number;
  to: number;
}

/** One stored agent_session row. */
export interface SessionRow {
  connectedAt: number;
  lastSeenAt: number;
  disconnectedAt: number | null;
}

export interface LivenessOptions {
  range: Range;
  now: number;
  offlineMs: number;
  /** connected_at of the node's first session ever; null: liveness never recorded */
  trackedSince: number | null;
  /** how stale a stored last_seen_at may be (liveness is persisted at most this often: server/ingest/liveness.ts) */
  persistSlackMs?: number;
  /** when the running server last heard from the node (exact, in memory); undefined: not known */
  lastSeen?: number | null;
}

/**
 * When the node's agent was offline inside [range.from, min(range.to, now)].
 *
 * A session row is one unbroken stretch of heartbeats, online from
 * connected_at to last_seen_at. Stored times may be up to `persistSlackMs`
 * stale, so a silence between stretches of at most offlineMs + persistSlackMs
 * is still online; a longer one is offline from the last time the agent was
 * heard from until it connected again. The end: with the server's exact
 * `lastSeen`, the node is online up to now while that is within offlineMs
 * (as the live overview says); without it, the newest stored stretch counts as
 * online up to now while it is recent and did not disconnect. Before
 * `trackedSince` (the node's first session ever) liveness was not recorded:
 * that time is not called offline, and a node never tracked has no offline time.
 */
export function offlineIntervals(sessions: readonly SessionRow[], o: LivenessOptions): Interval[] {
  if (o.trackedSince === null) return [];
  const start = Math.max(o.range.from, o.trackedSince);
  const end = Math.min(o.range.to, o.now);
  if (end <= start) return [];
  const slack = o.persistSlackMs ?? 0;
  const live = o.lastSeen !== undefined;
  const rows = [...sessions];
  if (typeof o.lastSeen === "number") rows.push({ connectedAt: o.lastSeen, lastSeenAt: o.lastSeen, disconnectedAt: null });
  // online stretches, sorted and bridged over short silences
  const stretches: Interval[] = [];
  for (const s of rows.sort((a, b) => a.connectedAt - b.connectedAt)) {
    let to = Math.max(s.lastSeenAt, s.connectedAt);
    const exact = live ? s.connectedAt === o.lastSeen && s.lastSeenAt === o.lastSeen : false;
    if (s.disconnectedAt === null && (live ? exact && o.now - to <= o.offlineMs : o.now - to <= o.offlineMs + slack)) to = Math.max(to, o.now);
    const last = stretches[stretches.length - 1];
    if (last && s.connectedAt - last.to <= o.offlineMs + slack) last.to = Math.max(last.to, to);
    else stretches.push({ from: s.connectedAt, to });
  }
  const out: Interval[] = [];
  let cursor = start;
  for (const s of stretches) {
    if (s.to <= cursor) continue;
    if (s.from > cursor) out.push({ from: cursor, to: Math.min(s.from, end) });
    cursor = Math.max(cursor, s.to);
    if (cursor >= end) break;
  }
  if (cursor < end) out.push({ from: cursor, to: end });
  return out.filter((i) => i.to > i.from);
}

/**
 * Segments of one lane inside `range` (clipped to `now`):
 * - starts from `initial`, the lane's last state before the range (null: not
 *   known, so the lane has no segment until its first event);
 * - each event starts a new segment unless it repeats the current state;
 * - offline intervals are UNKNOWN whatever the underlying state (changes logged
 *   while offline, delivered later, still set the state that follows);
 * - the last segment is `open` when the range reaches `now`.
 */
export function buildSegments(
  initial: LaneState | null,
  events: readonly LaneEvent[],
  offline: readonly Interval[],
  range: Range,
  now: number,
): Seg[] {
  const end = Math.min(range.to, now);
  if (end <= range.from) return [];
  const openEnd = range.to >= now;
  // underlying state changes, clipped to the range
  const base: Seg[] = [];
  let cur: LaneState | null = initial;
  let since = range.from;
  const sorted = [...events].sort((a, b) => a.ts - b.ts);
  for (const e of sorted) {
    if (e.ts >= end) break;
    if (e.ts <= range.from) {
      cur = e.state;
      continue;
    }
    if (e.state === cur) continue;
    if (cur !== null && e.ts > since) base.push({ state: cur, from: since, to: e.ts });
    cur = e.state;
    since = e.ts;
  }
  if (cur !== null && end > since) base.push({ state: cur, from: since, to: end });

  const withGaps = overlayUnknown(base, offline, range.from, end);
  const merged = mergeEqual(withGaps);
  if (openEnd && merged.length > 0) {
    const last = merged[merged.length - 1];
    if (last.to === end) last.open = true;
  }
  return merged;
}

/** Replace the parts of `segs` inside `offline` with UNKNOWN (also where no state was known). */
function overlayUnknown(segs: Seg[], offline: readonly Interval[], from: number, end: number): Seg[] {
  const gaps = offline
    .map((g) => ({ from: Math.max(g.from, from), to: Math.min(g.to, end) }))
    .filter((g) => g.to > g.from)
    .sort((a, b) => a.from - b.from);
  if (gaps.length === 0) return segs;
  const out: Seg[] = [];
  for (const s of segs) {
    let cursor = s.from;
    for (const g of gaps) {
      if (g.to <= cursor || g.from >= s.to) continue;
      if (g.from > cursor) out.push({ ...s, from: cursor, to: g.from });
      cursor = Math.min(s.to, g.to);
    }
    if (cursor < s.to) out.push({ ...s, from: cursor, to: s.to });
  }
  for (const g of gaps) out.push({ state: "UNKNOWN", from: g.from, to: g.to });
  return out.sort((a, b) => a.from - b.from || a.to - b.to);
}

/** Join touching segments of the same state. */
export function mergeEqual(segs: readonly Seg[]): Seg[] {
  const out: Seg[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last && last.state === s.state && last.to === s.from && !last.aggregated && !s.aggregated) {
      last.to = s.to;
      last.open = s.open;
    } else out.push({ ...s });
  }
  return out;
}

/** State changes inside a lane's segments (boundaries between different states that touch). */
export function countTransitions(events: readonly LaneEvent[], initial: LaneState | null, range: Range): number {
  let cur = initial;
  let n = 0;
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    if (e.ts >= range.to) break;
    if (e.state !== cur && e.ts > range.from && cur !== null) n++;
    cur = e.state;
  }
  return n;
}
