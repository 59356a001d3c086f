/**
 * What the replica holding a cluster's detection lease must hear of agents
 * connected to another replica, besides their stored records and liveness:
 * that an agent (re)connected and may replay a backlog, and when its outbox is
 * empty (detection judges a catching-up cluster by its facts alone:
 * detection-host.ts). Carried as socket.io server-side events through the
 * PostgreSQL adapter and re-published on the local bus marked `remote`. Only
 * the first empty outbox after a connection crosses over, not every heartbeat.
 */
import type { Namespace } from "socket.io";
import type { BusEvents, EventBus } from "../bus";

type AgentEvent = "agentConnected" | "agentGone" | "agentOutbox";
type Handlers = { [K in AgentEvent]: (p: BusEvents[K]) => void };

export function forwardAgentEvents(nsp: Namespace, bus: EventBus): void {
  const catchingUp = new Set<string>();
  const remote = nsp as unknown as Namespace<Handlers>;
  bus.on("agentConnected", (p) => {
    if (p.remote) return;
    catchingUp.add(p.agentId);
    nsp.serverSideEmit("agentConnected", p);
  });
  bus.on("agentGone", (p) => {
    if (p.remote) return;
    catchingUp.delete(p.agentId);
    nsp.serverSideEmit("agentGone", p);
  });
  bus.on("agentOutbox", (p) => {
    if (p.remote || p.depth !== 0 || !catchingUp.delete(p.agentId)) return;
    nsp.serverSideEmit("agentOutbox", p);
  });
  remote.on("agentConnected", (p) => bus.emit("agentConnected", { ...p, remote: true }));
  remote.on("agentGone", (p) => bus.emit("agentGone", { ...p, remote: true }));
  remote.on("agentOutbox", (p) => bus.emit("agentOutbox", { ...p, remote: true }));
}
