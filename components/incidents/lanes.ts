/**
 * Data of the incident's mini timeline: the involved nodes' states over a window around the
 * incident. From GET /api/clusters/:name/timeline when the server has it (validated loosely here:
 * the view degrades to the evidence when the endpoint is missing or answers something else), or
 * else from the state lines among the incident's evidence. Pure; unit-tested in
 * test/unit/incidents-ui-lanes.test.ts.
 */
import * as z from "zod/mini";
import { InstanceState, type IncidentMsg } from "../../server/protocol";
import { parseLine } from "../../server/parser";

export interface Segment {
  state: InstanceState;
  /** epoch ms, inside the window */
  from: number;
  to: number;
}

export interface Lane {
  node: string;
  instance: string | null;
  segments: Segment[];
  /** evidence lines of this node: when and of what kind */
  marks: { at: number; kind: string }[];
}

export interface Window {
  from: number;
  to: number;
}

/** The incident with some time before and after it (a quarter of its length, at least 5 s). */
export function incidentWindow(inc: Pick<IncidentMsg, "openedAt" | "closedAt">, now: number): Window {
  const opened = Date.parse(inc.openedAt);
  const end = inc.closedAt ? Date.parse(inc.closedAt) : Math.max(now, opened);
  const pad = Math.max(5000, (end - opened) / 4);
  return { from: Math.floor(opened - pad), to: Math.ceil(inc.closedAt ? end + pad : end) };
}

const isoMs = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((v, ctx) => {
    const t = typeof v === "number" ? v : Date.parse(v);
    if (!Number.isFinite(t)) ctx.issues.push({ code: "custom", message: "not a time", input: v });
    return t;
  }),
);

/** GET /api/clusters/:name/timeline, as far as the mini timeline needs it. */
export const TimelineResponse = z.object({
  lanes: z.array(
    z.object({
      node: z.string(),
      instance: z.optional(z.nullable(z.string())),
      vrid: z.optional(z.nullable(z.number())),
      segments: z.array(z.object({ state: InstanceState, from: isoMs, to: z.nullable(isoMs) })),
    }),
  ),
});
export type TimelineResponse = z.infer<typeof TimelineResponse>;

function clip(segs: { state: InstanceState; from: number; to: number | null }[], win: Window, openEnd: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    const from = Math.max(s.from, win.from);
    const to = Math.min(s.to ?? openEnd, win.to);
    if (to > from) out.push({ state: s.state, from, to });
  }
  return out.sort((a, b) => a.from - b.from);
}

function marksOf(inc: IncidentMsg, node: string, win: Window): Lane["marks"] {
  return inc.cause.evidence
    .filter((e) => e.node === node)
    .map((e) => ({ at: Date.parse(e.at), kind: e.kind }))
    .filter((m) => m.at >= win.from && m.at <= win.to);
}

/** Nodes of the incident, then any other node its evidence names. */
function involvedNodes(inc: IncidentMsg): string[] {
  const nodes = [...inc.nodes];
  for (const e of inc.cause.evidence) if (!nodes.includes(e.node)) nodes.push(e.node);
  return nodes;
}

/** Lanes of the involved nodes for the incident's virtual router (every lane of a node when it has none). */
export function lanesFromTimeline(resp: TimelineResponse, inc: IncidentMsg, win: Window, now: number): Lane[] {
  const nodes = involvedNodes(inc);
  const lanes = resp.lanes.filter((l) => {
    if (!nodes.includes(l.node)) return false;
    if (inc.vrid === null) {
      const inst = inc.instances[l.node];
      return inst === undefined || l.instance === inst;
    }
    return l.vrid === inc.vrid || (l.vrid == null && l.instance === inc.instances[l.node]);
  });
  const openEnd = Math.min(now, win.to);
  return lanes
    .map((l) => ({ node: l.node, instance: l.instance ?? null, segments: clip(l.segments, win, openEnd), marks: marksOf(inc, l.node, win) }))
    .sort((a, b) => nodes.indexOf(a.node) - nodes.indexOf(b.node) || (a.instance ?? "").localeCompare(b.instance ?? ""));
}

/**
 * Lanes rebuilt from the evidence alone: every state line of a node's instance (or a keepalived
 * stop) starts a segment that lasts until the node's next one; before a node's first state line
 * its state is not known and nothing is drawn.
 */
export function lanesFromEvidence(inc: IncidentMsg, win: Window, now: number): Lane[] {
  const end = Math.min(inc.closedAt ? win.to : now, win.to);
  return involvedNodes(inc).map((node) => {
    const instance = inc.instances[node] ?? null;
    const changes: { at: number; state: InstanceState }[] = [];
    for (const e of inc.cause.evidence) {
      if (e.node !== node || e.kind !== "log") continue;
      const at = Date.parse(e.at);
      const ev = parseLine(e.line, { now: at }).event;
      if (ev?.type === "state" && (instance === null || ev.instance === instance)) changes.push({ at, state: ev.state });
      else if (ev?.type === "daemon" && (ev.what === "stopping" || ev.what === "stopped")) changes.push({ at, state: "STOP" });
    }
    changes.sort((a, b) => a.at - b.at);
    const segs = changes.map((c, i) => ({ state: c.state, from: c.at, to: changes[i + 1]?.at ?? end }));
    return { node, instance, segments: clip(segs, win, end), marks: marksOf(inc, node, win) };
  });
}

/** Position of `t` in the window as a percentage (0..100, clamped). */
export function pct(t: number, win: Window): number {
  const span = win.to - win.from;
  if (span <= 0) return 0;
  return Math.min(100, Math.max(0, ((t - win.from) / span) * 100));
}
