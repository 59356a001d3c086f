/**
 * socket.io namespace /live: browsers subscribe to clusters and receive the
 * whole ClusterSummary of a cluster whenever it changes.
 */
import type { Namespace, Server } from "socket.io";
import { Subscribe, describeZodError, type LiveClientToServer, type LiveServerToClient } from "../protocol";
import type { Hub } from "../hub";
import { TokenBucket } from "../ingest/limits";

const ALL = "all";
/** subscribes per socket: a subscribe sends every matching summary, so a flood of them is refused */
const SUBSCRIBE_BURST = 20;
const SUBSCRIBE_PER_SECOND = 5;
const room = (cluster: string) => `cluster:${cluster}`;

export function attachLiveNamespace(io: Server, hub: Hub): Namespace<LiveClientToServer, LiveServerToClient> {
  const nsp: Namespace<LiveClientToServer, LiveServerToClient> = io.of("/live");

  nsp.on("connection", (socket) => {
    const bucket = new TokenBucket(SUBSCRIBE_BURST, SUBSCRIBE_PER_SECOND, Date.now());
    socket.on("subscribe", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      if (!bucket.take(1, Date.now())) {
        hub.counters.inc("kam_live_rejected_total", { code: "rate_limited" });
        reply({ ok: false, code: "rate_limited", message: `more than ${SUBSCRIBE_PER_SECOND} subscribe messages/s: retry later` });
        return;
      }
      const msg = Subscribe.safeParse(payload);
      if (!msg.success) {
        hub.counters.inc("kam_live_rejected_total", { code: "invalid_message" });
        reply({ ok: false, code: "invalid_message", message: describeZodError(msg.error) });
        return;
      }
      for (const r of socket.rooms) if (r !== socket.id) void socket.leave(r);
      const all = msg.data.clusters.includes("*");
      if (all) void socket.join(ALL);
      else for (const c of msg.data.clusters) void socket.join(room(c));
      // send the current picture at once, so a subscriber needs no separate fetch
      for (const s of hub.clusters()) if (all || msg.data.clusters.includes(s.name)) socket.emit("cluster", s);
      reply({ ok: true });
    });
  });

  hub.onSummary((summary) => {
    nsp.to(ALL).to(room(summary.name)).emit("cluster", summary);
  });
  hub.onIncident((cluster, incident, change) => {
    nsp.to(ALL).to(room(cluster)).emit("incident", { change, incident });
  });
  return nsp;
}
