/**
 * Reads what the statistics need from the history store and hands it to the pure computation.
 * One cluster at a time: its incidents overlapping the range, its state changes inside the range,
 * and the newest state rows before the range (who was MASTER when the range starts).
 */
import { z } from "zod";
import type { Db } from "../db/database";
import type { ClusterScope } from "../auth/scope";
import { queryRows } from "../db/rows";
import { computeClusterStats } from "./compute";
import type { StateRow } from "./failovers";
import type { StatsQuery } from "./query";
import type { ClusterStats, StatsResponse } from "./types";
import { computeReport, type ReportInput, type ReportResponse } from "./report";

/** a state_change row as the three queries below select it */
const Raw = z.object({ node_id: z.number(), instance: z.string(), vrid: z.number().nullable(), state: z.string(), ts: z.date(), id: z.bigint() });
type Raw = z.infer<typeof Raw>;

const toRow = (r: Raw): StateRow => ({
  node: String(r.node_id),
  instance: r.instance,
  vrid: r.vrid,
  state: r.state,
  ts: r.ts.getTime(),
  seq: Number(r.id),
});

/** what the statistics and the report of one cluster over [from, to] are computed from */
export async function loadClusterInput(db: Db, cluster: { id: number; name: string }, from: number, to: number, now: number): Promise<ReportInput> {
  const fromIso = new Date(from).toISOString();
  const toIso = new Date(to).toISOString();
  const incidents = await db.incident.findMany({
    where: {
      clusterId: cluster.id,
      openedAt: { lte: new Date(to) },
      OR: [{ closedAt: null }, { closedAt: { gte: new Date(from) } }],
    },
    select: { kind: true, severity: true, vrid: true, instances: true, openedAt: true, closedAt: true, causeCode: true },
  });
  const rows = await queryRows(
    db,
    "stats.states-in-range",
    Raw,
    `SELECT node_id, instance, vrid, state, ts, id FROM state_change
     WHERE cluster_id = $1 AND ts >= $2::timestamptz AND ts <= $3::timestamptz`,
    [cluster.id, fromIso, toIso],
  );
  // the newest row of every (node, instance) before the range, and the newest MASTER of every
  // virtual router (so "the previous MASTER" is known even when nobody was MASTER at the start)
  const latest = await queryRows(
    db,
    "stats.latest-before",
    Raw,
    `SELECT DISTINCT ON (node_id, instance) node_id, instance, vrid, state, ts, id FROM state_change
     WHERE cluster_id = $1 AND ts < $2::timestamptz ORDER BY node_id, instance, ts DESC, id DESC`,
    [cluster.id, fromIso],
  );
  const lastMasters = await queryRows(
    db,
    "stats.last-masters",
    Raw,
    `SELECT DISTINCT ON (COALESCE(vrid::text, instance)) node_id, instance, vrid, state, ts, id FROM state_change
     WHERE cluster_id = $1 AND ts < $2::timestamptz AND state = 'MASTER'
     ORDER BY COALESCE(vrid::text, instance), ts DESC, id DESC`,
    [cluster.id, fromIso],
  );
  const seen = new Set<bigint>();
  const before: StateRow[] = [];
  for (const r of [...latest, ...lastMasters]) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    before.push(toRow(r));
  }
  return {
    cluster: cluster.name,
    from,
    to,
    now,
    incidents: incidents.map((i) => ({
      kind: i.kind,
      severity: i.severity,
      vrid: i.vrid,
      instances: (i.instances as Record<string, string> | null) ?? {},
      openedAt: i.openedAt.getTime(),
      closedAt: i.closedAt ? i.closedAt.getTime() : null,
      causeCode: i.causeCode,
    })),
    before,
    rows: rows.map(toRow),
  };
}

/** Statistics of every cluster in the scope (or the one named); null when the named cluster does not exist or is outside the scope. */
export async function loadStats(db: Db, q: StatsQuery, now: number, scope: ClusterScope): Promise<StatsResponse | null> {
  const clusters = await db.cluster.findMany({
    where: { AND: [q.cluster ? { name: q.cluster } : {}, scope.onCluster()] },
    select: { id: true, name: true },
    orderBy: { name: "asc" },
  });
  if (q.cluster && clusters.length === 0) return null;
  const out: ClusterStats[] = [];
  // one after the other: the embedded database serves one connection
  for (const c of clusters) out.push(computeClusterStats(await loadClusterInput(db, c, q.from, q.to, now)));
  return { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), clusters: out };
}

/** The report of one cluster (server/stats/report.ts); null when it does not exist or is outside the scope. */
export async function loadReport(db: Db, cluster: string, from: number, to: number, now: number, scope: ClusterScope): Promise<ReportResponse | null> {
  const c = await db.cluster.findFirst({ where: { AND: [{ name: cluster }, scope.onCluster()] }, select: { id: true, name: true } });
  return c ? computeReport(await loadClusterInput(db, c, from, to, now)) : null;
}
