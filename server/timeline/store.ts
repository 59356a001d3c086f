/**
 * Database side of the timeline and log endpoints: a handful of set-based,
 * parameterised queries on the (cluster_id, ts), (node_id, instance, ts) and
 * (node_id, ts) indexes, never one query per row. The shaping is done by the
 * pure functions of lanes.ts.
 */
import type { Db } from "../db/database";
import type { Hub } from "../hub";
import type { ConfigInstance } from "../protocol";
import { listIncidents } from "../incidents/incident-store";
import { SEEN_EVERY_MS } from "../incidents/facts";
import { assembleLanes, type NodeInput, type StateRow } from "./lanes";
import type { LogQuery, TimelineQuery } from "./query";
import { TIMELINE_LIMITS, type LogLine, type TimelineResponse } from "./types";
import { vipAddress, type VipChange } from "./vips";

const iso = (ms: number) => new Date(ms).toISOString();
/** epoch ms of a timestamptz column, as a plain number */
const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

/**
 * The hub's offline limit. The hub keeps it private; read it defensively, with
 * the documented default (15 s) as fallback.
 */
export function hubOfflineMs(hub: object): number {
  const v = (hub as { offlineMs?: unknown }).offlineMs;
  return typeof v === "number" && v > 0 ? v : 15_000;
}

/** When the hub's in-memory picture last heard from each node of a cluster (exact, unlike stored liveness). */
export function hubLastSeen(hub: Hub, cluster: string): (node: string) => number | null | undefined {
  const c = hub.store.clusters.get(cluster);
  return (node) => (c ? (c.nodes.get(node)?.lastSeen ?? undefined) : undefined);
}

async function clusterId(db: Db, name: string): Promise<number | null> {
  const rows = (await db.$queryRawUnsafe(`SELECT id FROM cluster WHERE name = $1`, name)) as { id: number }[];
  return rows[0]?.id ?? null;
}

interface NodeRow {
  id: number;
  name: string;
  tracked_since: number | null;
  instances: ConfigInstance[] | null;
}

/** Nodes with their first session ever and their newest config as of `to` (else their first one). */
function loadNodes(db: Db, cid: number, to: number): Promise<NodeRow[]> {
  return db.$queryRawUnsafe(
    `SELECT n.id, n.name,
       (SELECT ${ms("s.connected_at")} FROM agent_session s WHERE s.node_id = n.id ORDER BY s.connected_at LIMIT 1) AS tracked_since,
       COALESCE(
         (SELECT c.instances FROM config_snapshot c
           WHERE c.cluster_id = n.cluster_id AND c.node_id = n.id AND c.ts <= $2::timestamptz ORDER BY c.ts DESC, c.id DESC LIMIT 1),
         (SELECT c.instances FROM config_snapshot c
           WHERE c.cluster_id = n.cluster_id AND c.node_id = n.id ORDER BY c.ts, c.id LIMIT 1)) AS instances
     FROM node n WHERE n.cluster_id = $1 ORDER BY n.id`,
    cid,
    iso(to),
  ) as Promise<NodeRow[]>;
}

interface RawState {
  node_id: number;
  instance: string;
  vrid: number | null;
  state: string;
  t: number;
}

const toStateRow = (r: RawState): StateRow => ({ nodeId: r.node_id, instance: r.instance, vrid: r.vrid, state: r.state, ts: r.t });

/**
 * The last state_change before `from` of every (node, instance) of these
 * nodes: the distinct pairs by a loose index scan (a recursive walk of the
 * (node_id, instance, ts) index, one probe per pair), then one index probe per
 * pair for its newest row. Cost grows with the number of instances, not with
 * the length of the history.
 */
