/**
 * Persistence and API shape of incidents. The detectors identify an incident
 * by a stable key; storing is an upsert on that key, so the live run, a
 * restart and a replay never duplicate an incident.
 */
import { z } from "zod";
import { sqlOf, type Db } from "../db/database";
import { parseRows, pgRows, queryRows } from "../db/rows";
import type { Incident, IncidentKind } from "../detect/types";
import type { ClusterScope } from "../auth/scope";
import { IncidentMsg } from "../protocol";

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
  followsId?: bigint | null;
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
    ...(r.followsId != null ? { follows: String(r.followsId) } : {}),
  };
}

/** Acknowledges an incident (the first acknowledgement stays); null when there is no such incident in the scope. */
export async function acknowledgeIncident(db: Db, id: bigint, by: string, scope: ClusterScope, now = new Date()): Promise<ApiIncident | null> {
  await db.incident.updateMany({ where: { id, ackedAt: null, ...scope.onRelated() }, data: { ackedAt: now, ackedBy: by } });
  return getIncident(db, id, scope);
}

/** what the upsert returns: the row's id, whether it is silenced, whether it was inserted (xmax = 0), what it follows */
const UpsertRow = z.object({ id: z.bigint(), silenced: z.boolean(), created: z.boolean(), follows_id: z.bigint().nullable() });

/** an incident write refused: the replica's detection lease of the cluster was taken over (its epoch bumped) */
export class FencedError extends Error {
  constructor(readonly clusterId: number, readonly epoch: bigint) {
    super(`incident write refused: the detection lease of cluster ${clusterId} (epoch ${epoch}) was taken by another replica`);
    this.name = "FencedError";
  }
}

/**
 * Insert or update by key in ONE statement (this is on the path from the
 * deciding event to the live push). `silenced` is decided at insert: an
 * incident opened inside a maintenance window of its cluster (for its VRID, when the window names one) stays silenced.
 * `epoch`: the fencing token of the cluster's detection lease this replica holds (leases.ts); the write happens
 * only while detection_lease still has it, the lease row share-locked until the commit, so a replica taking the
 * lease over (bumping the epoch) waits for a write in flight and refuses every later one. null: no leases (the
 * embedded database, one process).
 */
export async function upsertIncident(
  db: Db, clusterId: number, inc: Incident, now = new Date(), epoch: bigint | null = null,
): Promise<{ id: bigint; created: boolean; silenced: boolean; follows: bigint | null }> {
  const rows = await queryRows(
    db,
    "incident.upsert",
    UpsertRow,
    `WITH lease AS (SELECT 1 FROM detection_lease WHERE cluster_id = $1 AND epoch = $15::bigint FOR SHARE)
     INSERT INTO incident (cluster_id, kind, severity, vrid, instances, nodes, opened_at, closed_at, cause_code, cause_summary,
                           evidence, dedup_key, silenced, updated_at, follows_id)
     SELECT $1, $2, $3, $4, $5::jsonb, $6::text[], $7::timestamptz, $8::timestamptz, $9, $10, $11::jsonb, $12,
             EXISTS (SELECT 1 FROM maintenance_window w WHERE w.cluster_id = $1 AND w.starts_at <= $13::timestamptz AND w.ends_at > $13::timestamptz
                     AND (w.vrid IS NULL OR w.vrid = $4::int)),
             $13::timestamptz, (SELECT p.id FROM incident p WHERE p.dedup_key = $14::text)
      WHERE $15::bigint IS NULL OR EXISTS (SELECT 1 FROM lease)
     ON CONFLICT (dedup_key) DO UPDATE SET
       severity = EXCLUDED.severity, vrid = EXCLUDED.vrid, instances = EXCLUDED.instances, nodes = EXCLUDED.nodes,
       opened_at = EXCLUDED.opened_at, closed_at = EXCLUDED.closed_at, cause_code = EXCLUDED.cause_code,
       cause_summary = EXCLUDED.cause_summary, evidence = EXCLUDED.evidence, updated_at = EXCLUDED.updated_at
     RETURNING id, silenced, (xmax = 0) AS created, follows_id`,
    [
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
      inc.follows ?? null,
      epoch === null ? null : epoch.toString(),
    ],
  );
  const r = rows[0];
  if (!r) throw new FencedError(clusterId, epoch ?? 0n);
  return { id: r.id, silenced: r.silenced, created: r.created, follows: r.follows_id };
}

