/**
 * Data gaps: records an agent could not deliver (outbox full, a record the
 * server can never store, an unreadable source), as the agent reported them
 * with a gap record. Shown on the timeline so that incident review knows where
 * the history of a node is incomplete.
 */
import type { Db } from "../db/database";
import type { DataGap } from "./types";

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

/** at most this many gaps per answer (newest first kept) */
export const MAX_GAPS = 500;

interface RawGap {
  node: string;
  at: number;
  since: number | null;
  from_seq: string;
  to_seq: string;
  dropped: number;
  reason: string;
}

/**
 * Gaps of a cluster whose lost span overlaps [from, to). The lost span runs
 * from the newest record the agent did deliver before the gap (`since`; null
 * when there is none) to the moment the agent reported the gap (`at`).
 * One query; the `since` probe walks the (agent_id, seq) unique index.
 */
export async function loadGaps(db: Db, cluster: string, from: number, to: number): Promise<{ gaps: DataGap[]; truncated: boolean }> {
  const rows = (await db.$queryRawUnsafe(
    `SELECT n.name AS node, ${ms("g.ts")} AS at, ${ms("b.since_ts")} AS since,
            g.from_seq::text AS from_seq, g.to_seq::text AS to_seq, g.dropped, g.reason
       FROM agent_gap g
       JOIN cluster c ON c.id = g.cluster_id
       JOIN node n ON n.id = g.node_id
       LEFT JOIN LATERAL (
         SELECT l.ts AS since_ts FROM log_record l
          WHERE l.agent_id = g.agent_id AND l.seq < g.from_seq ORDER BY l.seq DESC LIMIT 1) b ON true
      WHERE c.name = $1 AND g.ts >= $2::timestamptz AND COALESCE(b.since_ts, g.ts) < $3::timestamptz
      ORDER BY g.ts DESC, g.id DESC
      LIMIT ${MAX_GAPS + 1}`,
    cluster,
    iso(from),
    iso(to),
  )) as RawGap[];
  const truncated = rows.length > MAX_GAPS;
  const gaps = rows
    .slice(0, MAX_GAPS)
    .reverse()
    .map((r) => ({
      node: r.node,
      at: iso(r.at),
      since: r.since === null ? null : iso(r.since),
      fromSeq: Number(r.from_seq),
      toSeq: Number(r.to_seq),
      dropped: r.dropped,
      reason: r.reason,
    }));
  return { gaps, truncated };
}
