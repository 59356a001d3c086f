/**
 * The hub ties ingest, the in-memory picture, liveness, detection and live
 * fan-out together. It is the only stateful object of the server; socket and
 * HTTP handlers call it.
 */
import { sqlOf, type Db } from "./db/database";
import type { Logger } from "./log";
import type { AgentRecord, ClusterSummary, Heartbeat } from "./protocol";
import { LoopLag, type Counters } from "./metrics";
import { storeBatch, type StoreResult } from "./ingest/store";
import type { AgentSocketData } from "./ingest/agent-namespace";
import { ClusterStore, type ClusterState, type NodeState } from "./state/cluster-state";
import { deriveStateChanges } from "./state/derive";
import { capInstances, DEFAULT_CAPS, type StateCaps } from "./ingest/limits";
import { MonotonicClock } from "./clock";
import type { DetectionHost } from "./incidents/detection-host";
import { factsFromStored, seenEveryMs } from "./incidents/facts";
import type { ApiIncident } from "./incidents/incident-store";
import type { Fact, IncidentChange } from "./detect/types";

export interface HubOptions {
  db: Db;
  dbKind: "postgres" | "pglite";
  log: Logger;
  counters: Counters;
  offlineMs: number;
}

const INT4_MAX = 2 ** 31 - 1;

/** see tick() */
export const DETECTION_LAG_MS = 25;

type Listener = (summary: ClusterSummary) => void;
type IncidentListener = (cluster: string, incident: ApiIncident, change: IncidentChange["type"]) => void;

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
 * An agent reports its VIP set when it changes and every 10 s. A report equal
 * to the set this server process last stored for the node (same agent, newer
 * seq) is acknowledged but not stored (counted as a duplicate), unless the
 * stored one is older than this: storage keeps every change plus an hourly
 * confirmation, not 8,640 rows a day per node. The first report of every
 * connection (and after a server start) is stored.
 */
export const VIP_CONFIRM_MS = 3600_000;

/** a node's VIP set as this server process last stored it */
interface VipMemo {
  key: string;
  agentId: string;
  seq: number;
  at: number;
}

const vipKey = (addresses: readonly { address: string; prefixlen?: number | null; iface?: string | null }[]) =>
  addresses
    .map((a) => `${a.address.toLowerCase()}/${a.prefixlen ?? ""}%${a.iface ?? ""}`)
    .sort()
    .join(" ");

/** how often the liveness of every agent seen meanwhile is written (one statement) */
export const SEEN_FLUSH_MS = 1000;

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

export class Hub {
  readonly db: Db;
  readonly dbKind: "postgres" | "pglite";
  readonly log: Logger;
  readonly counters: Counters;
  readonly store: ClusterStore;
  readonly clock = new MonotonicClock();
  /** event-loop delay, for /metrics (started by the server) */
  readonly loopLag = new LoopLag();
  /** set by the server once detection runs */
  detection: DetectionHost | null = null;
  /** what one token and one node may make the server remember (issue 19; main.ts sets it from the config) */
  caps: StateCaps = DEFAULT_CAPS;
  readonly offlineMs: number;
  /** liveness persisted and fed at most this often per agent (seenEveryMs of offlineMs) */
  readonly seenEveryMs: number;
  private listeners = new Set<Listener>();
  private incidentListeners = new Set<IncidentListener>();
  private sessions = new Map<string, Session>();
  private dirty = new Set<string>();
  private flushScheduled = false;
  private lastOnline = new Map<string, boolean>();
  private pendingSeen = new Map<string, PendingSeen>();
  /** node id -> VIP set last stored (see VIP_CONFIRM_MS) */
  private vipMemo = new Map<number, VipMemo>();
  private seenTimer: NodeJS.Timeout | null = null;
  private seenFlushing: Promise<void> = Promise.resolve();

  constructor(o: HubOptions) {
    this.db = o.db;
    this.dbKind = o.dbKind;
    this.log = o.log;
    this.counters = o.counters;
    this.offlineMs = o.offlineMs;
    this.seenEveryMs = seenEveryMs(o.offlineMs);
    this.store = new ClusterStore(o.offlineMs);
  }

