/**
 * Pure transforms behind the timeline view: scales and ticks, lane grouping,
 * incident rows and per-lane overlays, and the client-side live update of the
 * fetched timeline. No React, no I/O: unit-tested in test/unit/timeline-ui.test.ts.
 */
import type { ClusterSummary, IncidentMsg, InstanceState } from "../../server/protocol";
import type { DataGap, TimelineLane, TimelineResponse, TimelineSegment } from "../../server/timeline/types";
import { formatDay, formatDuration, formatTime, formatTimeOfDay, utcMidnight } from "../format";

export type Lane = TimelineLane;

export const laneKey = (l: { node: string; vrid: number | null; instance: string }) =>
  l.vrid !== null ? `${l.node}#${l.vrid}` : `${l.node}@${l.instance}`;

const ms = (iso: string | null, open: number) => (iso === null ? open : Date.parse(iso));

/** A segment in epoch ms; an open one ends at `now`. */
export function segmentSpan(s: { from: string; to: string | null }, now: number): { from: number; to: number } {
  return { from: Date.parse(s.from), to: ms(s.to, now) };
}

/** Pixels for times: x(from) = 0, x(to) = width. */
export function xScale(from: number, to: number, width: number): (t: number) => number {
  const k = width / Math.max(1, to - from);
  return (t) => (t - from) * k;
}

const STEPS = [
  1_000, 5_000, 15_000, 30_000, 60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, 3600_000, 3 * 3600_000, 6 * 3600_000,
  12 * 3600_000, 86_400_000, 2 * 86_400_000, 7 * 86_400_000,
];

export interface Tick {
  t: number;
  label: string;
}

/**
 * Axis ticks about every `minPx` pixels, on round UTC times (whole minutes,
 * hours, midnights; see ../format.ts for the time-zone policy). Labels show
 * the time, or the date at midnight and for day steps.
 */
export function timeTicks(from: number, to: number, width: number, minPx = 96): Tick[] {
  const span = to - from;
  if (!(span > 0) || width <= 0) return [];
  const step = STEPS.find((s) => (s / span) * width >= minPx) ?? STEPS[STEPS.length - 1];
  const out: Tick[] = [];
  // every step divides a day, and UTC days have no DST: day steps start at midnight UTC
  const start = step >= 86_400_000 ? utcMidnight(from) : Math.floor(from / step) * step;
  for (let t = start < from ? start + step : start; t <= to && out.length < 200; t += step) {
    out.push({ t, label: tickLabel(t, step) });
  }
  return out;
}

function tickLabel(t: number, step: number): string {
  if (step >= 86_400_000 || t === utcMidnight(t)) return formatDay(t);
  return formatTimeOfDay(t, { seconds: step < 60_000 });
}

