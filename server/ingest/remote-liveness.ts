/**
 * The liveness of agents connected to OTHER replicas, from storage (issue 13):
 * every replica writes its agents' heartbeats to `agent_session` (liveness.ts);
 * this reads the sessions that moved in the last seconds, once a second, so
 * that (1) the live picture shows those nodes online (and connected or not)
 * and (2) the replica holding a cluster's detection lease gets their `seen` /
 * `disconnected` facts (AGENT_OFFLINE is decided from the database: an agent
 * on replica A never looks offline to the lease holder on B). The sessions
 * of this replica's own agents are skipped: liveness.ts feeds them directly.
 */
import { z } from "zod";
import type { AppContext } from "../app-context";
import { queryRows } from "../db/rows";
import type { LivePicture } from "../state/live-picture";
import type { Fact } from "../detect/types";

/** how often the stored sessions are read */
export const REMOTE_LIVENESS_POLL_MS = 1000;
/** how far back each read looks (overlapping reads: a write that committed late is still seen); a disconnect
 * moves last_seen_at to its own time (liveness.ts), so one indexed condition finds it too */
const LOOKBACK_MS = 10_000;

const SessionRow = z.object({
  id: z.coerce.bigint(),
  cluster_id: z.number(),
  node_id: z.number(),
  last_seen_at: z.date(),
  disconnected_at: z.date().nullable(),
  node: z.string(),
  cluster: z.string(),
  skew_ms: z.number().nullable(),
  version: z.string().nullable(),
});

interface Fed {
  seen: number;
  disconnected: boolean;
}

export class RemoteLiveness {
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  /** session id -> what was applied of it */
  private fed = new Map<bigint, Fed>();

  constructor(
    private app: AppContext,
    private picture: LivePicture,
    /** this replica's own sessions (liveness.ts) */
    private isLocal: (sessionId: bigint) => boolean,
    /**
     * when this replica started: older heartbeats are not fed (detection learns of this start from its
     * server_started fact, which gives agents alive then the offline limit from the start; an older `seen`
     * fed after it would take that back)
     */
    private since = Date.now(),
  ) {}

  start() {
    this.timer = setInterval(() => void this.poll(), REMOTE_LIVENESS_POLL_MS);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async poll(now = Date.now()): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const since = new Date(now - LOOKBACK_MS).toISOString();
      const rows = await queryRows(
        this.app.db,
        "liveness.remote",
        SessionRow,
        `SELECT s.id, s.cluster_id, s.node_id, s.last_seen_at, s.disconnected_at, n.name AS node, c.name AS cluster, a.skew_ms, a.version
           FROM agent_session s JOIN node n ON n.id = s.node_id JOIN cluster c ON c.id = s.cluster_id LEFT JOIN agent a ON a.id = s.agent_id
          WHERE s.last_seen_at >= $1::timestamptz
          ORDER BY s.last_seen_at`,
        [since],
      );
      const live = new Set<bigint>();
      for (const r of rows) {
        live.add(r.id);
        if (this.isLocal(r.id)) continue;
        this.apply(r);
      }
      for (const id of this.fed.keys()) if (!live.has(id)) this.fed.delete(id);
    } catch (err) {
      this.app.log.warn({ err }, "liveness of other replicas' agents: read failed (retried in 1 s)");
    } finally {
      this.reading = false;
    }
  }

  private apply(r: z.infer<typeof SessionRow>) {
    const prev = this.fed.get(r.id);
    const seen = r.last_seen_at.getTime();
    const gone = r.disconnected_at !== null;
    if (prev && prev.seen >= seen && prev.disconnected === gone) return;
    this.fed.set(r.id, { seen, disconnected: gone });
    const { cluster, node } = this.picture.where({ clusterId: r.cluster_id, cluster: r.cluster, nodeId: r.node_id, node: r.node });
    const store = this.picture.store;
    store.touch(node, seen);
    // only the node's newest session says whether it is connected: an older one ending (the agent moved to
    // another replica) says nothing, and its disconnect is not fed either
    const newest = node.lastSeen === seen;
    if (newest) node.connected = !gone;
    if (newest && r.version !== null) node.agentVersion = r.version;
    if (r.skew_ms !== null) node.skewMs = r.skew_ms;
    this.picture.markDirty(cluster.name);
    const facts: Fact[] = [];
    if ((!prev || seen > prev.seen) && seen >= this.since) facts.push({ kind: "seen", node: node.name, ts: seen });
    if (gone && !prev?.disconnected && newest && r.disconnected_at!.getTime() >= this.since) facts.push({ kind: "disconnected", node: node.name, ts: r.disconnected_at!.getTime() });
    if (facts.length) this.app.bus.emit("factsCommitted", { clusterId: cluster.id, cluster: cluster.name, facts });
  }
}
