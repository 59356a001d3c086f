/**
 * The live picture: every cluster's current state in memory (ClusterStore),
 * restored from storage at start and updated by ingest and liveness. When a
 * cluster's picture changes it publishes `summaryChanged` on the bus (the
 * changes of one tick coalesced), which the /live namespace pushes to the
 * browsers; GET /api/clusters and the pages read it.
 */
import type { AppContext } from "../app-context";
import type { AgentSocketData } from "../ingest/agent-namespace";
import type { ClusterSummary } from "../protocol";
import { ClusterStore, type ClusterState, type NodeState } from "./cluster-state";

export class LivePicture {
  readonly store: ClusterStore;
  readonly offlineMs: number;
  private dirty = new Set<string>();
  private flushScheduled = false;
  private lastOnline = new Map<string, boolean>();

  constructor(private app: AppContext) {
    this.offlineMs = app.settings.offlineMs;
    this.store = new ClusterStore(this.offlineMs);
    // detection stored a change: the cluster's open count is part of its picture
    app.bus.on("openIncidents", ({ cluster, open }) => {
      const c = this.store.clusters.get(cluster);
      if (c && c.openIncidents !== open) {
        c.openIncidents = open;
        this.markDirty(cluster);
      }
    });
  }

  /** the cluster and node an authenticated agent speaks for (created on first use) */
  where(d: Pick<AgentSocketData, "clusterId" | "cluster" | "nodeId" | "node">): { cluster: ClusterState; node: NodeState } {
    const cluster = this.store.cluster(d.clusterId, d.cluster);
    return { cluster, node: this.store.node(cluster, d.nodeId, d.node) };
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
      if (c) this.app.bus.emit("summaryChanged", this.store.summary(c, now));
    }
    this.dirty.clear();
  }

  /** nodes going offline (or back) by the clock alone: called every few hundred ms */
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

  /** when this picture last heard from each node of a cluster (exact, unlike stored liveness) */
  lastSeen(cluster: string): (node: string) => number | null | undefined {
    const c = this.store.clusters.get(cluster);
    return (node) => (c ? (c.nodes.get(node)?.lastSeen ?? undefined) : undefined);
  }
}
