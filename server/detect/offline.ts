/**
 * Agent liveness and AGENT_OFFLINE.
 *
 * Only `seen` and `disconnected` facts count as hearing from an agent (a log line's own time may be old:
 * outbox resends). A node becomes UNKNOWN (online = false) at a clean disconnect, or once offlineMs
 * passed since it was last heard from; its instances are then neither MASTER nor BACKUP for the other
 * detectors. A node never heard from by a `seen` fact counts as online (liveness not tracked yet).
 *
 * AGENT_OFFLINE opens when offlineMs passed without hearing from the agent, with
 * openedAt = the last time it was heard from (the last seen, or its disconnect) and
 * closedAt = the next `seen`. Within hold-down a new silence re-opens the same incident.
 */
import { iso, type Ctx } from "./context";
import type { Group, NodeRec } from "./model";
import { beginAbsence, endAbsence } from "./absence";

export type Reevaluate = (groups: Set<Group>, at: number) => void;

export function onSeen(ctx: Ctx, node: NodeRec, ts: number, reevaluate: Reevaluate): void {
  if (node.disconnectedAt !== null && ts < node.disconnectedAt) return; // older than the disconnect
  const wasOnline = node.online;
  node.tracked = true;
  node.lastSeen = node.lastSeen === null ? ts : Math.max(node.lastSeen, ts);
  node.disconnectedAt = null;
  if (node.backAt === null && ts >= ctx.model.serverStartedAt) {
    // back after the server's start: a cross-node timer that awaits its backlog waits the allowance from now
    node.backAt = ts;
    ctx.timers.release(node.name, node.streamAt);
  }
  ctx.timers.set(`offline:${node.name}`, node.lastSeen + ctx.s.offlineMs, (t) => offlineDeadline(ctx, node, t, reevaluate));
  const slot = `AGENT_OFFLINE:agent:${node.name}`;
  if (ctx.reg.get(slot)) {
    ctx.reg.close(slot, ts, [{ node: node.name, at: ts, line: `agent on ${node.name} heard from again at ${iso(ts)}`, kind: "liveness" }]);
  }
  if (!wasOnline) {
    node.online = true;
    reevaluate(ctx.model.groupsOfNode(node), ts);
    endAbsence(ctx, node, ts);
  }
}

export function onDisconnected(ctx: Ctx, node: NodeRec, ts: number, reevaluate: Reevaluate): void {
  if (node.lastSeen !== null && ts < node.lastSeen) return; // a stale disconnect
  node.tracked = true;
  node.lastSeen = ts;
  node.disconnectedAt = ts;
  // what the node holds from now on is unknown until its agent's next VIP report (see NodeRec.vipsKnown)
  const vipsKnown = node.vipsKnown;
  node.vipsKnown = false;
  ctx.timers.set(`offline:${node.name}`, ts + ctx.s.offlineMs, (t) => offlineDeadline(ctx, node, t, reevaluate));
  if (node.online) {
    beginAbsence(ctx, node, ts, vipsKnown);
    node.online = false;
    reevaluate(ctx.model.groupsOfNode(node), ts);
  }
}

/**
 * The server (re)started at `now`: it could not hear any agent while it was down, so that time does not count
 * against them. An agent that was alive when the server last heard from anyone (heard within offlineMs of the
 * newest `seen` of the cluster) gets offlineMs from `now` to reconnect; one silent for longer before the server
 * went away keeps its deadline (it is offline by its own doing).
 */
export function onServerStarted(ctx: Ctx, now: number, reevaluate: Reevaluate): void {
  ctx.model.serverStartedAt = Math.max(ctx.model.serverStartedAt, now);
  for (const node of ctx.model.nodes.values()) node.backAt = null;
  let lastHeard = -Infinity;
  for (const n of ctx.model.nodes.values()) if (n.lastSeen !== null && n.lastSeen > lastHeard) lastHeard = n.lastSeen;
  for (const node of ctx.model.nodes.values()) {
    if (!node.tracked || !node.online || node.lastSeen === null || node.lastSeen + ctx.s.offlineMs <= lastHeard) continue;
    ctx.timers.set(`offline:${node.name}`, Math.max(node.lastSeen, now) + ctx.s.offlineMs, (t) => offlineDeadline(ctx, node, t, reevaluate));
  }
}

function offlineDeadline(ctx: Ctx, node: NodeRec, at: number, reevaluate: Reevaluate): void {
  const last = node.lastSeen ?? at - ctx.s.offlineMs;
  const vipsKnown = node.vipsKnown;
  node.vipsKnown = false;
  if (node.online) {
    beginAbsence(ctx, node, at, vipsKnown);
    node.online = false;
    reevaluate(ctx.model.groupsOfNode(node), at);
  }
  const disconnected = node.disconnectedAt !== null;
  const line = disconnected
    ? `agent on ${node.name} disconnected at ${iso(last)} and did not come back within ${ctx.s.offlineMs / 1000} s`
    : `no heartbeat from the agent on ${node.name} since ${iso(last)} (limit ${ctx.s.offlineMs / 1000} s)`;
  ctx.reg.open({
    kind: "AGENT_OFFLINE", slot: `AGENT_OFFLINE:agent:${node.name}`, severity: "warning", scope: "agent", vrid: null, family: null,
    instances: {}, nodes: [node.name], openedAt: last,
    cause: {
      code: disconnected ? "agent_disconnected" : "no_heartbeat",
      summary: `The agent on ${node.name} has not been heard from since ${iso(last)}, so its keepalived state is unknown (not necessarily down)`,
    },
    evidence: [{ node: node.name, at: last, line, kind: "liveness" }],
  });
}
