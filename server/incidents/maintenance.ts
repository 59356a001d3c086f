/**
 * Maintenance windows: incidents opened inside one are recorded, not notified.
 * Transport-free: used by POST/DELETE /api/maintenance (server/http/routes/).
 */
import type { Db } from "../db/database";
import type { ClusterScope } from "../auth/scope";

export interface MaintenanceWindowJson {
  id: number;
  cluster: string;
  from: string;
  to: string;
  reason: string;
  createdBy: string;
}

/** a window from `from` (default now) to `to`, or for `minutes` */
export interface NewWindow {
  cluster: string;
  from?: string;
  to?: string;
  minutes?: number;
  reason?: string;
}

export type AddResult = { ok: true; window: MaintenanceWindowJson } | { ok: false; code: "not_found" | "invalid_message"; message: string };

/** a window on a cluster in `scope` (outside it: not_found, as for a cluster that does not exist) */
export async function addMaintenanceWindow(db: Db, m: NewWindow, createdBy: string, scope: ClusterScope, now = new Date()): Promise<AddResult> {
  const c = await db.cluster.findFirst({ where: { AND: [{ name: m.cluster }, scope.onCluster()] } });
  if (!c) return { ok: false, code: "not_found", message: `no cluster "${m.cluster}"` };
  const from = m.from ? new Date(m.from) : now;
  const to = m.to ? new Date(m.to) : new Date(from.getTime() + (m.minutes ?? 0) * 60_000);
  if (to <= from) return { ok: false, code: "invalid_message", message: "the window must end after it starts" };
  const w = await db.maintenanceWindow.create({ data: { clusterId: c.id, startsAt: from, endsAt: to, reason: m.reason ?? "", createdAt: now, createdBy } });
  return {
    ok: true,
    window: { id: w.id, cluster: c.name, from: w.startsAt.toISOString(), to: w.endsAt.toISOString(), reason: w.reason, createdBy: w.createdBy },
  };
}

/** false when there is no such window in the scope */
export async function removeMaintenanceWindow(db: Db, id: number, scope: ClusterScope): Promise<boolean> {
  return (await db.maintenanceWindow.deleteMany({ where: { id, ...scope.onRelated() } })).count > 0;
}