async function loadBefore(db: Db, nodeIds: number[], from: number): Promise<StateRow[]> {
  if (nodeIds.length === 0) return [];
  const rows = (await db.$queryRawUnsafe(
    `WITH RECURSIVE p(node_id, instance) AS (
       (SELECT s.node_id, s.instance FROM state_change s
         WHERE s.node_id >= $1 AND s.node_id <= $2 ORDER BY s.node_id, s.instance LIMIT 1)
       UNION ALL
       SELECT x.node_id, x.instance FROM p CROSS JOIN LATERAL (
         SELECT s.node_id, s.instance FROM state_change s
          WHERE (s.node_id, s.instance) > (p.node_id, p.instance) AND s.node_id <= $2
          ORDER BY s.node_id, s.instance LIMIT 1) x
     )
     SELECT p.node_id, p.instance, l.vrid, l.state, l.t
       FROM p CROSS JOIN LATERAL (
         SELECT s.vrid, s.state, ${ms("s.ts")} AS t FROM state_change s
          WHERE s.node_id = p.node_id AND s.instance = p.instance AND s.ts < $3::timestamptz
          ORDER BY s.ts DESC, s.id DESC LIMIT 1) l
      WHERE p.node_id = ANY($4::int[])`,
    Math.min(...nodeIds),
    Math.max(...nodeIds),
    iso(from),
    nodeIds,
  )) as RawState[];
  return rows.map(toStateRow);
}

async function loadRows(db: Db, cid: number, from: number, to: number): Promise<StateRow[]> {
  const rows = (await db.$queryRawUnsafe(
    `SELECT node_id, instance, vrid, state, ${ms("ts")} AS t FROM state_change
      WHERE cluster_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz ORDER BY ts, id`,
    cid,
    iso(from),
    iso(to),
  )) as RawState[];
  return rows.map(toStateRow);
}

interface RawSession {
  node_id: number;
  c: number;
  l: number;
  d: number | null;
}

function loadSessions(db: Db, cid: number, from: number, to: number): Promise<RawSession[]> {
  return db.$queryRawUnsafe(
    `SELECT node_id, ${ms("connected_at")} AS c, ${ms("last_seen_at")} AS l, ${ms("disconnected_at")} AS d
       FROM agent_session WHERE cluster_id = $1 AND last_seen_at >= $2::timestamptz AND connected_at <= $3::timestamptz`,
    cid,
    iso(from),
    iso(to),
  ) as Promise<RawSession[]>;
}

/**
 * VIP observations of these nodes: the newest one before `from` (the state at
 * the start) and those inside the range, only where the address list differs
 * from the node's previous observation (window lag), so the periodic repeats
 * never leave the database. What the lanes need (which of the node's
 * configured VIPs it held) is picked out here, and repeats of that dropped.
 */
