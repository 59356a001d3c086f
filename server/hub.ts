/**
 * The hub ties ingest, the in-memory picture, liveness, detection and live
 * fan-out together. It is the only stateful object of the server; socket and
 * HTTP handlers call it.
 */
import type { Db } from "./db/database";
import type { Logger } from "./log";
import type { AgentRecord, ClusterSummary, Heartbeat } from "./protocol";
import type { Counters } from "./metrics";
import { storeBatch, type StoreResult } from "./ingest/store";
import type { AgentSocketData } from "./ingest/agent-namespace";
import { ClusterStore, type ClusterState, type NodeState } from "./state/cluster-state";
import { deriveStateChanges } from "./state/derive";
import { MonotonicClock } from "./clock";
import type { DetectionHost } from "./incidents/detection-host";
import { factsFromStored, SEEN_EVERY_MS } from "./incidents/facts";
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

export class Hub {
  readonly db: Db;
  readonly dbKind: "postgres" | "pglite";
  readonly log: Logger;
  readonly counters: Counters;
  readonly store: ClusterStore;
  readonly clock = new MonotonicClock();
  /** set by the server once detection runs */
  detection: DetectionHost | null = null;
  readonly offlineMs: number;
  private listeners = new Set<Listener>();
  private incidentListeners = new Set<IncidentListener>();
  private sessions = new Map<string, Session>();
  private dirty = new Set<string>();
  private flushScheduled = false;
  private lastOnline = new Map<string, boolean>();

  constructor(o: HubOptions) {
    this.db = o.db;
    this.dbKind = o.dbKind;
    this.log = o.log;
    this.counters = o.counters;
    this.offlineMs = o.offlineMs;
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
    const view = { vrids: new Map(node.view.vrids), instances: new Set(node.view.instances), last: new Map(node.view.last) };
    const t0 = performance.now();
    const r = await storeBatch(this.db, d, records, (logs, configs) => deriveStateChanges(view, logs, configs), this.clock.nextIso());
    this.counters.inc("kam_ingest_batches_total");
    this.counters.inc("kam_ingest_records_total", {}, r.stored);
    this.counters.inc("kam_ingest_duplicates_total", {}, r.duplicates);
    this.counters.inc("kam_ingest_commit_seconds_total", {}, (performance.now() - t0) / 1000);
    node.view = view;
    // newest by the agent's own order (seq), not by the node's clock, which may jump
    const order = (seq: number) => ({ agentId: d.agentId, seq });
    for (const c of r.configs) this.store.applyConfig(node, { ...c, order: order(c.seq) });
    for (const v of [...r.vips].sort((a, b) => a.seq - b.seq)) this.store.applyVips(node, v.addresses, v.ts, order(v.seq));
    const seqOf = new Map(r.logs.map((l) => [l.id, l.seq]));
    for (const s of r.stateChanges) this.store.applyState(node, s.instance, s.state, s.ts.getTime(), order(seqOf.get(s.logRecordId) ?? 0));
    for (const l of r.logs) {
      if (l.event?.type === "priority") this.store.applyPriority(node, l.event.instance, l.event.to);
    }
    this.store.touch(node, Date.now());
    if (r.stored > 0) {
      this.markDirty(cluster.name);
      this.feed(cluster, factsFromStored(node.name, r));
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
    if (s && now - s.lastPersisted >= SEEN_EVERY_MS) void this.persistSeen(d, s, now, stored);
  }

  /**
   * Liveness goes to storage (agent_session) and to the detectors at the same
   * moments, so replayed history sees what the live detectors saw. A silence
   * longer than the offline limit ends the stretch: the next heartbeat starts
   * a new session row.
   */
  private async persistSeen(d: AgentSocketData, s: Session, now: number, skewMs: number) {
    const { cluster, node } = this.where(d);
    const gap = now - s.lastPersisted;
    s.lastPersisted = now;
    try {
      if (gap > this.offlineMs) {
        const row = await this.db.agentSession.create({
          data: { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, connectedAt: new Date(now), lastSeenAt: new Date(now) },
        });
        s.id = row.id;
      } else {
        await this.db.agentSession.update({ where: { id: s.id }, data: { lastSeenAt: new Date(now) } });
      }
      await this.db.node.update({ where: { id: node.id }, data: { lastSeenAt: new Date(now) } });
      await this.db.agent.update({ where: { id: d.agentId }, data: { lastSeenAt: new Date(now), skewMs } });
      this.feed(cluster, [{ kind: "seen", node: node.name, ts: now }]);
    } catch (e) {
      this.log.warn({ err: e }, "could not record agent liveness");
    }
  }

  async agentConnected(d: AgentSocketData, connected: boolean): Promise<void> {
    const { cluster, node } = this.where(d);
    node.connected = connected;
    const now = Date.now();
    this.store.touch(node, now);
    this.markDirty(cluster.name);
    try {
      if (connected) {
        this.detection?.agentConnected(d.clusterId, d.agentId, now);
        const row = await this.db.agentSession.create({
          data: { clusterId: d.clusterId, nodeId: d.nodeId, agentId: d.agentId, connectedAt: new Date(now), lastSeenAt: new Date(now) },
        });
        this.sessions.set(d.agentId, { id: row.id, lastPersisted: now });
        this.feed(cluster, [{ kind: "seen", node: node.name, ts: now }]);
        return;
      }
      this.detection?.agentGone(d.agentId);
      const s = this.sessions.get(d.agentId);
      this.sessions.delete(d.agentId);
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
