/**
 * The hub ties ingest, the in-memory picture and live fan-out together. It is
 * the only stateful object of the server; socket and HTTP handlers call it.
 */
import type { Db } from "./db/database";
import type { Logger } from "./log";
import type { AgentRecord, ClusterSummary, Heartbeat } from "./protocol";
import type { Counters } from "./metrics";
import { storeBatch, type StoreResult } from "./ingest/store";
import type { AgentSocketData } from "./ingest/agent-namespace";
import { ClusterStore, type ClusterState, type NodeState } from "./state/cluster-state";
import { deriveStateChanges } from "./state/derive";

export interface HubOptions {
  db: Db;
  dbKind: "postgres" | "pglite";
  log: Logger;
  counters: Counters;
  offlineMs: number;
}

type Listener = (summary: ClusterSummary) => void;

export class Hub {
  readonly db: Db;
  readonly dbKind: "postgres" | "pglite";
  readonly log: Logger;
  readonly counters: Counters;
  readonly store: ClusterStore;
  private listeners = new Set<Listener>();
  private dirty = new Set<string>();
  private flushScheduled = false;
  private lastOnline = new Map<string, boolean>();
  private lastSeenWrites = new Map<number, number>();

  constructor(o: HubOptions) {
    this.db = o.db;
    this.dbKind = o.dbKind;
    this.log = o.log;
    this.counters = o.counters;
    this.store = new ClusterStore(o.offlineMs);
  }

  onSummary(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private where(d: AgentSocketData): { cluster: ClusterState; node: NodeState } {
    const cluster = this.store.cluster(d.clusterId, d.cluster);
    return { cluster, node: this.store.node(cluster, d.nodeId, d.node) };
  }

  /** Store a validated batch, then update the picture and push. */
  async ingest(d: AgentSocketData, records: AgentRecord[]): Promise<StoreResult> {
    const { cluster, node } = this.where(d);
    // derive against a copy of the node's view: if the transaction fails, nothing changed
    const view = { vrids: new Map(node.view.vrids), instances: new Set(node.view.instances), last: new Map(node.view.last) };
    const t0 = performance.now();
    const r = await storeBatch(this.db, d, records, (logs, configs) => deriveStateChanges(view, logs, configs));
    this.counters.inc("kam_ingest_batches_total");
    this.counters.inc("kam_ingest_records_total", {}, r.stored);
    this.counters.inc("kam_ingest_duplicates_total", {}, r.duplicates);
    this.counters.inc("kam_ingest_commit_ms_total", {}, performance.now() - t0);
    node.view = view;
    for (const c of r.configs) this.store.applyConfig(node, c);
    for (const v of r.vips.sort((a, b) => a.ts - b.ts)) this.store.applyVips(node, v.addresses);
    for (const s of r.stateChanges) this.store.applyState(node, s.instance, s.state, s.ts.getTime());
    for (const l of r.logs) {
      if (l.event?.type === "priority") this.store.applyPriority(node, l.event.instance, l.event.to);
    }
    this.store.touch(node, Date.now());
    if (r.stored > 0) this.markDirty(cluster.name);
    return r;
  }

  heartbeat(d: AgentSocketData, hb: Heartbeat) {
    const { cluster, node } = this.where(d);
    const now = Date.now();
    const wasOnline = this.store.isOnline(node, now);
    this.store.touch(node, now);
    if (!wasOnline) this.markDirty(cluster.name);
    // persist liveness at most every 5 s per node; never blocks the socket
    const last = this.lastSeenWrites.get(node.id) ?? 0;
    if (now - last >= 5000) {
      this.lastSeenWrites.set(node.id, now);
      const skewMs = Math.round(hb.ts - now);
      Promise.all([
        this.db.node.update({ where: { id: node.id }, data: { lastSeenAt: new Date(now) } }),
        this.db.agent.update({ where: { id: d.agentId }, data: { lastSeenAt: new Date(now), skewMs } }),
      ]).catch((e: unknown) => this.log.warn({ err: e }, "could not record agent liveness"));
    }
  }

  agentConnected(d: AgentSocketData, connected: boolean) {
    const { cluster, node } = this.where(d);
    node.connected = connected;
    if (connected) this.store.touch(node, Date.now());
    this.markDirty(cluster.name);
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

  /** Called every second: pushes clusters whose nodes went offline (or back) by the clock alone. */
  tick(now = Date.now()) {
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
