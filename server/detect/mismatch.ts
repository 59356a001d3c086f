/**
 * STATE_MISMATCH: what keepalived logged disagrees with what the kernel holds (ip addr), for longer than
 * the grace period: BACKUP, FAULT or stopped but still holding one of the instance's VIPs
 * ("vip_held_not_master"), or MASTER without all of its VIPs ("master_without_vip"). Only for online
 * nodes that have reported their addresses and whose config names the instance's VIPs.
 *
 * openedAt = when the disagreement began; closedAt = when it ended.
 */
import type { Evidence } from "./types";
import { graceMs, logEv, vipEv, type Ctx } from "./context";
import { vipAddress, type Group, type InstRec } from "./model";

interface Mismatch {
  code: "vip_held_not_master" | "master_without_vip" | "vip_held_without_keepalived";
  vips: string[];
}

function mismatchNow(ctx: Ctx, r: InstRec): Mismatch | null {
  const node = ctx.model.nodes.get(r.node)!;
  if (!node.online || !node.vipsKnown || r.state === null || !r.cfg || r.cfg.vips.length === 0) return null;
  const vips = [...new Set(r.cfg.vips.map(vipAddress))];
  const held = vips.filter((a) => node.held.has(a));
  if (r.state === "MASTER") {
    const missing = vips.filter((a) => !node.held.has(a));
    return missing.length ? { code: "master_without_vip", vips: missing } : null;
  }
  if (held.length === 0) return null;
  if (node.keepalived === "down") {
    // keepalived gone without a shutdown: the only holder is a STATE_MISMATCH; held elsewhere too, it is
    // DUAL_MASTER's vip_left_behind
    const only = held.filter((a) => ctx.model.holders(a).every((h) => h === node));
    return only.length ? { code: "vip_held_without_keepalived", vips: only } : null;
  }
  // another instance of this node that is MASTER may legitimately hold the same address
  const owned = held.filter((a) => ![...node.insts.values()].some((o) => o !== r && o.state === "MASTER" && o.cfg?.vips.some((v) => vipAddress(v) === a)));
  return owned.length ? { code: "vip_held_not_master", vips: owned } : null;
}

export function evaluateMismatch(ctx: Ctx, g: Group, at: number, trigger: Evidence[]): void {
  for (const r of g.members.values()) evaluateInstance(ctx, r, at, trigger);
}

/**
 * vip_held_not_master and master_without_vip are made only of this node's reports (its state lines and its
 * VIP reports): their deadline waits for the node's stream (timers.ts). vip_held_without_keepalived also
 * depends on the other nodes (nobody else holds the address): a peer's takeover ends it, while the dead
 * node itself says nothing more, so it is judged on the server's clock like DUAL_MASTER.
 */
const nodeLocal = (m: Mismatch) => m.code !== "vip_held_without_keepalived";

export function evaluateInstance(ctx: Ctx, r: InstRec, at: number, trigger: Evidence[]): void {
  const c = r.mismatch;
  const timerKey = `mismatch:${r.node}\u0000${r.name}`;
  // a line older than the node's newest VIP report (an agent installed on a running node backfills the lines
  // logged before its first report): what the node held at the line's time is not known, so the state it
  // logged then is not compared with addresses seen later (truth lab seed 3312: a "Stopping" line 5 s before
  // the agent's first report, which showed the VIPs of the MASTER keepalived had become since, read as a
  // stopped node holding them). The state is judged against that report at the report's time, once the lines
  // up to it have arrived (a timer gated on the node's stream).
  const node = ctx.model.nodes.get(r.node);
  if (node?.lastVips && node.lastVips.ts > at) {
    const asOf = node.lastVips.ts;
    ctx.timers.set(`mismatch-asof:${r.node}\u0000${r.name}`, asOf, () => evaluateInstance(ctx, r, asOf, []), { node: r.node });
    return;
  }
  const m = mismatchNow(ctx, r);
  if (m) {
    if (c.since === null) {
      c.since = at;
      ctx.timers.set(timerKey, at + graceMs(ctx, r.group), () => fireMismatch(ctx, r), nodeLocal(m) ? { node: r.node } : undefined);
    } else if (!nodeLocal(m) && ctx.timers.gatedOn(timerKey) !== null) {
      // it became a condition of several nodes (keepalived died meanwhile): the same deadline, on the server's clock
      ctx.timers.set(timerKey, ctx.timers.deadline(timerKey)!, () => fireMismatch(ctx, r));
    }
    return;
  }
  if (c.since === null) return;
  ctx.timers.cancel(timerKey);
  if (c.slot !== null) ctx.reg.close(c.slot, at, trigger.filter((e) => e.node === r.node));
  c.since = null;
  c.slot = null;
}

function fireMismatch(ctx: Ctx, r: InstRec): void {
  const c = r.mismatch;
  const m = mismatchNow(ctx, r);
  if (c.since === null || !m) return;
  const node = ctx.model.nodes.get(r.node)!;
  const g = r.group;
  const evidence: Evidence[] = [];
  if (r.entry) evidence.push(logEv(r.entry));
  for (const a of m.vips) evidence.push(vipEv(node, a, m.code === "vip_held_not_master", m.code === "master_without_vip" ? node.lastVips?.ts : undefined));
  const state = r.state === "STOP" ? "stopped" : r.state;
  const summary = m.code === "vip_held_without_keepalived"
    ? `${r.node} is the only holder of ${m.vips.join(", ")} but keepalived is not running there (gone without a logged shutdown): nothing advertises or defends the address`
    : m.code === "vip_held_not_master"
    ? `keepalived on ${r.node} says ${r.name} is ${state} but the node still holds ${m.vips.join(", ")}`
    : `keepalived on ${r.node} says ${r.name} is MASTER but the node does not hold ${m.vips.join(", ")}`;
  c.slot = `STATE_MISMATCH:${g.scope}:${r.node}`;
  ctx.reg.open({
    kind: "STATE_MISMATCH", slot: c.slot, severity: "warning", scope: g.scope, vrid: g.vrid, family: g.family,
    instances: { [r.node]: r.name }, nodes: [r.node], openedAt: c.since, cause: { code: m.code, summary }, evidence,
  });
}
