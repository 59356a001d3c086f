/**
 * socket.io namespace /live: browsers subscribe to clusters and receive the
 * whole ClusterSummary of a cluster whenever it changes. The handshake is
 * authenticated once (io.of("/live").use): the Origin must be this host or an
 * allowed origin, the cookie must carry a user or wall session, and one
 * client address may hold at most KAM_LIVE_CONNECTIONS_PER_IP sockets.
 */
import type { Namespace, Server } from "socket.io";
import type { Access } from "../auth/access";
import { originMatches } from "../auth/csrf";
import { Subscribe, describeZodError, type LiveClientToServer, type LiveServerToClient } from "../protocol";
import type { AppContext } from "../app-context";
import type { BusEvents } from "../bus";
import type { LivePicture } from "../state/live-picture";
import { TokenBucket } from "../ingest/limits";

const ALL = "all";
/** the server-side event (between replicas) carrying a cluster's open incident count */
const OPEN_INCIDENTS = "openIncidents";
/** subscribes per socket: a subscribe sends every matching summary, so a flood of them is refused */
const SUBSCRIBE_BURST = 20;
const SUBSCRIBE_PER_SECOND = 5;
const room = (cluster: string) => `cluster:${cluster}`;

class LiveRefused extends Error {
  data: { code: string };
  constructor(code: "forbidden" | "unauthorized" | "rate_limited" | "unavailable", message: string) {
    super(message);
    this.data = { code };
  }
}

/** sockets per client address */
class AddressCounts {
  private readonly n = new Map<string, number>();
  take(addr: string, max: number): boolean {
    const c = this.n.get(addr) ?? 0;
    if (c >= max) return false;
    this.n.set(addr, c + 1);
    return true;
  }
  release(addr: string): void {
    const c = (this.n.get(addr) ?? 1) - 1;
    if (c <= 0) this.n.delete(addr);
    else this.n.set(addr, c);
  }
}

/** `replicated`: several replicas share the database and socket.io's PostgreSQL adapter carries events between them */
export function attachLiveNamespace(
  io: Server, app: AppContext, picture: LivePicture, access?: Access, replicated = false,
): Namespace<LiveClientToServer, LiveServerToClient> {
  const nsp: Namespace<LiveClientToServer, LiveServerToClient> = io.of("/live");

  if (access) {
    const perAddress = new AddressCounts();
    const max = access.config.liveConnectionsPerIp;
    nsp.use((socket, next) => {
      const refuse = (e: LiveRefused) => {
        app.counters.inc("kam_live_handshake_rejected_total", { code: e.data.code });
        next(e);
      };
      const h = socket.handshake.headers;
      // a browser always sends Origin on a websocket; a non-browser client still needs a session below
      if (h.origin && !originMatches(h.origin, h.host, access.origins)) {
        refuse(new LiveRefused("forbidden", "origin not allowed: add it to KAM_ALLOWED_ORIGINS"));
        return;
      }
      const addr = access.clientIp(socket.request);
      if (!perAddress.take(addr, max)) {
        refuse(new LiveRefused("rate_limited", `more than ${max} live connections from one address`));
        return;
      }
      access
        .session(h.cookie)
        .then((s) => {
          if (!s) {
            perAddress.release(addr);
            refuse(new LiveRefused("unauthorized", "sign in first: /live needs a session"));
            return;
          }
          const untrack = access.track(s.id, socket);
          socket.once("disconnect", () => {
            untrack();
            perAddress.release(addr);
          });
          next();
        })
        .catch((e: unknown) => {
          perAddress.release(addr);
          app.log.warn({ err: e }, "live handshake: session lookup failed");
          refuse(new LiveRefused("unavailable", "cannot check the session right now, retry later"));
        });
    });
  }

  nsp.on("connection", (socket) => {
    const bucket = new TokenBucket(SUBSCRIBE_BURST, SUBSCRIBE_PER_SECOND, Date.now());
    socket.on("subscribe", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      if (!bucket.take(1, Date.now())) {
        app.counters.inc("kam_live_rejected_total", { code: "rate_limited" });
        reply({ ok: false, code: "rate_limited", message: `more than ${SUBSCRIBE_PER_SECOND} subscribe messages/s: retry later` });
        return;
      }
      const msg = Subscribe.safeParse(payload);
      if (!msg.success) {
        app.counters.inc("kam_live_rejected_total", { code: "invalid_message" });
        reply({ ok: false, code: "invalid_message", message: describeZodError(msg.error) });
        return;
      }
      for (const r of socket.rooms) if (r !== socket.id) void socket.leave(r);
      const all = msg.data.clusters.includes("*");
      if (all) void socket.join(ALL);
      else for (const c of msg.data.clusters) void socket.join(room(c));
      // send the current picture at once, so a subscriber needs no separate fetch
      for (const s of picture.clusters()) if (all || msg.data.clusters.includes(s.name)) socket.emit("cluster", s);
      reply({ ok: true });
    });
  });

  // Several replicas (issue 13): each follows every cluster's feed, so each pushes summaries to its own
  // browsers only (local); an incident is stored by the one replica holding the cluster's detection lease (or
  // acknowledged on one), so it goes to the browsers of every replica through the adapter (main.ts), and so
  // does the cluster's open count, to the other replicas' pictures (a server-side event).
  app.bus.on("summaryChanged", (summary) => {
    nsp.local.to(ALL).to(room(summary.name)).emit("cluster", summary);
  });
  app.bus.on("incidentChanged", ({ cluster, incident, change }) => {
    nsp.to(ALL).to(room(cluster)).emit("incident", { change, incident });
  });
  app.bus.on("openIncidents", (p) => {
    if (replicated && !p.remote) nsp.serverSideEmit(OPEN_INCIDENTS, p);
  });
  (nsp as unknown as Namespace<{ [OPEN_INCIDENTS]: (p: BusEvents["openIncidents"]) => void }>).on(OPEN_INCIDENTS, (p) => {
    if (typeof p?.cluster === "string" && typeof p.open === "number") app.bus.emit("openIncidents", { cluster: p.cluster, open: p.open, remote: true });
  });
  return nsp;
}
