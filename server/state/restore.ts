/** Rebuilds the in-memory cluster picture from the database at start. */
import type { Db } from "../db/database";
import type { ConfigInstance, HeldAddress } from "../protocol";
import type { ClusterStore } from "./cluster-state";

export async function restoreState(db: Db, store: ClusterStore): Promise<void> {
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
  const configs = (await db.$queryRawUnsafe(
    `SELECT DISTINCT ON (node_id) node_id, hash, instances, ts FROM config_snapshot ORDER BY node_id, ts DESC, id DESC`,
  )) as { node_id: number; hash: string; instances: ConfigInstance[]; ts: Date }[];
  for (const r of configs) {
    const n = byNodeId.get(r.node_id);
    if (n) store.applyConfig(n, { hash: r.hash, instances: r.instances, ts: r.ts.getTime() });
  }
  const vips = (await db.$queryRawUnsafe(
    `SELECT DISTINCT ON (node_id) node_id, addresses FROM vip_observation ORDER BY node_id, ts DESC, id DESC`,
  )) as { node_id: number; addresses: HeldAddress[] }[];
  for (const r of vips) {
    const n = byNodeId.get(r.node_id);
    if (n) store.applyVips(n, r.addresses);
  }
  // newest state per (node, instance); a node-wide STOP is stored as instance "*"
  const latest = (await db.$queryRawUnsafe(
    `SELECT DISTINCT ON (node_id, instance) node_id, instance, state, ts
     FROM state_change ORDER BY node_id, instance, ts DESC, id DESC`,
  )) as { node_id: number; instance: string; state: string; ts: Date }[];
  // apply in time order so a node-wide STOP and later per-instance states resolve correctly
  latest.sort((a, b) => a.ts.getTime() - b.ts.getTime());
  for (const r of latest) if (r.instance !== "*") byNodeId.get(r.node_id)?.view.instances.add(r.instance);
  for (const r of latest) {
    const n = byNodeId.get(r.node_id);
    if (!n) continue;
    store.applyState(n, r.instance, r.state, r.ts.getTime());
    if (r.instance === "*") for (const name of n.view.instances) n.view.last.set(name, r.state);
    else n.view.last.set(r.instance, r.state);
  }
}
