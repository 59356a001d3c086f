/**
 * DUAL_MASTER: two or more online nodes MASTER for one virtual router, or one of its VIPs held by two or
 * more nodes (ip addr is the ground truth), for longer than the grace period. A normal failover or a
 * preemption overlaps for about one advert at most and raises nothing.
 *
 * openedAt = the moment the condition began (the second MASTER / second holder appeared);
 * closedAt = the moment it ended (one of them left MASTER or released the VIP, or its agent went offline
 * so its state became unknown). The incident is only reported once the overlap outlasted the grace.
 */
import type { Evidence } from "./types";
import { graceMs, instancesOf, logEv, eventsIn, type Ctx } from "./context";
import type { Group, InstRec, NodeRec } from "./model";
import { dualCause } from "./dual-cause";
import { appendEvidence } from "./registry";

export interface DualNow {
  /** online node -> its member instances in MASTER state */
  masters: Map<string, InstRec[]>;
  /** VIP -> the online nodes holding it, for VIPs held by two or more nodes */
  doubleVips: Map<string, NodeRec[]>;
  involved: Set<string>;
}

export function dualNow(ctx: Ctx, g: Group): DualNow {
  const masters = new Map<string, InstRec[]>();
  for (const r of g.members.values()) {
    if (r.state !== "MASTER" || !ctx.model.nodes.get(r.node)!.online) continue;
    const cur = masters.get(r.node);
    if (cur) cur.push(r);
    else masters.set(r.node, [r]);
  }
  const doubleVips = new Map<string, NodeRec[]>();
  for (const a of g.ownedVips) {
    const h = ctx.model.holders(a);
    if (h.length >= 2) doubleVips.set(a, h);
  }
  const involved = new Set<string>(masters.keys());
  for (const hs of doubleVips.values()) for (const h of hs) involved.add(h.name);
  return { masters, doubleVips, involved };
}

const isDual = (d: DualNow) => d.masters.size >= 2 || d.doubleVips.size > 0;

/** node -> instance name: its member instances, or the instance configuring a doubly-held VIP */
function dualInstances(ctx: Ctx, g: Group, nodes: Set<string>, d: DualNow): Record<string, string> {
  const out = instancesOf(ctx, g, nodes);
  for (const [a, hs] of d.doubleVips) {
    for (const h of hs) if (!out[h.name]) {
      const r = ctx.model.instanceWithVip(h, a);
      if (r) out[h.name] = r.name;
    }
  }
  return out;
}

/**
 * the picture of each group's pending split brain as last seen (the MASTERs with the lines that made them
 * MASTER): what a condition learnt late and ended before its deferred grace is reported with
 */
const lastSeen = new WeakMap<Group, DualNow>();

function snapshot(d: DualNow): DualNow {
  const masters = new Map<string, InstRec[]>();
  for (const [n, rs] of d.masters) masters.set(n, rs.map((r) => ({ ...r })));
  return { masters, doubleVips: new Map([...d.doubleVips].map(([a, hs]) => [a, [...hs]])), involved: new Set(d.involved) };
}

