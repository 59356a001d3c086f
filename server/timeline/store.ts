/**
 * Database side of the timeline and log endpoints: a handful of set-based,
 * parameterised queries on the (cluster_id, ts), (node_id, instance, ts) and
 * (node_id, ts) indexes, never one query per row. The shaping is done by the
 * pure functions of lanes.ts.
 */
import { z } from "zod";
import { sqlOf, type Db } from "../db/database";
import { firstChecked, pgRows, queryRows } from "../db/rows";
import { ConfigInstance, HeldAddress, IncidentMsg } from "../protocol";
import { incidentListSql } from "../incidents/incident-store";
import { SEEN_EVERY_MS } from "../incidents/facts";
import { gapsOf, gapsSql, RawGaps } from "./gaps";
import { assembleLanes, type NodeInput, type StateRow } from "./lanes";
import type { LogQuery, TimelineQuery } from "./query";
import { TIMELINE_LIMITS, type LogLine, type TimelineResponse } from "./types";
import { vipAddress, type VipChange } from "./vips";

const iso = (ms: number) => new Date(ms).toISOString();
/** epoch ms of a timestamptz column, as a plain number */
const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

const IdRow = z.object({ id: z.number() });

async function clusterId(db: Db, name: string): Promise<number | null> {
  const rows = await pgRows(sqlOf(db), "timeline.cluster-id", IdRow, `SELECT id FROM cluster WHERE name = $1`, [name]);
  return rows[0]?.id ?? null;
}

/**
 * Everything a timeline needs, in ONE statement on the pg pool (no Prisma:
 * its CPU per call was most of the route's cost), each part a JSON array:
 *
 * - nodes: with their first session ever and their newest config as of `to`
 *   (else their first one);
 * - before: the last state_change before `from` of every (node, instance):
 *   the distinct pairs by a loose index scan (a recursive walk of the
 *   (node_id, instance, ts) index, one probe per pair), then one index probe
 *   per pair for its newest row; cost grows with the number of instances,
 *   not with the length of the history;
 * - rows: the state changes inside the range;
 * - sessions overlapping [from - offline limit, to];
 * - vips: VIP observations, the newest one before `from` (the state at the
 *   start) and those inside the range, in time order; repeats are dropped in
 *   vipChangesOf (which keeps a change of the configured VIPs held: a window
 *   lag here dropping equal address lists cost 12 of the statement's 58 ms
 *   on the 7-day bench and saved little: the server stores VIP reports on
 *   change, and hourly);
 * - incidents overlapping the range (API shape), at most $5;
 * - data gaps whose lost span overlaps the range (gaps.ts).
 *
 * $1 cluster name, $2 from, $3 to, $4 sessions from, $5 incident limit.
 * Without evidence, each incident's cause.evidence is an empty array.
 */
const timelineSql = (evidence: boolean) => `WITH RECURSIVE
 cl AS (SELECT id FROM cluster WHERE name = $1),
 nd AS (SELECT n.id, n.name FROM node n WHERE n.cluster_id = (SELECT id FROM cl)),
 p(node_id, instance) AS (
   (SELECT s.node_id, s.instance FROM state_change s
     WHERE s.node_id >= (SELECT min(id) FROM nd) AND s.node_id <= (SELECT max(id) FROM nd) ORDER BY s.node_id, s.instance LIMIT 1)
   UNION ALL
   SELECT x.node_id, x.instance FROM p CROSS JOIN LATERAL (
     SELECT s.node_id, s.instance FROM state_change s
      WHERE (s.node_id, s.instance) > (p.node_id, p.instance) AND s.node_id <= (SELECT max(id) FROM nd)
      ORDER BY s.node_id, s.instance LIMIT 1) x),
 obs AS (
   SELECT v.id, v.node_id, v.ts, v.addresses FROM vip_observation v
    WHERE v.cluster_id = (SELECT id FROM cl) AND v.ts >= $2::timestamptz AND v.ts < $3::timestamptz
   UNION ALL
   SELECT b.id, b.node_id, b.ts, b.addresses FROM nd CROSS JOIN LATERAL (
     SELECT v.id, v.node_id, v.ts, v.addresses FROM vip_observation v
      WHERE v.node_id = nd.id AND v.ts < $2::timestamptz ORDER BY v.ts DESC, v.id DESC LIMIT 1) b)
SELECT (SELECT id FROM cl) AS cid,
 (SELECT json_agg(json_build_array(n.id, n.name,
    (SELECT ${ms("s.connected_at")} FROM agent_session s WHERE s.node_id = n.id ORDER BY s.connected_at LIMIT 1),
    COALESCE(
      (SELECT c.instances FROM config_snapshot c
        WHERE c.cluster_id = (SELECT id FROM cl) AND c.node_id = n.id AND c.ts <= $3::timestamptz ORDER BY c.ts DESC, c.id DESC LIMIT 1),
      (SELECT c.instances FROM config_snapshot c
        WHERE c.cluster_id = (SELECT id FROM cl) AND c.node_id = n.id ORDER BY c.ts, c.id LIMIT 1))) ORDER BY n.id) FROM nd n) AS nodes,
 (SELECT json_agg(json_build_array(p.node_id, p.instance, l.vrid, l.state, l.t))
    FROM p CROSS JOIN LATERAL (
      SELECT s.vrid, s.state, ${ms("s.ts")} AS t FROM state_change s
       WHERE s.node_id = p.node_id AND s.instance = p.instance AND s.ts < $2::timestamptz
       ORDER BY s.ts DESC, s.id DESC LIMIT 1) l
   WHERE p.node_id IN (SELECT id FROM nd)) AS before,
 (SELECT json_agg(json_build_array(s.node_id, s.instance, s.vrid, s.state, ${ms("s.ts")}) ORDER BY s.ts, s.id) FROM state_change s
   WHERE s.cluster_id = (SELECT id FROM cl) AND s.ts >= $2::timestamptz AND s.ts < $3::timestamptz) AS rows,
 (SELECT json_agg(json_build_array(s.node_id, ${ms("s.connected_at")}, ${ms("s.last_seen_at")}, ${ms("s.disconnected_at")})) FROM agent_session s
   WHERE s.cluster_id = (SELECT id FROM cl) AND s.last_seen_at >= $4::timestamptz AND s.connected_at <= $3::timestamptz) AS sessions,
 (SELECT json_agg(json_build_array(o.node_id, ${ms("o.ts")}, o.addresses) ORDER BY o.ts, o.id) FROM obs o) AS vips,
 (${incidentListSql({ cluster: "$1", kind: "NULL", open: "NULL", to: "$3::timestamptz", from: "$2::timestamptz", limit: "$5", scope: "NULL", evidence, clusterId: "(SELECT id FROM cl)" })}) AS incidents,
 (${gapsSql({ cluster: "$1", from: "$2::timestamptz", to: "$3::timestamptz" })}) AS gaps`;