/** The API shape of an incident the engine just produced (no read back). */
export function apiFromEngine(inc: Incident, id: bigint, cluster: string, silenced: boolean, follows: bigint | null = null): ApiIncident {
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
    ...(follows != null ? { follows: String(follows) } : {}),
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

/** ISO-8601 UTC with milliseconds, as Date#toISOString writes it */
const isoSql = (col: string) => `to_char((${col}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The incidents matching a filter, in the API shape built by PostgreSQL
 * (json_build_object), newest first, as one JSON array value. Each filter is a
 * SQL expression (a parameter, or NULL for none). Evidence times are epoch ms
 * in storage (possibly fractional: journald is µs; an ISO string is read as a
 * time too), shown like toISOString (whole ms).
 */
export function incidentListSql(f: {
  cluster: string;
  kind: string;
  open: string;
  to: string;
  from: string;
  limit: string;
  scope: string;
  /** false: cause.evidence is an empty array (the timeline's brief list; GET /api/incidents/:id has the lines) */
  evidence?: boolean;
  /**
   * the cluster's id as an SQL expression, when the caller knows it: the newest incidents are then read
   * backwards on the (cluster_id, opened_at) index up to the limit, instead of sorting all of the range's
   */
  clusterId?: string;
}): string {
  const evidence = f.evidence === false
    ? `'[]'::json`
    : `(
      SELECT coalesce(json_agg(json_build_object(
        'node', e->'node',
        'at', CASE WHEN jsonb_typeof(e->'at') = 'number' THEN ${isoSql("to_timestamp(0) + floor((e->>'at')::float8) * interval '1 millisecond'")}
                   ELSE ${isoSql("(e->>'at')::timestamptz")} END,
        'line', e->'line', 'kind', e->'kind') ORDER BY o), '[]')
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(i.evidence) = 'array' THEN i.evidence ELSE '[]'::jsonb END)
        WITH ORDINALITY AS ev(e, o))`;
  const obj = `json_build_object(
    'id', i.id::text, 'cluster', c.name, 'kind', i.kind, 'severity', i.severity, 'vrid', i.vrid,
    'instances', coalesce(i.instances, '{}'::jsonb), 'nodes', i.nodes,
    'openedAt', ${isoSql("i.opened_at")}, 'closedAt', ${isoSql("i.closed_at")}, 'silenced', i.silenced,
    'cause', json_build_object('code', i.cause_code, 'summary', i.cause_summary, 'evidence', ${evidence}))`;
  return `SELECT coalesce(json_agg(x.j ORDER BY x.opened_at DESC, x.id DESC), '[]') FROM (
  SELECT i.id, i.opened_at, CASE WHEN i.follows_id IS NULL THEN ${obj} ELSE (${obj}::jsonb || jsonb_build_object('follows', i.follows_id::text))::json END AS j
  FROM incident i JOIN cluster c ON c.id = i.cluster_id
  WHERE (${f.cluster}::text IS NULL OR c.name = ${f.cluster}) AND (${f.kind}::text IS NULL OR i.kind = ${f.kind})${f.clusterId ? `
    AND i.cluster_id = ${f.clusterId}` : ""}
    AND (${f.scope}::text[] IS NULL OR c.name = ANY(${f.scope}::text[]))
    AND (${f.open}::boolean IS NULL OR (i.closed_at IS NULL) = ${f.open})
    AND (${f.to}::timestamptz IS NULL OR i.opened_at <= ${f.to})
    AND (${f.from}::timestamptz IS NULL OR i.closed_at IS NULL OR i.closed_at >= ${f.from})
  ORDER BY i.opened_at DESC, i.id DESC LIMIT ${f.limit}) x`;
}

const LIST_SQL = `SELECT (${incidentListSql({ cluster: "$1", kind: "$2", open: "$3", to: "$4", from: "$5", limit: "$6", scope: "$7" })})::text AS list`;
/** the list as JSON text (coalesced to '[]': never null) */
const ListRow = z.object({ list: z.string() });

/**
 * GET /api/incidents as JSON text, straight from PostgreSQL (no Prisma, no
 * re-serialization: the list of 500 incidents with their evidence was the
 * route's main cost). Only the incidents of clusters in `scope`.
 */
export async function listIncidentsJson(db: Db, q: IncidentQuery, scope: ClusterScope): Promise<string> {
  const [r] = await pgRows(sqlOf(db), "incident.list", ListRow, LIST_SQL, [
    q.cluster ?? null,
    q.kind ?? null,
    q.open ?? null,
    // overlapping the range: opened before its end, and not closed before its start
    q.to?.toISOString() ?? null,
    q.from?.toISOString() ?? null,
    Math.min(q.limit ?? 500, 5000),
    scope.sqlNames(),
  ]);
  return r.list;
}

/** The same list, parsed (the JSON's elements checked against the API shape). */
export async function listIncidents(db: Db, q: IncidentQuery, scope: ClusterScope): Promise<ApiIncident[]> {
  const [list] = parseRows("incident.list", z.array(IncidentMsg), [JSON.parse(await listIncidentsJson(db, q, scope))]);
  return list;
}

/** one incident; null when there is none, or when its cluster is outside the scope */
export async function getIncident(db: Db, id: bigint, scope: ClusterScope): Promise<ApiIncident | null> {
  const row = await db.incident.findFirst({ where: { id, ...scope.onRelated() }, include: { cluster: { select: { name: true } } } });
  return row ? toApi(row) : null;
}
