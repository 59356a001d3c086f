/**
 * What every detector works with: the model, the incident registry, the timers and the settings,
 * plus small helpers to render evidence and to name things in one-sentence summaries.
 */
import type { DetectorSettings, Evidence } from "./types";
import type { Group, LogEntry, Model, NodeRec } from "./model";
import type { Registry } from "./registry";
import type { TimerQueue } from "./timers";

export interface Ctx {
  cluster: string;
  s: DetectorSettings;
  model: Model;
  reg: Registry;
  timers: TimerQueue;
}

const DEFAULT_ADVERT_MS = 1000;

/** DUAL_MASTER / STATE_MISMATCH grace of a group */
export function graceMs(ctx: Ctx, g: Group): number {
  return ctx.s.graceMs ?? ctx.s.graceAdverts * (g.advertMs ?? DEFAULT_ADVERT_MS);
}

/**
 * NO_MASTER grace: at least keepalived's master-down interval (< 4 x advert_int), of the slowest instance the
 * takeover waits for (a sync group moves together: its member with the largest advert_int)
 */
export function noMasterGraceMs(ctx: Ctx, g: Group): number {
  return ctx.s.noMasterGraceMs ?? Math.max(graceMs(ctx, g), 4 * (g.takeoverAdvertMs ?? g.advertMs ?? DEFAULT_ADVERT_MS));
}

export function logEv(e: LogEntry): Evidence {
  return { node: e.node, at: e.ts, line: e.line, kind: "log", ref: e.id };
}

export function vipEv(node: NodeRec, address: string, holds: boolean, at?: number, ref?: string): Evidence {
  const h = node.held.get(address);
  const when = at ?? h?.ts ?? node.lastVips?.ts ?? 0;
  const id = ref ?? h?.id ?? node.lastVips?.id;
  return {
    node: node.name, at: when, kind: "vips",
    line: holds ? `ip addr on ${node.name}: holds ${address}` : `ip addr on ${node.name}: does not hold ${address}`,
    ...(id !== undefined ? { ref: id } : {}),
  };
}

/** log entries of a node with ts in [from, to], oldest first, optionally filtered */
export function eventsIn(node: NodeRec, from: number, to: number, pred?: (e: LogEntry) => boolean): LogEntry[] {
  const out: LogEntry[] = [];
  for (const e of node.events.reversed()) {
    if (e.ts < from) break;
    if (e.ts <= to && (!pred || pred(e))) out.push(e);
  }
  return out.reverse();
}

/** "VRID 51", "VRID 51 (IPv6)", or an honest note when the instance is only known by its name */
export function subject(g: Group): string {
  if (g.vrid === null) return `instance ${g.scope} (VRID unknown: no configuration received, grouped by instance name)`;
  return g.family === "ipv6" ? `VRID ${g.vrid} (IPv6)` : `VRID ${g.vrid}`;
}

/** "a", "a and b", "a, b and c" */
export function list(xs: string[]): string {
  if (xs.length <= 1) return xs.join("");
  return `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}

export function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : String(ms);
}

/** node -> instance names in the group, for the given nodes */
export function instancesOf(ctx: Ctx, g: Group, nodes: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of [...nodes].sort()) {
    const names = ctx.model.instanceNames(g, n);
    if (names) out[n] = names;
  }
  return out;
}