export function evaluateDual(ctx: Ctx, g: Group, at: number, trigger: Evidence[]): void {
  const c = g.dual;
  const d = dualNow(ctx, g);
  const timerKey = `dual:${g.key}`;
  if (isDual(d)) {
    if (c.slot === null) lastSeen.set(g, snapshot(d));
    if (c.since === null) {
      // it began with the fact that completed the picture, or later, when a member's stream is ahead of that
      // fact (agents' backlogs arrive node by node: that member's part may have begun after the fact's time)
      c.since = Math.max(at, partSince(d));
      c.nodes = new Set(d.involved);
      // A condition learnt late (a reconnected agent replaying its backlog: `at` is already behind the
      // engine's clock) still gets its full grace from now, so the other node's backlog can arrive and
      // end it; openedAt stays `since`, the moment it really began. At the deadline it also waits for the
      // members whose backlog is still being delivered, until their streams pass since + G (timers.ts).
      // A condition learnt live (the engine's clock within the delivery allowance of its start) is judged at
      // its deadline as it stands, as before.
      const G = graceMs(ctx, g);
      const late = ctx.timers.reached - c.since > ctx.s.deliveryAllowanceMs;
      ctx.timers.set(timerKey, Math.max(c.since, ctx.timers.reached) + G, (t) => fireDual(ctx, g, t), late ? { nodes: d.involved, streamAt: c.since + G } : undefined);
      return;
    }
    const added = [...d.involved].filter((n) => !c.nodes.has(n));
    for (const n of added) c.nodes.add(n);
    const inc = ctx.reg.get(c.slot);
    if (inc && added.length) {
      ctx.reg.update(inc, (i) => {
        i.nodes = [...c.nodes].sort();
        i.instances = { ...i.instances, ...dualInstances(ctx, g, c.nodes, d) };
        const ev = added.flatMap((n) => (d.masters.get(n) ?? []).flatMap((r) => (r.entry ? [logEv(r.entry)] : [])));
        appendEvidence(i.evidence, ev);
        return true;
      });
    }
    return;
  }
  if (c.since === null) return;
  const deferred = (ctx.timers.deadline(timerKey) ?? -Infinity) > c.since + graceMs(ctx, g);
  ctx.timers.cancel(timerKey);
  // learnt late (its grace deferred to the engine's clock) and ended before that grace ran out: when it
  // lasted the grace by its members' own times, it was a split brain all the same (truth lab seed 2207: a
  // MASTER line that came with a reconnected agent's backlog 2.5 s late, the peer yielded 4.8 s after the
  // overlap began). Not when a member's state became unknown: that ends the picture, not the overlap. Nor
  // when a member's state was not known through the grace: its stream is behind and its backlog is still
  // being delivered (its current state is older than the overlap: the 7-day benchmark history, session 34).
  const seen = lastSeen.get(g);
  const known = (n: string) => ctx.model.nodes.get(n)?.online !== false && ctx.timers.knownAt(n, c.since! + graceMs(ctx, g));
  if (c.slot === null && deferred && seen && at - c.since > graceMs(ctx, g) && [...c.nodes].every(known)) {
    openDual(ctx, g, seen, at);
  }
  lastSeen.delete(g);
  if (c.slot !== null) ctx.reg.close(c.slot, at, [...trigger, ...healLines(ctx, g, c.nodes, at)]);
  c.since = null;
  c.slot = null;
  c.nodes = new Set();
  c.endedAt = at;
}

/**
 * when the condition began by its members' own times: its earliest part (two MASTER nodes: when the second
 * became MASTER; a VIP held twice: when its second holder took it), each part holding since
 */
function partSince(d: DualNow): number {
  const starts: number[] = [];
  if (d.masters.size >= 2) {
    const perNode = [...d.masters.values()].map((rs) => Math.min(...rs.map((r) => r.since ?? -Infinity))).sort((a, b) => a - b);
    starts.push(perNode[1]);
  }
  for (const [a, hs] of d.doubleVips) starts.push(hs.map((h) => h.held.get(a)?.ts ?? -Infinity).sort((x, y) => x - y)[1]);
  return Math.min(...starts);
}

function fireDual(ctx: Ctx, g: Group, at: number): void {
  const c = g.dual;
  if (c.since === null) return;
  const d = dualNow(ctx, g);
  if (!isDual(d)) return;
  lastSeen.delete(g);
  openDual(ctx, g, d, at);
}

function openDual(ctx: Ctx, g: Group, d: DualNow, at: number): void {
  const c = g.dual;
  if (c.since === null) return;
  for (const n of d.involved) c.nodes.add(n);
  const { cause, evidence } = dualCause(ctx, g, d, c.since, at, c.endedAt);
  c.slot = `DUAL_MASTER:${g.scope}`;
  ctx.reg.open({
    kind: "DUAL_MASTER", slot: c.slot, severity: "critical", scope: g.scope, vrid: g.vrid, family: g.family,
    instances: dualInstances(ctx, g, c.nodes, d), nodes: [...c.nodes], openedAt: c.since, cause, evidence,
  });
}

/** the advert lines that show the peers hearing each other again, just before the overlap ended */
function healLines(ctx: Ctx, g: Group, nodes: Set<string>, at: number): Evidence[] {
  const out: Evidence[] = [];
  for (const n of [...nodes].sort()) {
    const node = ctx.model.nodes.get(n);
    if (!node) continue;
    const names = new Set([...g.members.values()].filter((r) => r.node === n).map((r) => r.name));
    for (const e of eventsIn(node, at - 2000, at, (e) => e.event?.type === "advert" && names.has(e.event.instance))) out.push(logEv(e));
  }
  return out.slice(-6);
}
