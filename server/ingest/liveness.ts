/**
 * Agent liveness: connections, heartbeats and disconnects go to storage
 * (agent_session, node and agent rows) and, as `seen` / `disconnected` facts,
 * to detection (`factsCommitted`) at the same moments, so replayed history
 * sees what the live detectors saw. Connects, disconnects and outbox depths are
 * published too (`agentConnected`, `agentGone`, `agentOutbox`).
 */
import { sqlOf } from "../db/database";
import type { AppContext } from "../app-context";
import type { Heartbeat } from "../protocol";
import type { AgentSocketData } from "./agent-namespace";
import type { LivePicture } from "../state/live-picture";
import type { ClusterState } from "../state/cluster-state";
import type { Fact } from "../detect/types";
import { seenEveryMs } from "../incidents/facts";

const INT4_MAX = 2 ** 31 - 1;

/** how often the liveness of every agent seen meanwhile is written (one statement) */
export const SEEN_FLUSH_MS = 1000;

/** liveness bookkeeping of one connected agent */
interface Session {
  id: bigint;
  lastPersisted: number;
}

/** a heartbeat due for storage, waiting for the next liveness flush */
interface PendingSeen {
  d: AgentSocketData;
  s: Session;
  at: number;
  skewMs: number;
}

/**
 * One statement for all the agents seen since the last flush: their session
 * rows, nodes and agents (last seen, clock skew). GREATEST: a disconnect
 * written meanwhile is never moved back.
 */
const SEEN_SQL = `WITH
 s AS (UPDATE agent_session x SET last_seen_at = GREATEST(x.last_seen_at, u.t)
         FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, t) WHERE x.id = u.id),
 n AS (UPDATE node x SET last_seen_at = GREATEST(x.last_seen_at, u.t)
         FROM unnest($3::int[], $4::timestamptz[]) AS u(id, t) WHERE x.id = u.id),
 a AS (UPDATE agent x SET last_seen_at = GREATEST(x.last_seen_at, u.t), skew_ms = u.k
         FROM unnest($5::uuid[], $6::timestamptz[], $7::int[]) AS u(id, t, k) WHERE x.id = u.id)
SELECT 1`;

export class Liveness {
  /** liveness persisted and fed at most this often per agent (seenEveryMs of offlineMs) */
  readonly seenEveryMs: number;
  private sessions = new Map<string, Session>();
  /** the session rows this process wrote (remote-liveness.ts skips them), the latest 10,000 */
  private own = new Set<bigint>();
  private pendingSeen = new Map<string, PendingSeen>();
  private seenTimer: NodeJS.Timeout | null = null;
  private seenFlushing: Promise<void> = Promise.resolve();
  /** true once the server shuts down: the agents it disconnects did not leave (no disconnect recorded) */
  private stopping = false;

  constructor(
    private app: AppContext,
    private picture: LivePicture,
  ) {
    this.seenEveryMs = seenEveryMs(app.settings.offlineMs);
  }

  private feed(cluster: ClusterState, facts: Fact[]) {
    this.app.bus.emit("factsCommitted", { clusterId: cluster.id, cluster: cluster.name, facts });
  }

  heartbeat(d: AgentSocketData, hb: Heartbeat) {
    this.app.bus.emit("agentOutbox", { agentId: d.agentId, depth: hb.outbox });
    const { cluster, node } = this.picture.where(d);
    const store = this.picture.store;
    const now = Date.now();
    const wasOnline = store.isOnline(node, now);
    store.touch(node, now);
    const skewMs = Math.round(hb.ts - now);
    // shown per node; pushed when it moves by a second or more
    if (!wasOnline || node.skewMs === null || Math.abs(node.skewMs - skewMs) >= 1000) this.picture.markDirty(cluster.name);
    node.skewMs = skewMs;
    const s = this.sessions.get(d.agentId);
    // agent.skew_ms is an int column: a clock off by more than ~24 days is stored at its bound
    const stored = Math.max(-INT4_MAX, Math.min(INT4_MAX, skewMs));
    if (s && now - s.lastPersisted >= this.seenEveryMs) void this.persistSeen(d, s, now, stored);
  }

