/**
 * Maintenance windows: incidents opened inside one are recorded, not notified.
 * Transport-free: used by the /api/maintenance routes (server/http/routes/) and `npm run admin -- maintenance`.
 */
import type { Db } from "../db/database";
import type { ClusterScope } from "../auth/scope";

export interface MaintenanceWindowJson {
  id: number;
  cluster: string;
  from: string;
  to: string;
  reason: string;
  /** only this VRID's incidents are silenced; null: the whole cluster */
  vrid: number | null;
  createdBy: string;
}

/** a window from `from` (default now) to `to`, or for `minutes` */
export interface NewWindow {
  cluster: string;
  from?: string;
  to?: string;
  minutes?: number;
  reason?: string;
  vrid?: number;
}

export type AddResult = { ok: true; window: MaintenanceWindowJson } | { ok: false; code: "not_found" | "invalid_message"; message: string };

/** a window on a cluster in `scope` (outside it: not_found, as for a cluster that does not exist) */
export async function addMaintenanceWindow(db: Db, m: NewWindow, createdBy: string, scope: ClusterScope, now = new Date()): Promise<AddResult> {
  const c = await db.cluster.findFirst({ where: { AND: [{ name: m.cluster }, scope.onCluster()] } });
  if (!c) return { ok: false, code: "not_found", message: `no cluster "${m.cluster}"` };
  const from = m.from ? new Date(m.from) : now;
  const to = m.to ? new Date(m.to) : new Date(from.getTime() + (m.minutes ?? 0) * 60_000);
  if (to <= from) return { ok: false, code: "invalid_message", message: "the window must end after it starts" };
  const w = await db.maintenanceWindow.create({ data: { clusterId: c.id, startsAt: from, endsAt: to, reason: m.reason ?? "", vrid: m.vrid ?? null, createdAt: now, createdBy } });
  return { ok: true, window: windowJson({ ...w, cluster: c }) };
}

type WindowRow = { id: number; startsAt: Date; endsAt: Date; reason: string; vrid: number | null; createdBy: string; cluster: { name: string } };

/** a window as the API and the audit log show it */
export const windowJson = (w: WindowRow): MaintenanceWindowJson => ({
  id: w.id, cluster: w.cluster.name, from: w.startsAt.toISOString(), to: w.endsAt.toISOString(), reason: w.reason, vrid: w.vrid, createdBy: w.createdBy,
});

/** the windows of the clusters in `scope`, newest start first; `cluster` narrows to one */
export async function listMaintenanceWindows(db: Db, scope: ClusterScope, q: { cluster?: string; limit?: number } = {}): Promise<MaintenanceWindowJson[]> {
  const rows = await db.maintenanceWindow.findMany({
    where: { AND: [scope.onRelated(), q.cluster ? { cluster: { name: q.cluster } } : {}] },
    include: { cluster: true },
    orderBy: [{ startsAt: "desc" }, { id: "desc" }],
    take: q.limit ?? 200,
  });
  return rows.map(windowJson);
}

/**
 * Ends a window now: a current one ends at `now`, one that has not started is cancelled (it ends where it
 * starts, so it silences nothing). Null when there is no such window in the scope, or it is over already.
 */
export async function endMaintenanceWindow(db: Db, id: number, scope: ClusterScope, now = new Date()): Promise<MaintenanceWindowJson | null> {
  const w = await db.maintenanceWindow.findFirst({ where: { id, ...scope.onRelated() } });
  if (!w || w.endsAt <= now) return null;
  const end = w.startsAt > now ? w.startsAt : now;
  const r = await db.maintenanceWindow.updateMany({ where: { id, endsAt: { gt: now } }, data: { endsAt: end } });
  if (r.count === 0) return null;
  return windowJson(await db.maintenanceWindow.findUniqueOrThrow({ where: { id }, include: { cluster: true } }));
}

/** false when there is no such window in the scope */
export async function removeMaintenanceWindow(db: Db, id: number, scope: ClusterScope): Promise<boolean> {
  return (await db.maintenanceWindow.deleteMany({ where: { id, ...scope.onRelated() } })).count > 0;
}