  onSummary(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onIncident(fn: IncidentListener): () => void {
    this.incidentListeners.add(fn);
    return () => this.incidentListeners.delete(fn);
  }

  /** called by the detection host after an incident change is stored */
  incidentChanged(cluster: string, incident: ApiIncident, change: IncidentChange["type"]) {
    for (const fn of this.incidentListeners) fn(cluster, incident, change);
  }

  setOpenIncidents(cluster: string, open: number) {
    const c = this.store.clusters.get(cluster);
    if (c && c.openIncidents !== open) {
      c.openIncidents = open;
      this.markDirty(cluster);
    }
  }

  private where(d: AgentSocketData): { cluster: ClusterState; node: NodeState } {
    const cluster = this.store.cluster(d.clusterId, d.cluster);
    return { cluster, node: this.store.node(cluster, d.nodeId, d.node) };
  }

  private feed(cluster: ClusterState, facts: Fact[]) {
    this.detection?.feed(cluster.id, cluster.name, facts);
  }

  /** Store a validated batch, then update the picture, detect and push. */
  async ingest(d: AgentSocketData, records: AgentRecord[]): Promise<StoreResult> {
    const { cluster, node } = this.where(d);
    // derive against a copy of the node's view: if the transaction fails, nothing changed
    // (storeBatch may derive twice; each time from the view before the batch, the last one counts)
    let view = node.view;
    const t0 = performance.now();
    // unchanged VIP reports are acknowledged, not stored (see VIP_CONFIRM_MS)
    const wall = Date.now();
    let ref = this.vipMemo.get(d.nodeId);
    const unchanged = new Set<AgentRecord>();
    for (const v of records.filter((x) => x.kind === "vips").sort((a, b) => a.seq - b.seq)) {
      if (v.kind !== "vips") continue;
      const key = vipKey(v.addresses);
      if (ref && ref.agentId === d.agentId && v.seq > ref.seq && ref.key === key && wall - ref.at < VIP_CONFIRM_MS) unchanged.add(v);
      else ref = { key, agentId: d.agentId, seq: v.seq, at: wall };
    }
    const receivedAt = this.clock.nextIso();
    // a config snapshot is stored once per content hash and node (issue 19): a repeat of the node's
    // current one (every reconnect, or a flood of 4 MiB copies) is acknowledged, not stored again
    let cfgHash = node.config?.hash;
    for (const c of records.filter((x) => x.kind === "config").sort((a, b) => a.seq - b.seq)) {
      if (c.kind !== "config") continue;
      if (c.hash === cfgHash) unchanged.add(c);
      else cfgHash = c.hash;
    }
    const r = await storeBatch(
      this.db,
      d,
      unchanged.size ? records.filter((x) => !unchanged.has(x)) : records,
      (logs, configs) => {
        view = { vrids: new Map(node.view.vrids), instances: new Set(node.view.instances), last: new Map(node.view.last) };
        const known = new Set([...node.view.instances, ...node.instances.keys()]);
        return capInstances(view, known, deriveStateChanges(view, logs, configs), this.caps, (n) =>
          this.counters.inc("kam_ingest_instances_refused_total", {}, n),
        );
      },
      receivedAt,
    );
    r.duplicates += unchanged.size;
    const newestVip = r.vips.reduce<(typeof r.vips)[number] | null>((a, v) => (!a || v.seq > a.seq ? v : a), null);
    const memo = this.vipMemo.get(d.nodeId);
    if (newestVip && (!memo || memo.agentId !== d.agentId || newestVip.seq > memo.seq)) {
      this.vipMemo.set(d.nodeId, { key: vipKey(newestVip.addresses), agentId: d.agentId, seq: newestVip.seq, at: wall });
    }
    const unchangedConfigs = [...unchanged].filter((x) => x.kind === "config").length;
    this.counters.inc("kam_ingest_vips_unchanged_total", {}, unchanged.size - unchangedConfigs);
    this.counters.inc("kam_ingest_configs_unchanged_total", {}, unchangedConfigs);
    this.counters.inc("kam_ingest_batches_total");
    this.counters.inc("kam_ingest_records_total", {}, r.stored);
    this.counters.inc("kam_ingest_duplicates_total", {}, r.duplicates);
    this.counters.inc("kam_ingest_commit_seconds_total", {}, (performance.now() - t0) / 1000);
    node.view = view;
    // newest by the agent's own order (seq), not by the node's clock, which may jump
    const order = (seq: number) => ({ agentId: d.agentId, seq });
    for (const c of r.configs) this.store.applyConfig(node, { ...c, order: order(c.seq) });
    for (const v of [...r.vips].sort((a, b) => a.seq - b.seq)) this.store.applyVips(node, v.addresses, v.ts, order(v.seq));
    for (const p of [...r.processes].sort((a, b) => a.seq - b.seq)) this.store.applyProcess(node, p, p.ts, order(p.seq));
    const seqOf = new Map(r.logs.map((l) => [l.id, l.seq]));
    for (const s of r.stateChanges) this.store.applyState(node, s.instance, s.state, s.ts.getTime(), order(seqOf.get(s.logRecordId) ?? 0));
    for (const l of r.logs) {
      if (l.event?.type === "priority") this.store.applyPriority(node, l.event.instance, l.event.to);
    }
    this.store.touch(node, Date.now());
    if (r.stored > 0) {
      this.markDirty(cluster.name);
      this.feed(cluster, factsFromStored(node.name, r, Date.parse(receivedAt)));
    }
    return r;
  }

  heartbeat(d: AgentSocketData, hb: Heartbeat) {
    this.detection?.agentOutbox(d.agentId, hb.outbox);
    const { cluster, node } = this.where(d);
    const now = Date.now();
    const wasOnline = this.store.isOnline(node, now);
    this.store.touch(node, now);
    const skewMs = Math.round(hb.ts - now);
    // shown per node; pushed when it moves by a second or more
    if (!wasOnline || node.skewMs === null || Math.abs(node.skewMs - skewMs) >= 1000) this.markDirty(cluster.name);
    node.skewMs = skewMs;
    const s = this.sessions.get(d.agentId);
    // agent.skew_ms is an int column: a clock off by more than ~24 days is stored at its bound
    const stored = Math.max(-INT4_MAX, Math.min(INT4_MAX, skewMs));
    if (s && now - s.lastPersisted >= this.seenEveryMs) void this.persistSeen(d, s, now, stored);
  }

  /**
   * Liveness goes to storage (agent_session) and to the detectors at the same
   * moments, so replayed history sees what the live detectors saw. A silence
   * longer than the offline limit ends the stretch: the next heartbeat starts
   * a new session row (written at once). Otherwise the heartbeats due for
   * storage (one per agent every seenEveryMs) are collected and written
   * together once per SEEN_FLUSH_MS, in one statement; each is fed to the
   * detectors (with its own time) right after that commit.
   */
  private async persistSeen(d: AgentSocketData, s: Session, now: number, skewMs: number) {
    const { cluster, node } = this.where(d);
    const gap = now - s.lastPersisted;
    s.lastPersisted = now;
    if (gap <= this.offlineMs) {
      this.pendingSeen.set(d.agentId, { d, s, at: now, skewMs });
      this.seenTimer ??= setTimeout(() => void this.flushSeen(), SEEN_FLUSH_MS);
      return;
    }
    try {
      const row = await this.db.agentSession.create({
        data: { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, connectedAt: new Date(now), lastSeenAt: new Date(now) },
      });
      s.id = row.id;
      await this.db.node.update({ where: { id: node.id }, data: { lastSeenAt: new Date(now) } });
      await this.db.agent.update({ where: { id: d.agentId }, data: { lastSeenAt: new Date(now), skewMs } });
      this.feed(cluster, [{ kind: "seen", node: node.name, ts: now }]);
    } catch (e) {
      this.log.warn({ err: e }, "could not record agent liveness");
    }
  }

  /** Write the collected heartbeats (one statement), then feed them to the detectors. Serialized. */
  flushSeen(): Promise<void> {
    if (this.seenTimer) clearTimeout(this.seenTimer);
    this.seenTimer = null;
    const batch = [...this.pendingSeen.values()];
    this.pendingSeen.clear();
    if (batch.length === 0) return this.seenFlushing;
    this.seenFlushing = this.seenFlushing.then(async () => {
      const iso = (ms: number) => new Date(ms).toISOString();
      const nodes = new Map<number, number>();
      for (const p of batch) nodes.set(p.d.nodeId, Math.max(nodes.get(p.d.nodeId) ?? 0, p.at));
      try {
        await sqlOf(this.db).query(SEEN_SQL, [
          batch.map((p) => p.s.id.toString()),
          batch.map((p) => iso(p.at)),
          [...nodes.keys()],
          [...nodes.values()].map(iso),
          batch.map((p) => p.d.agentId),
          batch.map((p) => iso(p.at)),
          batch.map((p) => p.skewMs),
        ]);
        this.counters.inc("kam_liveness_flushes_total");
      } catch (e) {
        this.log.warn({ err: e, agents: batch.length }, "could not record agent liveness");
        return;
      }
      for (const p of batch) {
        // a clean disconnect since: its own write and facts are newer
        if (this.sessions.get(p.d.agentId) !== p.s) continue;
        const { cluster, node } = this.where(p.d);
        this.feed(cluster, [{ kind: "seen", node: node.name, ts: p.at }]);
      }
    });
    return this.seenFlushing;
  }

  /** true once the server shuts down: the agents it disconnects did not leave (no disconnect recorded) */
  private stopping = false;

  /** at shutdown: write what is pending */
  async stop(): Promise<void> {
    this.stopping = true;
    this.loopLag.stop();
    await this.flushSeen();
  }

  async agentConnected(d: AgentSocketData, connected: boolean): Promise<void> {
    const { cluster, node } = this.where(d);
    node.connected = connected;
    const now = Date.now();
    this.store.touch(node, now);
    this.markDirty(cluster.name);
    try {
      if (connected) {
        // the first VIP report of a connection is stored even when unchanged
        this.vipMemo.delete(d.nodeId);
        this.detection?.agentConnected(d.clusterId, d.agentId, now);
        const row = await this.db.agentSession.create({
          data: { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, connectedAt: new Date(now), lastSeenAt: new Date(now) },
        });
        this.sessions.set(d.agentId, { id: row.id, lastPersisted: now });
        this.feed(cluster, [{ kind: "seen", node: node.name, ts: now }]);
        return;
      }
      this.detection?.agentGone(d.agentId);
      // closed by this server's own shutdown: the agent did not leave; its session stays open at its last
      // heartbeat, and the next server start gives it the offline limit to reconnect (AGENT_OFFLINE)
      if (this.stopping) return;
      const s = this.sessions.get(d.agentId);
      this.sessions.delete(d.agentId);
      // the disconnect below is newer than a heartbeat still waiting for the flush
      if (this.pendingSeen.get(d.agentId)?.s === s) this.pendingSeen.delete(d.agentId);
      if (!s) return;
      await this.db.agentSession.update({ where: { id: s.id }, data: { lastSeenAt: new Date(now), disconnectedAt: new Date(now) } });
      this.feed(cluster, [
        { kind: "seen", node: node.name, ts: now },
        { kind: "disconnected", node: node.name, ts: now },
      ]);
    } catch (e) {
      this.log.warn({ err: e }, "could not record agent session");
    }
  }

  markDirty(cluster: string) {
    this.dirty.add(cluster);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // coalesce the pushes of one tick, without adding latency
    setImmediate(() => this.flush());
  }

  private flush() {
    this.flushScheduled = false;
    const now = Date.now();
    for (const name of this.dirty) {
      const c = this.store.clusters.get(name);
      if (!c) continue;
      const s = this.store.summary(c, now);
      for (const fn of this.listeners) fn(s);
    }
    this.dirty.clear();
  }

  /** Called every few hundred ms: time-driven detection, and nodes going offline (or back) by the clock alone. */
  tick(now = Date.now()) {
    // detection's clock trails the wall clock a little, so that a fact still on
    // its way (read, sent, committed) is judged before a timer it could cancel fires
    this.detection?.tick(now - DETECTION_LAG_MS);
    for (const c of this.store.clusters.values()) {
      for (const n of c.nodes.values()) {
        const key = `${c.name}/${n.name}`;
        const online = this.store.isOnline(n, now);
        if (this.lastOnline.get(key) !== online) {
          this.lastOnline.set(key, online);
          this.markDirty(c.name);
        }
      }
    }
  }

  clusters(): ClusterSummary[] {
    return this.store.summaries();
  }
}