/** Lanes grouped by virtual router (VRID), in the server's order (VRID, then node). */
export function groupLanes(lanes: readonly Lane[]): { key: string; vrid: number | null; title: string; lanes: Lane[] }[] {
  const groups = new Map<string, { key: string; vrid: number | null; title: string; lanes: Lane[] }>();
  for (const l of lanes) {
    const key = l.vrid !== null ? `vrid-${l.vrid}` : `name-${l.instance}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, vrid: l.vrid, title: l.vrid !== null ? `VRID ${l.vrid}` : `${l.instance} (VRID unknown)`, lanes: [] };
      groups.set(key, g);
    }
    g.lanes.push(l);
  }
  for (const g of groups.values()) {
    const names = [...new Set(g.lanes.map((l) => l.instance))];
    if (g.vrid !== null) g.title = `VRID ${g.vrid} · ${names.join(", ")}`;
  }
  return [...groups.values()];
}

/** Whether an incident concerns a lane: same VRID and node, or node-wide (no VRID) on its node. */
export function incidentTouchesLane(inc: IncidentMsg, lane: Lane): boolean {
  const onNode = inc.nodes.length === 0 || inc.nodes.includes(lane.node);
  if (!onNode) return false;
  return inc.vrid === null || inc.vrid === lane.vrid;
}

export interface Band {
  incident: IncidentMsg;
  from: number;
  to: number;
  row: number;
}

/** Several short incidents close together, drawn as one item ("12 incidents") that zooms in when clicked. */
export interface BandGroup {
  incidents: IncidentMsg[];
  severity: IncidentMsg["severity"];
  from: number;
  to: number;
  row: number;
}

export type TrackItem = ({ kind: "incident" } & Band) | ({ kind: "group" } & BandGroup);

const SEVERITY_ORDER: Record<IncidentMsg["severity"], number> = { critical: 0, warning: 1, info: 2 };

/** The worse of two severities. */
export const worseSeverity = (a: IncidentMsg["severity"], b: IncidentMsg["severity"]) => (SEVERITY_ORDER[a] <= SEVERITY_ORDER[b] ? a : b);

function clipped(incidents: readonly IncidentMsg[], from: number, to: number, now: number) {
  return incidents
    .map((incident) => ({ incident, from: Date.parse(incident.openedAt), to: ms(incident.closedAt, now) }))
    .filter((b) => b.to >= from && b.from <= to)
    .sort((a, b) => a.from - b.from || a.to - b.to || a.incident.id.localeCompare(b.incident.id))
    .map((b) => ({ ...b, from: Math.max(b.from, from), to: Math.min(b.to, to) }));
}

/** Rows by greedy interval partitioning: each item on the first row free at its start (items sorted by start). */
function assignRows<T extends { from: number; to: number }>(items: T[], minMs: number): (T & { row: number })[] {
  const rowEnds: number[] = [];
  return items.map((b) => {
    const end = Math.max(b.to, b.from + minMs);
    let row = rowEnds.findIndex((e) => e <= b.from);
    if (row < 0) row = rowEnds.push(0) - 1;
    rowEnds[row] = end;
    return { ...b, to: end, row };
  });
}

/**
 * The incident track for a window drawn `pxMs` milliseconds per pixel: each
 * incident on the first row where it does not overlap another (greedy interval
 * partitioning), oldest first, widened to `minPx` so it stays visible and
 * clickable. Incidents shorter than `groupBelowPx` that follow each other
 * within `gapPx` are one group (worst severity, member count), so a week with
 * thousands of short incidents stays readable.
 */
export function incidentTrack(
  incidents: readonly IncidentMsg[],
  from: number,
  to: number,
  now: number,
  pxMs: number,
  o: { minPx?: number; groupBelowPx?: number; gapPx?: number } = {},
): TrackItem[] {
  const minMs = (o.minPx ?? 8) * pxMs;
  const smallMs = (o.groupBelowPx ?? 24) * pxMs;
  const gapMs = (o.gapPx ?? 8) * pxMs;
  const items: (({ kind: "incident"; incident: IncidentMsg } | { kind: "group"; incidents: IncidentMsg[]; severity: IncidentMsg["severity"] }) & { from: number; to: number })[] = [];
  let group: { incidents: IncidentMsg[]; severity: IncidentMsg["severity"]; from: number; to: number } | null = null;
  const flush = () => {
    if (!group) return;
    if (group.incidents.length === 1) items.push({ kind: "incident", incident: group.incidents[0], from: group.from, to: group.to });
    else items.push({ kind: "group", ...group });
    group = null;
  };
  for (const b of clipped(incidents, from, to, now)) {
    if (b.to - b.from >= smallMs) {
      items.push({ kind: "incident", incident: b.incident, from: b.from, to: b.to });
      continue;
    }
    if (group && b.from - group.to <= gapMs) {
      group.incidents.push(b.incident);
      group.to = Math.max(group.to, b.to, group.from + minMs);
      group.severity = worseSeverity(group.severity, b.incident.severity);
    } else {
      flush();
      group = { incidents: [b.incident], severity: b.incident.severity, from: b.from, to: Math.max(b.to, b.from + minMs) };
    }
  }
  flush();
  items.sort((a, b) => a.from - b.from || a.to - b.to);
  return assignRows(items, minMs) as TrackItem[];
}

/** A lane's incident strip: the union of its incidents' times per severity, with the ids inside each piece. */
export interface StripPiece {
  severity: IncidentMsg["severity"];
  from: number;
  to: number;
  ids: string[];
}

export function laneStrip(incidents: readonly IncidentMsg[], lane: Lane, from: number, to: number, now: number, joinMs: number): StripPiece[] {
  const out: StripPiece[] = [];
  for (const sev of ["info", "warning", "critical"] as const) {
    let cur: StripPiece | null = null;
    for (const b of clipped(incidents.filter((i) => i.severity === sev && incidentTouchesLane(i, lane)), from, to, now)) {
      if (cur && b.from - cur.to <= joinMs) {
        cur.to = Math.max(cur.to, b.to);
        cur.ids.push(b.incident.id);
      } else {
        if (cur) out.push(cur);
        cur = { severity: sev, from: b.from, to: b.to, ids: [b.incident.id] };
      }
    }
    if (cur) out.push(cur);
  }
  // drawn in this order: info, then warning, then critical on top
  return out;
}

/** The incident of a lane at time t (within `slackMs`): the worst, then the latest opened. */
export function incidentAt(incidents: readonly IncidentMsg[], lane: Lane, t: number, now: number, slackMs: number): IncidentMsg | null {
  let best: IncidentMsg | null = null;
  for (const i of incidents) {
    if (!incidentTouchesLane(i, lane)) continue;
    const f = Date.parse(i.openedAt);
    const e = ms(i.closedAt, now);
    if (t < f - slackMs || t > e + slackMs) continue;
    if (
      !best ||
      SEVERITY_ORDER[i.severity] < SEVERITY_ORDER[best.severity] ||
      (i.severity === best.severity && Date.parse(i.openedAt) > Date.parse(best.openedAt))
    ) {
      best = i;
    }
  }
  return best;
}

/** Insert or replace an incident by id (a live `incident` push). */
export function upsertIncident(list: readonly IncidentMsg[], inc: IncidentMsg): IncidentMsg[] {
  const i = list.findIndex((x) => x.id === inc.id);
  if (i < 0) return [inc, ...list];
  const out = [...list];
  out[i] = inc;
  return out;
}

const closeAt = <T extends { to: string | null }>(s: T, at: string): T => ({ ...s, to: at });

/** The open (current) state of a lane, or null. */
export function currentState(lane: Lane): InstanceState | null {
  const last = lane.segments[lane.segments.length - 1];
  return last && last.to === null ? last.state : null;
}

/**
 * Apply a live `cluster` summary to the fetched timeline: where an instance's
 * state differs from its lane's open segment, that segment ends `now` and a new
 * open one starts; VIP ownership likewise. Lanes appear for instances not seen
 * before. Unchanged lanes keep their identity (cheap re-render).
 */
export function applyLiveSummary(data: TimelineResponse, summary: ClusterSummary, now: number): TimelineResponse {
  const at = new Date(now).toISOString();
  const lanes = [...data.lanes];
  let changed = false;
  for (const node of summary.nodes) {
    for (const inst of node.instances) {
      const key = laneKey({ node: node.name, vrid: inst.vrid, instance: inst.name });
      let i = lanes.findIndex((l) => laneKey(l) === key);
      if (i < 0) {
        lanes.push({ node: node.name, instance: inst.name, vrid: inst.vrid, segments: [], vipHeld: [], vips: inst.vips.map((v) => v.address), transitions: 0 });
        i = lanes.length - 1;
      }
      const lane = lanes[i];
      let segments = lane.segments;
      const last = segments[segments.length - 1];
      // nothing known yet and still nothing known: no segment (as the server draws it)
      const unchanged = last ? last.to === null && last.state === inst.state : inst.state === "UNKNOWN";
      if (!unchanged) {
        const head = last && last.to === null ? [...segments.slice(0, -1), closeAt(last, at)] : [...segments];
        const next: TimelineSegment = { state: inst.state, from: at, to: null };
        segments = [...head, next];
      }
      let vipHeld = lane.vipHeld;
      const holds = inst.vips.some((v) => v.held);
      const lastHeld = vipHeld[vipHeld.length - 1];
      const holding = lastHeld !== undefined && lastHeld.to === null;
      if (holds && !holding) vipHeld = [...vipHeld, { from: at, to: null }];
      if (!holds && holding) vipHeld = [...vipHeld.slice(0, -1), closeAt(lastHeld, at)];
      if (segments !== lane.segments || vipHeld !== lane.vipHeld) {
        const transitions = lane.transitions + (segments !== lane.segments && last ? 1 : 0);
        lanes[i] = { ...lane, segments, vipHeld, transitions };
        changed = true;
      }
    }
  }
  return changed ? { ...data, lanes } : data;
}

/** The segment of a lane at time t (binary search), or -1. */
export function segmentAt(lane: Lane, t: number, now: number): number {
  let lo = 0;
  let hi = lane.segments.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = segmentSpan(lane.segments[mid], now);
    if (t < s.from) hi = mid - 1;
    else if (t >= s.to) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The span of a data gap in epoch ms: from the node's last delivered line (or the report itself) to the report. */
export function gapSpan(g: DataGap): { from: number; to: number } {
  const at = Date.parse(g.at);
  const since = g.since === null ? at : Date.parse(g.since);
  return { from: Math.min(since, at), to: at };
}

/** One sentence for a data gap: who, how many, why, and the span it leaves incomplete. */
export function gapSummary(g: DataGap): string {
  const n = g.dropped.toLocaleString("en-US");
  const what = `${g.node}: ${n} ${g.dropped === 1 ? "record" : "records"} lost (${g.reason})`;
  const seq = g.fromSeq === g.toSeq ? `seq ${g.fromSeq}` : `seq ${g.fromSeq}–${g.toSeq}`;
  const span = gapSpan(g);
  const when =
    g.since === null
      ? `reported ${formatTime(span.to)}`
      : `history incomplete from ${formatTime(span.from)} to ${formatTime(span.to)} (${formatDuration(span.to - span.from)})`;
  return `${what}, ${seq}; ${when}`;
}