  /**
   * A silence longer than the offline limit ends the stretch: the next
   * heartbeat starts a new session row (written at once). Otherwise the
   * heartbeats due for storage (one per agent every seenEveryMs) are collected
   * and written together once per SEEN_FLUSH_MS, in one statement; each is fed
   * to the detectors (with its own time) right after that commit.
   */
  private async persistSeen(d: AgentSocketData, s: Session, now: number, skewMs: number) {
    const { db, log, settings } = this.app;
    const { cluster, node } = this.picture.where(d);
    const gap = now - s.lastPersisted;
    s.lastPersisted = now;
    if (gap <= settings.offlineMs) {
      this.pendingSeen.set(d.agentId, { d, s, at: now, skewMs });
      this.seenTimer ??= setTimeout(() => void this.flushSeen(), SEEN_FLUSH_MS);
      return;
    }
    try {
      const row = await db.agentSession.create({
        data: { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, connectedAt: new Date(now), lastSeenAt: new Date(now) },
      });
      s.id = row.id;
      this.mine(row.id);
      await db.node.update({ where: { id: node.id }, data: { lastSeenAt: new Date(now) } });
      await db.agent.update({ where: { id: d.agentId }, data: { lastSeenAt: new Date(now), skewMs } });
      this.feed(cluster, [{ kind: "seen", node: node.name, ts: now }]);
    } catch (e) {
      log.warn({ err: e }, "could not record agent liveness");
    }
  }

  /** Write the collected heartbeats (one statement), then feed them to the detectors. Serialized. */
  flushSeen(): Promise<void> {
    if (this.seenTimer) clearTimeout(this.seenTimer);
    this.seenTimer = null;
    const batch = [...this.pendingSeen.values()];
    this.pendingSeen.clear();
    if (batch.length === 0) return this.seenFlushing;
    const { db, log, counters } = this.app;
    this.seenFlushing = this.seenFlushing.then(async () => {
      const iso = (ms: number) => new Date(ms).toISOString();
      const nodes = new Map<number, number>();
      for (const p of batch) nodes.set(p.d.nodeId, Math.max(nodes.get(p.d.nodeId) ?? 0, p.at));
      try {
        await sqlOf(db).query(SEEN_SQL, [
          batch.map((p) => p.s.id.toString()),
          batch.map((p) => iso(p.at)),
          [...nodes.keys()],
          [...nodes.values()].map(iso),
          batch.map((p) => p.d.agentId),
          batch.map((p) => iso(p.at)),
          batch.map((p) => p.skewMs),
        ]);
        counters.inc("kam_liveness_flushes_total");
      } catch (e) {
        log.warn({ err: e, agents: batch.length }, "could not record agent liveness");
        return;
      }
      for (const p of batch) {
        // a clean disconnect since: its own write and facts are newer
        if (this.sessions.get(p.d.agentId) !== p.s) continue;
        const { cluster, node } = this.picture.where(p.d);
        this.feed(cluster, [{ kind: "seen", node: node.name, ts: p.at }]);
      }
    });
    return this.seenFlushing;
  }

  private mine(id: bigint) {
    this.own.add(id);
    if (this.own.size > 10_000) this.own.delete(this.own.values().next().value!);
  }

  /** a session row this process wrote (its facts went to detection from here) */
  isOwnSession(id: bigint): boolean {
    return this.own.has(id);
  }

  /** at shutdown: write what is pending */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.flushSeen();
  }

  async agentConnected(d: AgentSocketData, connected: boolean): Promise<void> {
    const { db, log, bus } = this.app;
    const { cluster, node } = this.picture.where(d);
    node.connected = connected;
    if (connected) node.agentVersion = d.version;
    const now = Date.now();
    this.picture.store.touch(node, now);
    this.picture.markDirty(cluster.name);
    try {
      if (connected) {
        bus.emit("agentConnected", { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, at: now });
        const row = await db.agentSession.create({
          data: { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, connectedAt: new Date(now), lastSeenAt: new Date(now) },
        });
        this.sessions.set(d.agentId, { id: row.id, lastPersisted: now });
        this.mine(row.id);
        this.feed(cluster, [{ kind: "seen", node: node.name, ts: now }]);
        return;
      }
      bus.emit("agentGone", { agentId: d.agentId });
      // closed by this server's own shutdown: the agent did not leave; its session stays open at its last
      // heartbeat, and the next server start gives it the offline limit to reconnect (AGENT_OFFLINE)
      if (this.stopping) return;
      const s = this.sessions.get(d.agentId);
      this.sessions.delete(d.agentId);
      // the disconnect below is newer than a heartbeat still waiting for the flush
      if (this.pendingSeen.get(d.agentId)?.s === s) this.pendingSeen.delete(d.agentId);
      if (!s) return;
      await db.agentSession.update({ where: { id: s.id }, data: { lastSeenAt: new Date(now), disconnectedAt: new Date(now) } });
      this.feed(cluster, [
        { kind: "seen", node: node.name, ts: now },
        { kind: "disconnected", node: node.name, ts: now },
      ]);
    } catch (e) {
      log.warn({ err: e }, "could not record agent session");
    }
  }
}
