/** Rebuilds the in-memory cluster picture from the database at start. */
import { z } from "zod";
import type { Db } from "../db/database";
import { queryRows, type RowShapeError } from "../db/rows";
import { ConfigInstance, HeldAddress } from "../protocol";
import type { ClusterStore } from "./cluster-state";

/** the agent's order of a record: its installation (uuid as text) and seq */
const Ordered = z.object({ node_id: z.number(), ts: z.date(), agent_id: z.string(), seq: z.bigint() });
const ConfigRow = Ordered.extend({ hash: z.string(), instances: z.array(ConfigInstance) });
const VipRow = Ordered.extend({ addresses: z.array(HeldAddress) });
const ProcessRow = Ordered.extend({ running: z.boolean(), event: z.string() });
/** a state change whose log line was pruned has no agent, seq nor first_seen_at */
const StateRow = z.object({
  node_id: z.number(),
  instance: z.string(),
  state: z.string(),
  ts: z.date(),
  agent_id: z.string().nullable(),
  seq: z.bigint().nullable(),
  first_seen_at: z.date().nullable(),
});
const AgentRow = z.object({ node_id: z.number(), skew_ms: z.number().nullable(), version: z.string() });

/**
 * `onReject`: a stored row that does not match its schema (written by an older version) is left out of the
 * picture and reported there (counted and logged by the caller) instead of keeping the server from starting.
 */
export async function restoreState(db: Db, store: ClusterStore, onReject: (e: RowShapeError) => void): Promise<void> {
  const clusters = await db.cluster.findMany({ include: { nodes: true } });
  const byNodeId = new Map<number, ReturnType<ClusterStore["node"]>>();
  for (const c of clusters) {
    const cs = store.cluster(c.id, c.name);
    for (const n of c.nodes) {
      const ns = store.node(cs, n.id, n.name);
      ns.lastSeen = n.lastSeenAt?.getTime() ?? null;
      byNodeId.set(n.id, ns);
    }
    cs.openIncidents = await db.incident.count({ where: { clusterId: c.id, closedAt: null } });
  }
  // newest by the agent's own order (see olderThan in cluster-state.ts): the newest agent
  // installation of the node, then its highest seq; node time only where that is unknown
  const configs = await queryRows(
    db,
    "restore.configs",
    ConfigRow,
    `SELECT DISTINCT ON (c.node_id) c.node_id, c.hash, c.instances, c.ts, c.agent_id::text AS agent_id, c.seq
     FROM config_snapshot c LEFT JOIN agent a ON a.id = c.agent_id
     ORDER BY c.node_id, a.first_seen_at DESC NULLS LAST, c.seq DESC, c.id DESC`,
    [],
    onReject,
  );
  for (const r of configs) {
    const n = byNodeId.get(r.node_id);
    if (n) store.applyConfig(n, { hash: r.hash, instances: r.instances, ts: r.ts.getTime(), order: { agentId: r.agent_id, seq: Number(r.seq) } });
  }
  const vips = await queryRows(
    db,
    "restore.vips",
    VipRow,
    `SELECT DISTINCT ON (v.node_id) v.node_id, v.addresses, v.ts, v.agent_id::text AS agent_id, v.seq
     FROM vip_observation v LEFT JOIN agent a ON a.id = v.agent_id
     ORDER BY v.node_id, a.first_seen_at DESC NULLS LAST, v.seq DESC, v.id DESC`,
    [],
    onReject,
  );
  for (const r of vips) {
    const n = byNodeId.get(r.node_id);
    if (n) store.applyVips(n, r.addresses, r.ts.getTime(), { agentId: r.agent_id, seq: Number(r.seq) });
  }
  // keepalived's process, newest per node by the same order
  const procs = await queryRows(
    db,
    "restore.processes",
    ProcessRow,
    `SELECT DISTINCT ON (p.node_id) p.node_id, p.running, p.event, p.ts, p.agent_id::text AS agent_id, p.seq
     FROM keepalived_process p LEFT JOIN agent a ON a.id = p.agent_id
     ORDER BY p.node_id, a.first_seen_at DESC NULLS LAST, p.seq DESC, p.id DESC`,
    [],
    onReject,
  );
  for (const r of procs) {
    const n = byNodeId.get(r.node_id);
    if (n) store.applyProcess(n, r, r.ts.getTime(), { agentId: r.agent_id, seq: Number(r.seq) });
  }
  // newest state per (node, instance); a node-wide STOP is stored as instance "*". A state
  // change whose log line was pruned (retention) has no seq: it ranks by node time after those that do.
  const latest = await queryRows(
    db,
    "restore.states",
    StateRow,
    `SELECT DISTINCT ON (sc.node_id, sc.instance) sc.node_id, sc.instance, sc.state, sc.ts, l.agent_id::text AS agent_id, l.seq,
            a.first_seen_at
     FROM state_change sc LEFT JOIN log_record l ON l.id = sc.log_record_id LEFT JOIN agent a ON a.id = l.agent_id
     ORDER BY sc.node_id, sc.instance, a.first_seen_at DESC NULLS LAST, l.seq DESC NULLS LAST, sc.ts DESC, sc.id DESC`,
    [],
    onReject,
  );
  // apply in the same order so a node-wide STOP and later per-instance states resolve correctly
  const rank = (r: (typeof latest)[number]) => [r.first_seen_at?.getTime() ?? -1, r.seq == null ? -1 : Number(r.seq), r.ts.getTime()];
  latest.sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  for (const r of latest) if (r.instance !== "*") byNodeId.get(r.node_id)?.view.instances.add(r.instance);
  for (const r of latest) {
    const n = byNodeId.get(r.node_id);
    if (!n) continue;
    const order = r.agent_id != null && r.seq != null ? { agentId: r.agent_id, seq: Number(r.seq) } : undefined;
    store.applyState(n, r.instance, r.state, r.ts.getTime(), order);
    if (r.instance === "*") for (const name of n.view.instances) n.view.last.set(name, r.state);
    else n.view.last.set(r.instance, r.state);
  }
  // the clock skew and version of each node's most recently seen agent (the query keeps its name of when it
  // read the skew alone: kam_db_rows_rejected_total{query} labels it)
  const agents = await queryRows(
    db,
    "restore.skews",
    AgentRow,
    `SELECT DISTINCT ON (node_id) node_id, skew_ms, version FROM agent ORDER BY node_id, last_seen_at DESC`,
    [],
    onReject,
  );
  for (const r of agents) {
    const n = byNodeId.get(r.node_id);
    if (!n) continue;
    n.skewMs = r.skew_ms;
    n.agentVersion = r.version;
  }
}
