/**
 * socket.io namespace /live: browsers subscribe to clusters and receive the
 * whole ClusterSummary of a cluster whenever it changes. The handshake is
 * authenticated once (io.of("/live").use): the Origin must be this host or an
 * allowed origin, the cookie must carry a user or wall session, and one
 * client address may hold at most KAM_LIVE_CONNECTIONS_PER_IP sockets.
 *
 * Cluster scope (issue 19, server/auth/scope.ts): a socket only ever joins the
 * rooms of clusters its session may see, and every push goes to rooms, so a
 * scoped socket receives nothing of another cluster. An unscoped socket that
 * subscribes to "*" joins the ALL room; a scoped one joins the room of each
 * cluster of its scope instead. A subscription naming a cluster outside the
 * scope is refused (not_found, as a cluster that does not exist). When the
 * session's scope changes (admin API at once, CLI or another replica within
 * the sweep, server/auth/access.ts) its sockets' rooms are recomputed.
 */
import type { Namespace, Server, Socket } from "socket.io";
import type { Access } from "../auth/access";
import { ClusterScope } from "../auth/scope";
import { originMatches } from "../auth/csrf";
import { Subscribe, describeZodError, type ClusterSummary, type LiveClientToServer, type LiveServerToClient } from "../protocol";
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

/** what one socket may see and what it asked for (socket.data) */
interface LiveData {
  scope: ClusterScope;
  /** the last accepted subscription: "*" or cluster names; null before the first */
  wanted: "*" | string[] | null;
}
type LiveSocket = Socket<LiveClientToServer, LiveServerToClient, Record<string, never>, LiveData>;

/** the rooms a socket belongs in for its subscription and scope */
function roomsOf({ scope, wanted }: LiveData): string[] {
  if (wanted === null) return [];
  if (wanted === "*") return scope.all ? [ALL] : (scope.list() ?? []).map(room);
  return scope.filter(wanted, (c) => c).map(room);
}

/** does this socket's subscription and scope cover the cluster? */
function covers({ scope, wanted }: LiveData, cluster: string): boolean {
  return wanted !== null && scope.allows(cluster) && (wanted === "*" || wanted.includes(cluster));
}

/** joins exactly `rooms` (besides its own); the summaries of clusters newly covered are sent at once (`picture`) */
function placeIn(socket: LiveSocket, before: LiveData, picture: () => ClusterSummary[]): void {
  const want = new Set(roomsOf(socket.data));
  for (const r of [...socket.rooms]) if (r !== socket.id && !want.has(r)) void socket.leave(r);
  for (const r of want) if (!socket.rooms.has(r)) void socket.join(r);
  for (const s of picture()) if (covers(socket.data, s.name) && !covers(before, s.name)) socket.emit("cluster", s);
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
          (socket as LiveSocket).data = { scope: s.scope, wanted: null };
          const untrack = access.track(s.id, {
            disconnect: (close) => socket.disconnect(close),
            rescope: (scope) => rescope(socket as LiveSocket, scope),
          });
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

  /** the session's scope changed: leave what it no longer covers, join (and send) what it newly does */
  function rescope(socket: LiveSocket, scope: ClusterScope): void {
    if (socket.data.scope.equals(scope)) return;
    const before = { ...socket.data };
    socket.data.scope = scope;
    placeIn(socket, before, () => picture.clusters());
    app.log.info({ socket: socket.id, clusters: scope.describe() }, "live socket: cluster scope changed");
  }

  nsp.on("connection", (s) => {
    const socket = s as LiveSocket;
    // without access control (tests of the namespace alone) every cluster is visible
    if (!(socket.data as Partial<LiveData>).scope) socket.data = { scope: ClusterScope.ALL, wanted: null };
    // a message over the default path's 256 KiB (LIMITS.maxBrowserMessageBytes) shows here as "transport error"
    socket.on("disconnect", (reason) => app.counters.inc("kam_live_disconnects_total", { reason }));
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
      const wanted = msg.data.clusters.includes("*") ? "*" : msg.data.clusters;
      const outside = wanted === "*" ? undefined : wanted.find((c) => !socket.data.scope.allows(c));
      if (outside !== undefined) {
        // the previous subscription stays; said as for a cluster that does not exist
        app.counters.inc("kam_live_rejected_total", { code: "not_found" });
        reply({ ok: false, code: "not_found", message: `no cluster ${outside}` });
        return;
      }
      socket.data.wanted = wanted;
      // send the current picture at once, so a subscriber needs no separate fetch
      placeIn(socket, { scope: socket.data.scope, wanted: null }, () => picture.clusters());
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