/** the timeline's statement with the incidents' evidence, and without (?evidence=none) */
const TIMELINE_SQL = { full: timelineSql(true), none: timelineSql(false) } as const;

/** a state change: [node id, instance, vrid, state, ts] */
const StateTuple = z.tuple([z.number(), z.string(), z.number().nullable(), z.string(), z.number()]);
type StateTuple = z.infer<typeof StateTuple>;
/** a VIP observation: [node id, ts, addresses] */
const VipTuple = z.tuple([z.number(), z.number(), z.array(HeldAddress).nullable()]);

/**
 * TIMELINE_SQL's one row. The timeline is a hot path: the arrays that grow
 * with the range (before, rows, sessions, vips, incidents) are checked by
 * their FIRST element only (they are built by one SQL expression each).
 * Parsing 10,000 state rows in full cost 1.2 to 8 ms of CPU on the 2-core
 * reference machine, 2,001 incidents 2.4 to 3 ms, against 2.3 ms for the whole
 * 24 h timeline; the first element alone, 0.2 ms (bench/experiments/row-parse.ts).
 * The row itself, the nodes (a few, with their config) and the gaps (at most
 * MAX_GAPS + 1) are parsed in full.
 */
const TimelineRow = z.object({
  cid: z.number().nullable(),
  nodes: z.array(z.tuple([z.number(), z.string(), z.number().nullable(), z.array(ConfigInstance).nullable()])).nullable(),
  before: firstChecked(StateTuple).nullable(),
  rows: firstChecked(StateTuple).nullable(),
  sessions: firstChecked(z.tuple([z.number(), z.number(), z.number(), z.number().nullable()])).nullable(),
  vips: firstChecked(VipTuple).nullable(),
  incidents: firstChecked(IncidentMsg),
  gaps: RawGaps,
});

/** The configured VIPs a node held at each change of its observations (repeats of that dropped). */
function vipChangesOf(rows: z.infer<typeof VipTuple>[], wanted: Map<number, Set<string>>) {
  const out = new Map<number, VipChange[]>();
  const lastKey = new Map<number, string>();
  // one pass per observation, no intermediate arrays: 10,000 in a 7-day range
  for (const [nodeId, t, addresses] of rows) {
    const want = wanted.get(nodeId);
    if (!want) continue;
    const held: string[] = [];
    for (const a of addresses ?? []) {
      const x = a.address.toLowerCase();
      if (want.has(x) && !held.includes(x)) held.push(x);
    }
    held.sort();
    const key = held.join(",");
    if (lastKey.get(nodeId) === key) continue;
    lastKey.set(nodeId, key);
    const list = out.get(nodeId);
    if (list) list.push({ ts: t, held });
    else out.set(nodeId, [{ ts: t, held }]);
  }
  return out;
}

