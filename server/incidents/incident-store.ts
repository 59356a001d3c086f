/**
 * Persistence and API shape of incidents. The detectors identify an incident
 * by a stable key; storing is an upsert on that key, so the live run, a
 * restart and a replay never duplicate an incident.
 */
import type { Db } from "../db/database";
import type { Incident, IncidentKind } from "../detect/types";
import type { IncidentMsg } from "../protocol";

export type ApiIncident = IncidentMsg;

type Row = {
  id: bigint;
  kind: string;
  severity: string;
  vrid: number | null;
  instances: unknown;
  nodes: string[];
  openedAt: Date;
  closedAt: Date | null;
  causeCode: string;
  causeSummary: string;
  evidence: unknown;
  silenced: boolean;
  ackedAt?: Date | null;
  ackedBy?: string | null;
  cluster: { name: string };
};

export function toApi(r: Row): ApiIncident {
  const evidence = (r.evidence as { node: string; at: number; line: string; kind: string }[]) ?? [];
  return {
    id: String(r.id),
    cluster: r.cluster.name,
    kind: r.kind as IncidentKind,
    severity: r.severity as IncidentMsg["severity"],
    vrid: r.vrid,
    instances: (r.instances as Record<string, string>) ?? {},
    nodes: r.nodes,
    openedAt: r.openedAt.toISOString(),
    closedAt: r.closedAt ? r.closedAt.toISOString() : null,
    silenced: r.silenced,
    cause: {
      code: r.causeCode,
      summary: r.causeSummary,
      evidence: evidence.map((e) => ({ node: e.node, at: new Date(e.at).toISOString(), line: e.line, kind: e.kind })),
    },
    // extra fields only when acknowledged: the documented shape stays as it was
    ...(r.ackedAt ? { ackedAt: r.ackedAt.toISOString(), ackedBy: r.ackedBy ?? "" } : {}),
  };
}

/** Acknowledges an incident (the first acknowledgement stays); null when there is no such incident. */
export async function acknowledgeIncident(db: Db, id: bigint, by: string, now = new Date()): Promise<ApiIncident | null> {
  await db.incident.updateMany({ where: { id, ackedAt: null }, data: { ackedAt: now, ackedBy: by } });
  return getIncident(db, id);
}

/**
 * Insert or update by key in ONE statement (this is on the path from the
 * deciding event to the live push). `silenced` is decided at insert: an
 * incident opened inside a maintenance window of its cluster stays silenced.
 */
export async function upsertIncident(db: Db, clusterId: number, inc: Incident, now = new Date()): Promise<{ id: bigint; created: boolean; silenced: boolean }> {
  const rows = (await db.$queryRawUnsafe(
    `INSERT INTO incident (cluster_id, kind, severity, vrid, instances, nodes, opened_at, closed_at, cause_code, cause_summary,
                           evidence, dedup_key, silenced, updated_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::text[], $7::timestamptz, $8::timestamptz, $9, $10, $11::jsonb, $12,
             EXISTS (SELECT 1 FROM maintenance_window w WHERE w.cluster_id = $1 AND w.starts_at <= $13::timestamptz AND w.ends_at > $13::timestamptz),
             $13::timestamptz)
     ON CONFLICT (dedup_key) DO UPDATE SET
       severity = EXCLUDED.severity, vrid = EXCLUDED.vrid, instances = EXCLUDED.instances, nodes = EXCLUDED.nodes,
       opened_at = EXCLUDED.opened_at, closed_at = EXCLUDED.closed_at, cause_code = EXCLUDED.cause_code,
       cause_summary = EXCLUDED.cause_summary, evidence = EXCLUDED.evidence, updated_at = EXCLUDED.updated_at
     RETURNING id, silenced, (xmax = 0) AS created`,
    clusterId,
    inc.kind,
    inc.severity,
    inc.vrid,
    JSON.stringify(inc.instances),
    inc.nodes,
    new Date(inc.openedAt).toISOString(),
    inc.closedAt == null ? null : new Date(inc.closedAt).toISOString(),
    inc.cause.code,
    inc.cause.summary,
    JSON.stringify(inc.evidence),
    inc.key,
    now.toISOString(),
  )) as { id: bigint; silenced: boolean; created: boolean }[];
  return rows[0];
}

/** The API shape of an incident the engine just produced (no read back). */
export function apiFromEngine(inc: Incident, id: bigint, cluster: string, silenced: boolean): ApiIncident {
  return {
    id: String(id),
    cluster,
    kind: inc.kind,
    severity: inc.severity,
    vrid: inc.vrid,
    instances: inc.instances,
    nodes: inc.nodes,
    openedAt: new Date(inc.openedAt).toISOString(),
    closedAt: inc.closedAt == null ? null : new Date(inc.closedAt).toISOString(),
    silenced,
    cause: {
      code: inc.cause.code,
      summary: inc.cause.summary,
      evidence: inc.evidence.map((e) => ({ node: e.node, at: new Date(e.at).toISOString(), line: e.line, kind: e.kind })),
    },
  };
}

export interface IncidentQuery {
  cluster?: string;
  kind?: string;
  open?: boolean;
  from?: Date;
  to?: Date;
  limit?: number;
}

export async function listIncidents(db: Db, q: IncidentQuery): Promise<ApiIncident[]> {
  const rows = await db.incident.findMany({
    where: {
      ...(q.cluster ? { cluster: { name: q.cluster } } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.open === true ? { closedAt: null } : q.open === false ? { NOT: { closedAt: null } } : {}),
      // overlapping the range: opened before its end, and not closed before its start
      ...(q.to ? { openedAt: { lte: q.to } } : {}),
      ...(q.from ? { OR: [{ closedAt: null }, { closedAt: { gte: q.from } }] } : {}),
    },
    include: { cluster: { select: { name: true } } },
    orderBy: [{ openedAt: "desc" }, { id: "desc" }],
    take: Math.min(q.limit ?? 500, 5000),
  });
  return rows.map(toApi);
}

export async function getIncident(db: Db, id: bigint): Promise<ApiIncident | null> {
  const row = await db.incident.findUnique({ where: { id }, include: { cluster: { select: { name: true } } } });
  return row ? toApi(row) : null;
}
