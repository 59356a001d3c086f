/**
 * Data gaps: records an agent could not deliver (outbox full, a record the
 * server can never store, an unreadable source), as the agent reported them
 * with a gap record. Shown on the timeline so that incident review knows where
 * the history of a node is incomplete.
 */
import { z } from "zod";
import { sqlOf, type Db } from "../db/database";
import { pgRows } from "../db/rows";
import type { DataGap } from "./types";

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

/** at most this many gaps per answer (the newest are kept) */
export const MAX_GAPS = 500;

/**
 * A scalar subquery: the gaps of a cluster whose lost span overlaps the range,
 * as a JSON array of [node, at, since, fromSeq, toSeq, dropped, reason] (at
 * and since in epoch ms), oldest first, at most MAX_GAPS + 1 (the newest).
 * The lost span runs from the newest line the agent did deliver before the
 * gap (`since`; null when there is none) to the moment it reported the gap
 * (`at`); the `since` probe walks the (agent_id, seq) unique index.
 * Arguments are SQL expressions (placeholders) for the cluster name and the range.
 */
export function gapsSql(p: { cluster: string; from: string; to: string }): string {
  return `SELECT json_agg(json_build_array(x.node, x.at, x.since, x.from_seq, x.to_seq, x.dropped, x.reason) ORDER BY x.at, x.id) FROM (
    SELECT g.id, n.name AS node, ${ms("g.ts")} AS at, ${ms("b.since_ts")} AS since, g.from_seq, g.to_seq, g.dropped, g.reason
      FROM agent_gap g
      JOIN cluster c ON c.id = g.cluster_id
      JOIN node n ON n.id = g.node_id
      LEFT JOIN LATERAL (
        SELECT l.ts AS since_ts FROM log_record l
         WHERE l.agent_id = g.agent_id AND l.seq < g.from_seq ORDER BY l.seq DESC LIMIT 1) b ON true
     WHERE c.name = ${p.cluster} AND g.ts >= ${p.from} AND COALESCE(b.since_ts, g.ts) < ${p.to}
     ORDER BY g.ts DESC, g.id DESC
     LIMIT ${MAX_GAPS + 1}) x`;
}

/** one element of gapsSql's array: [node, at, since, fromSeq, toSeq, dropped, reason] */
export const RawGap = z.tuple([z.string(), z.number(), z.number().nullable(), z.number(), z.number(), z.number(), z.string()]);
export type RawGap = z.infer<typeof RawGap>;
/** gapsSql's array (null when no gap matched) */
export const RawGaps = z.array(RawGap).nullable();

const GapsRow = z.object({ cid: z.number().nullable(), gaps: RawGaps });

/** The JSON rows of gapsSql as API objects, and whether more than MAX_GAPS matched. */
export function gapsOf(rows: RawGap[] | null): { gaps: DataGap[]; truncated: boolean } {
  const all = rows ?? [];
  const truncated = all.length > MAX_GAPS;
  const gaps = (truncated ? all.slice(all.length - MAX_GAPS) : all).map(([node, at, since, fromSeq, toSeq, dropped, reason]) => ({
    node,
    at: iso(at),
    since: since === null ? null : iso(since),
    fromSeq: Number(fromSeq),
    toSeq: Number(toSeq),
    dropped,
    reason,
  }));
  return { gaps, truncated };
}

/** GET /api/clusters/:name/gaps; null when the cluster is unknown. */
export async function loadGaps(db: Db, cluster: string, from: number, to: number): Promise<{ gaps: DataGap[]; truncated: boolean } | null> {
  const [r] = await pgRows(
    sqlOf(db),
    "gaps",
    GapsRow,
    `SELECT (SELECT id FROM cluster WHERE name = $1) AS cid, (${gapsSql({ cluster: "$1", from: "$2::timestamptz", to: "$3::timestamptz" })}) AS gaps`,
    [cluster, iso(from), iso(to)],
  );
  return r.cid === null ? null : gapsOf(r.gaps);
}
