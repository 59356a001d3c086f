/**
 * NO_MASTER: no member of a virtual router is MASTER and none of its VIPs is held anywhere, for longer
 * than the NO_MASTER grace, while the agents of ALL its member nodes are online and every member's state
 * is known (an UNKNOWN node might be the MASTER: nothing is claimed then).
 *
 * openedAt = when the last MASTER left (or the VIP was released); closedAt = when a MASTER appeared, a
 * VIP was taken, or a member's state became unknown (agent offline).
 */
import type { Evidence } from "./types";
import { instancesOf, list, logEv, noMasterGraceMs, subject, vipEv, type Ctx } from "./context";
import type { Group } from "./model";

function noMasterNow(ctx: Ctx, g: Group): boolean {
  if (g.members.size === 0) return false;
  let running = false;
  for (const r of g.members.values()) {
    const n = ctx.model.nodes.get(r.node)!;
    if (!n.online || r.state === null || r.state === "MASTER") return false;
    if (r.state !== "STOP" && n.keepalived !== "down" && n.keepalived !== "stopped") running = true;
  }
  // keepalived runs on no configured host: not NO_MASTER (KEEPALIVED_DOWN, or a planned stop)
  if (!running) return false;
  for (const a of g.vips) if (ctx.model.holders(a).length > 0) return false;
  return true;
}

export function evaluateNoMaster(ctx: Ctx, g: Group, at: number, trigger: Evidence[]): void {
  const c = g.nomaster;
  const timerKey = `nomaster:${g.key}`;
  if (noMasterNow(ctx, g)) {
    if (c.since === null) {
      // it cannot have begun before the newest member state it is made of: the backlogs of several agents
      // arrive node by node, so one node's state may be newer than the fact that completed the picture (a
      // cluster restarted while its agents were away looked MASTER-less from the first node's "Stopping")
      let since = at;
      for (const r of g.members.values()) if (r.since !== null && r.since > since) since = r.since;
      c.since = since;
      // learnt late (a backlog: behind the engine's clock), it still gets its full grace from now, so the
      // other nodes' backlogs can arrive and end it (as DUAL_MASTER does); openedAt stays `since`
      ctx.timers.set(timerKey, Math.max(since, ctx.timers.reached) + noMasterGraceMs(ctx, g), () => fireNoMaster(ctx, g));
    }
    return;
  }
  if (c.since === null) return;
  ctx.timers.cancel(timerKey);
  if (c.slot !== null) ctx.reg.close(c.slot, at, trigger);
  c.since = null;
  c.slot = null;
}

function fireNoMaster(ctx: Ctx, g: Group): void {
  const c = g.nomaster;
  if (c.since === null || !noMasterNow(ctx, g)) return;
  const members = [...g.members.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const nodes = [...new Set(members.map((r) => r.node))];
  const evidence: Evidence[] = [];
  for (const r of members) if (r.entry) evidence.push(logEv(r.entry));
  for (const n of nodes) {
    const node = ctx.model.nodes.get(n)!;
    if (node.vipsKnown) for (const a of [...g.vips].sort()) evidence.push(vipEv(node, a, false, node.lastVips?.ts, node.lastVips?.id));
  }
  const subj = subject(g);
  const vips = g.vips.size ? `, and ${list([...g.vips].sort())} ${g.vips.size > 1 ? "are" : "is"} held nowhere` : "";
  let code: string;
  let summary: string;
  const running = members.filter((r) => r.state !== "STOP");
  if (running.every((r) => r.state === "FAULT")) {
    code = "all_fault";
    summary = `Every running node of ${subj} (${list([...new Set(running.map((r) => r.node))])}) is in FAULT${vips}`;
  } else if (running.some((r) => r.state === "BACKUP")) {
    const backups = members.filter((r) => r.state === "BACKUP").map((r) => r.node);
    code = "no_takeover";
    summary = `No node is MASTER for ${subj}: ${list([...new Set(backups)])} stayed BACKUP without taking over (another router with this VRID may be advertising on the segment)${vips}`;
  } else {
    code = "unknown";
    summary = `No node is MASTER for ${subj} and none holds its addresses${vips}`;
  }
  c.slot = `NO_MASTER:${g.scope}`;
  ctx.reg.open({
    kind: "NO_MASTER", slot: c.slot, severity: "critical", scope: g.scope, vrid: g.vrid, family: g.family,
    instances: instancesOf(ctx, g, nodes), nodes, openedAt: c.since, cause: { code, summary }, evidence,
  });
}