/** GET /api/clusters/:name/timeline; null when the cluster is unknown. */
export async function loadTimeline(
  db: Db,
  q: TimelineQuery,
  o: {
    offlineMs: number;
    now?: number;
    /** node name -> when the running server last heard from it (the live picture), for the live end */
    lastSeen?: (node: string) => number | null | undefined;
  },
): Promise<TimelineResponse | null> {
  const now = o.now ?? Date.now();
  const [r] = await pgRows(sqlOf(db), "timeline", TimelineRow, TIMELINE_SQL[q.evidence ?? "full"], [
    q.cluster,
    iso(q.from),
    iso(q.to),
    iso(q.from - o.offlineMs),
    TIMELINE_LIMITS.maxIncidents + 1,
  ]);
  if (r.cid === null) return null;
  const nodes = (r.nodes ?? []).map(([id, name, trackedSince, instances]) => ({ id, name, trackedSince, instances }));
  const wanted = new Map<number, Set<string>>();
  for (const n of nodes) {
    const vips = new Set((n.instances ?? []).flatMap((i) => i.vips.map(vipAddress)));
    if (vips.size > 0) wanted.set(n.id, vips);
  }
  const stateRow = ([nodeId, instance, vrid, state, ts]: StateTuple): StateRow => ({ nodeId, instance, vrid, state, ts });
  const vipChanges = vipChangesOf(r.vips ?? [], wanted);
  const sessions = r.sessions ?? [];
  const incidents = r.incidents;
  const inputs: NodeInput[] = nodes.map((n) => ({
    id: n.id,
    name: n.name,
    config: n.instances,
    trackedSince: n.trackedSince,
    sessions: sessions.filter((s) => s[0] === n.id).map(([, c, l, d]) => ({ connectedAt: c, lastSeenAt: l, disconnectedAt: d })),
    vipChanges: vipChanges.get(n.id) ?? [],
    lastSeen: o.lastSeen?.(n.name),
  }));
  const lanes = assembleLanes({
    range: { from: q.from, to: q.to },
    now,
    width: q.width,
    offlineMs: o.offlineMs,
    persistSlackMs: SEEN_EVERY_MS,
    nodes: inputs,
    before: (r.before ?? []).map(stateRow),
    rows: (r.rows ?? []).map(stateRow),
  });
  const incidentsTruncated = incidents.length > TIMELINE_LIMITS.maxIncidents;
  return {
    from: iso(q.from),
    to: iso(q.to),
    now: iso(now),
    width: q.width,
    lanes,
    incidents: incidentsTruncated ? incidents.slice(0, TIMELINE_LIMITS.maxIncidents) : incidents,
    incidentsTruncated,
    gaps: gapsOf(r.gaps).gaps,
    ...(q.evidence === "none" ? { evidence: "none" as const } : {}),
  };
}

/** a log line as loadLogs selects it */
const LogRow = z.object({ node: z.string(), ts: z.date(), id: z.bigint(), line: z.string(), source: z.string() });

/** GET /api/clusters/:name/logs; null when the cluster (or the named node) is unknown. */
export async function loadLogs(db: Db, q: LogQuery): Promise<LogLine[] | null> {
  const cid = await clusterId(db, q.cluster);
  if (cid === null) return null;
  let nodeId: number | null = null;
  if (q.node !== null) {
    const n = await queryRows(db, "logs.node-id", IdRow, `SELECT id FROM node WHERE cluster_id = $1 AND name = $2`, [cid, q.node]);
    if (!n[0]) return null;
    nodeId = n[0].id;
  }
  const cols = `n.name AS node, l.ts, l.id, l.line, l.source`;
  const where = `l.cluster_id = $1 AND l.ts >= $2::timestamptz AND l.ts <= $3::timestamptz AND ($4::int IS NULL OR l.node_id = $4::int)`;
  let rows: z.infer<typeof LogRow>[];
  if (q.around === null) {
    rows = await queryRows(
      db,
      "logs.range",
      LogRow,
      `SELECT ${cols} FROM log_record l JOIN node n ON n.id = l.node_id WHERE ${where} ORDER BY l.ts, l.id LIMIT $5`,
      [cid, iso(q.from), iso(q.to), nodeId, q.limit],
    );
  } else {
    const before = Math.ceil(q.limit / 2);
    rows = await queryRows(
      db,
      "logs.around",
      LogRow,
      `(SELECT ${cols} FROM log_record l JOIN node n ON n.id = l.node_id
         WHERE ${where} AND l.ts <= $5::timestamptz ORDER BY l.ts DESC, l.id DESC LIMIT $6)
       UNION ALL
       (SELECT ${cols} FROM log_record l JOIN node n ON n.id = l.node_id
         WHERE ${where} AND l.ts > $5::timestamptz ORDER BY l.ts, l.id LIMIT $7)`,
      [cid, iso(q.from), iso(q.to), nodeId, iso(q.around), before, q.limit - before],
    );
    rows.sort((a, b) => a.ts.getTime() - b.ts.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return rows.map((r) => ({ node: r.node, at: r.ts.toISOString(), line: r.line, source: r.source }));
}