async function loadVipChanges(db: Db, cid: number, wanted: Map<number, Set<string>>, from: number, to: number) {
  const out = new Map<number, VipChange[]>();
  const nodeIds = [...wanted.keys()];
  if (nodeIds.length === 0) return out;
  const rows = (await db.$queryRawUnsafe(
    `WITH obs AS (
       SELECT v.id, v.node_id, v.ts, v.addresses FROM vip_observation v
        WHERE v.cluster_id = $1 AND v.ts >= $2::timestamptz AND v.ts < $3::timestamptz AND v.node_id = ANY($4::int[])
       UNION ALL
       SELECT b.id, b.node_id, b.ts, b.addresses FROM unnest($4::int[]) AS n(id) CROSS JOIN LATERAL (
         SELECT v.id, v.node_id, v.ts, v.addresses FROM vip_observation v
          WHERE v.node_id = n.id AND v.ts < $2::timestamptz ORDER BY v.ts DESC, v.id DESC LIMIT 1) b
     )
     SELECT node_id, t, addresses FROM (
       SELECT node_id, ${ms("ts")} AS t, ts, id, addresses, lag(addresses) OVER (PARTITION BY node_id ORDER BY ts, id) AS prev FROM obs
     ) x WHERE prev IS NULL OR prev <> addresses
     ORDER BY node_id, ts, id`,
    cid,
    iso(from),
    iso(to),
    nodeIds,
  )) as { node_id: number; t: number; addresses: { address?: unknown }[] | null }[];
  for (const r of rows) {
    const want = wanted.get(r.node_id);
    if (!want) continue;
    const held = [...new Set((Array.isArray(r.addresses) ? r.addresses : []).map((a) => String(a?.address ?? "").toLowerCase()))]
      .filter((a) => want.has(a))
      .sort();
    const list = out.get(r.node_id) ?? [];
    const last = list[list.length - 1];
    if (!last || last.held.join(",") !== held.join(",")) list.push({ ts: r.t, held });
    out.set(r.node_id, list);
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
    /** node name -> when the running server last heard from it (the hub's picture), for the live end */
    lastSeen?: (node: string) => number | null | undefined;
  },
): Promise<TimelineResponse | null> {
  const now = o.now ?? Date.now();
  const cid = await clusterId(db, q.cluster);
  if (cid === null) return null;
  const nodes = await loadNodes(db, cid, q.to);
  const nodeIds = nodes.map((n) => n.id);
  const wanted = new Map<number, Set<string>>();
  for (const n of nodes) {
    const vips = new Set((n.instances ?? []).flatMap((i) => i.vips.map(vipAddress)));
    if (vips.size > 0) wanted.set(n.id, vips);
  }
  const [before, rows, sessions, vipChanges, incidents] = await Promise.all([
    loadBefore(db, nodeIds, q.from),
    loadRows(db, cid, q.from, q.to),
    loadSessions(db, cid, q.from - o.offlineMs, q.to),
    loadVipChanges(db, cid, wanted, q.from, q.to),
    listIncidents(db, { cluster: q.cluster, from: new Date(q.from), to: new Date(q.to), limit: TIMELINE_LIMITS.maxIncidents + 1 }),
  ]);
  const inputs: NodeInput[] = nodes.map((n) => ({
    id: n.id,
    name: n.name,
    config: n.instances,
    trackedSince: n.tracked_since,
    sessions: sessions
      .filter((s) => s.node_id === n.id)
      .map((s) => ({ connectedAt: s.c, lastSeenAt: s.l, disconnectedAt: s.d })),
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
    before,
    rows,
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
  };
}

/** GET /api/clusters/:name/logs; null when the cluster (or the named node) is unknown. */
export async function loadLogs(db: Db, q: LogQuery): Promise<LogLine[] | null> {
  const cid = await clusterId(db, q.cluster);
  if (cid === null) return null;
  let nodeId: number | null = null;
  if (q.node !== null) {
    const n = (await db.$queryRawUnsafe(`SELECT id FROM node WHERE cluster_id = $1 AND name = $2`, cid, q.node)) as { id: number }[];
    if (!n[0]) return null;
    nodeId = n[0].id;
  }
  const cols = `n.name AS node, l.ts, l.id, l.line, l.source`;
  const where = `l.cluster_id = $1 AND l.ts >= $2::timestamptz AND l.ts <= $3::timestamptz AND ($4::int IS NULL OR l.node_id = $4::int)`;
  type Raw = { node: string; ts: Date; id: bigint; line: string; source: string };
  let rows: Raw[];
  if (q.around === null) {
    rows = (await db.$queryRawUnsafe(
      `SELECT ${cols} FROM log_record l JOIN node n ON n.id = l.node_id WHERE ${where} ORDER BY l.ts, l.id LIMIT $5`,
      cid, iso(q.from), iso(q.to), nodeId, q.limit,
    )) as Raw[];
  } else {
    const before = Math.ceil(q.limit / 2);
    rows = (await db.$queryRawUnsafe(
      `(SELECT ${cols} FROM log_record l JOIN node n ON n.id = l.node_id
         WHERE ${where} AND l.ts <= $5::timestamptz ORDER BY l.ts DESC, l.id DESC LIMIT $6)
       UNION ALL
       (SELECT ${cols} FROM log_record l JOIN node n ON n.id = l.node_id
         WHERE ${where} AND l.ts > $5::timestamptz ORDER BY l.ts, l.id LIMIT $7)`,
      cid, iso(q.from), iso(q.to), nodeId, iso(q.around), before, q.limit - before,
    )) as Raw[];
    rows.sort((a, b) => a.ts.getTime() - b.ts.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return rows.map((r) => ({ node: r.node, at: r.ts.toISOString(), line: r.line, source: r.source }));
}
