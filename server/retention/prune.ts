/**
 * Retention: deletes data older than its kind's retention, in small batches
 * with a pause between them, so ingest (which shares the database, and with
 * the embedded PGlite even its single connection) is never held up for long.
 *
 * Which time decides, per kind:
 * - log lines, gaps, VIP observations, process records, config snapshots: `received_at` (the
 *   server's clock): a node whose clock is off cannot get its data pruned
 *   early or kept for ever;
 * - state changes: `ts` (they carry no receive time; minutes of skew do not
 *   matter at a scale of days);
 * - agent sessions: `last_seen_at`; incidents: `closed_at` (an open incident
 *   is never pruned); audit log entries: `at`, the time of the action.
 *
 * Kept whatever their age, because the picture rebuilt at start needs them
 * (server/state/restore.ts): the newest config snapshot and VIP observation of
 * every node (and its newest process record: whether keepalived runs), and the newest state change of every (node, instance).
 *
 * State changes reference their log line by id without a foreign key: they
 * are the compact history and are kept longer than the raw lines (defaults
 * 365 vs 30 days), so a state change may outlive its line; nothing reads the
 * line through that id once it is gone. Incidents carry their evidence (the
 * proving lines) inline, so they too outlive the raw lines (default 730 days).
 *
 * Append-only tables are walked in id order (ids grow with arrival), one
 * window of `batchSize` ids per statement: each statement touches at most
 * that many rows through the primary key, and the walk stops at the first
 * window holding a row young enough to keep. Sessions and incidents are
 * small tables pruned with a plain bounded DELETE.
 */
import { z } from "zod";
import type { Db } from "../db/database";
import { queryRows } from "../db/rows";

export const RETENTION_KINDS = ["log", "gap", "vip", "process", "dump", "config", "state", "session", "incident", "feed", "audit"] as const;

/**
 * The cluster feed (cluster_feed, server/ingest/feed.ts) is kept an hour whatever the settings: replicas read
 * it back within seconds; an hour covers a replica stalled for long, and the records themselves stay.
 */
export const FEED_KEEP_MS = 3600_000;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/** days to keep each kind; 0 = keep for ever */
export interface RetentionSettings {
  logDays: number;
  vipDays: number;
  configDays: number;
  sessionDays: number;
  stateDays: number;
  incidentDays: number;
  /** the audit log (server/audit/log.ts), by the entry's time */
  auditDays: number;
}

export const DEFAULT_RETENTION: RetentionSettings = {
  logDays: 30,
  vipDays: 30,
  configDays: 365,
  sessionDays: 90,
  stateDays: 365,
  incidentDays: 730,
  auditDays: 730,
};

interface Spec {
  kind: RetentionKind;
  table: string;
  time: string;
  days: (s: RetentionSettings) => number;
  /** window walk (append-only, id order follows time) or plain bounded delete */
  mode: "window" | "plain";
  /** ids never deleted (newest per node, ...) */
  keep?: string;
}

/**
 * Ids of each node's newest row: by node time, by arrival (id), and by the
 * agent's own order as server/state/restore.ts picks it (newest agent
 * installation, then highest seq), so whichever the picture uses survives.
 */
function newestPerNode(table: string): string {
  return `SELECT id FROM (SELECT DISTINCT ON (node_id) id FROM ${table} ORDER BY node_id, ts DESC, id DESC) a
    UNION SELECT max(id) FROM ${table} GROUP BY node_id
    UNION SELECT id FROM (SELECT DISTINCT ON (t.node_id) t.id FROM ${table} t LEFT JOIN agent g ON g.id = t.agent_id
      ORDER BY t.node_id, g.first_seen_at DESC NULLS LAST, t.seq DESC, t.id DESC) b`;
}

const SPECS: Spec[] = [
  { kind: "log", table: "log_record", time: "received_at", days: (s) => s.logDays, mode: "window" },
  // a gap says lines are missing: it lives as long as the lines around it
  { kind: "gap", table: "agent_gap", time: "received_at", days: (s) => s.logDays, mode: "window" },
  { kind: "vip", table: "vip_observation", time: "received_at", days: (s) => s.vipDays, mode: "window", keep: newestPerNode("vip_observation") },
  // keepalived's process records: the VIP observations' policy (a node's newest one says whether keepalived runs)
  { kind: "process", table: "keepalived_process", time: "received_at", days: (s) => s.vipDays, mode: "window", keep: newestPerNode("keepalived_process") },
  // keepalived dump samples (their change points): the same policy
  { kind: "dump", table: "keepalived_dump", time: "received_at", days: (s) => s.vipDays, mode: "window", keep: newestPerNode("keepalived_dump") },
  { kind: "config", table: "config_snapshot", time: "received_at", days: (s) => s.configDays, mode: "window", keep: newestPerNode("config_snapshot") },
  {
    kind: "state", table: "state_change", time: "ts", days: (s) => s.stateDays, mode: "window",
    keep: `SELECT id FROM (SELECT DISTINCT ON (node_id, instance) id FROM state_change ORDER BY node_id, instance, ts DESC, id DESC) a
           UNION SELECT max(id) FROM state_change GROUP BY node_id, instance
           UNION SELECT id FROM (SELECT DISTINCT ON (sc.node_id, sc.instance) sc.id FROM state_change sc
             LEFT JOIN log_record l ON l.id = sc.log_record_id LEFT JOIN agent g ON g.id = l.agent_id
             ORDER BY sc.node_id, sc.instance, g.first_seen_at DESC NULLS LAST, l.seq DESC NULLS LAST, sc.ts DESC, sc.id DESC) b`,
  },
  { kind: "session", table: "agent_session", time: "last_seen_at", days: (s) => s.sessionDays, mode: "plain" },
  // the server's own starts: read with the sessions (AGENT_OFFLINE in a replay), kept as long
  { kind: "session", table: "server_start", time: "listening_at", days: (s) => s.sessionDays, mode: "plain" },
  // enrolment codes (spent, revoked or not) once they expired: kept as long as the sessions they led to (the
  // audit log keeps who created, used or revoked each)
  { kind: "session", table: "enrolment_code", time: "expires_at", days: (s) => s.sessionDays, mode: "plain" },
  { kind: "incident", table: "incident", time: "closed_at", days: (s) => s.incidentDays, mode: "plain" },
  // the audit log: a small table, by the time of the action (indexed)
  { kind: "audit", table: "audit_log", time: "at", days: (s) => s.auditDays, mode: "plain" },
];

export interface PruneOptions {
  /** the clock (ms) the cutoffs are taken from */
  now?: number;
  /** rows per statement */
  batchSize?: number;
  /** pause between statements, ms */
  pauseMs?: number;
  /** checked between statements: stop early (server shutting down) */
  stopped?: () => boolean;
  /** called after every statement that deleted rows */
  onDeleted?: (kind: RetentionKind, rows: number) => void;
}

export type PruneResult = Record<RetentionKind, number>;

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Step = { batch: number; pause: number; stopped: () => boolean; deleted: (n: number) => void };

/** a spec's `keep` query (max(id) of an empty group is null) */
const KeepRow = z.object({ id: z.bigint().nullable() });
/** one window of the walk: its highest id (null when empty), rows seen, rows too young, rows deleted */
const WindowRow = z.object({ last: z.string().nullable(), seen: z.number(), fresh: z.number(), deleted: z.number() });
const DeletedRow = z.object({ deleted: z.number() });

async function pruneWindowed(db: Db, spec: Spec, cutoff: string, { batch, pause, stopped, deleted }: Step): Promise<number> {
  const keep = spec.keep ? (await queryRows(db, `retention.keep.${spec.kind}`, KeepRow, spec.keep)).filter((r) => r.id != null).map((r) => String(r.id)) : [];
  let after = "0";
  let total = 0;
  for (;;) {
    const [r] = await queryRows(
      db,
      `retention.window.${spec.kind}`,
      WindowRow,
      `WITH w AS (
         SELECT id, ${spec.time} < $2::timestamptz AS old FROM ${spec.table} WHERE id > $1::bigint ORDER BY id LIMIT $3
       ), d AS (
         DELETE FROM ${spec.table} t USING w WHERE t.id = w.id AND w.old AND NOT (t.id = ANY($4::bigint[])) RETURNING t.id
       )
       SELECT (SELECT max(id) FROM w)::text AS last, (SELECT count(*) FROM w)::int AS seen,
              (SELECT count(*) FROM w WHERE NOT old)::int AS fresh, (SELECT count(*) FROM d)::int AS deleted`,
      [after, cutoff, batch, keep],
    );
    total += r.deleted;
    if (r.deleted > 0) deleted(r.deleted);
    if (r.seen < batch || r.fresh > 0 || r.last == null || stopped()) return total;
    after = r.last;
    await sleep(pause);
  }
}

async function prunePlain(db: Db, spec: Spec, cutoff: string, step: Step): Promise<number> {
  return deleteInBatches(db, `retention.delete.${spec.kind}`,
    `DELETE FROM ${spec.table} WHERE id IN (SELECT id FROM ${spec.table} WHERE ${spec.time} < $1::timestamptz ORDER BY id LIMIT $2) RETURNING id`,
    cutoff, step);
}

/** the feed has no id column (its key is cluster and position): bounded deletes by row address */
function pruneFeed(db: Db, cutoff: string, step: Step): Promise<number> {
  return deleteInBatches(db, "retention.delete.feed",
    `DELETE FROM cluster_feed WHERE ctid = ANY(ARRAY(SELECT ctid FROM cluster_feed WHERE received_at < $1::timestamptz LIMIT $2)) RETURNING 1`,
    cutoff, step);
}

/** `del` ($1 the cutoff, $2 the batch size, RETURNING one row per row deleted) until a batch is short */
async function deleteInBatches(db: Db, query: string, del: string, cutoff: string, { batch, pause, stopped, deleted }: Step): Promise<number> {
  let total = 0;
  for (;;) {
    const [r] = await queryRows(db, query, DeletedRow, `WITH d AS (${del}) SELECT count(*)::int AS deleted FROM d`, [cutoff, batch]);
    total += r.deleted;
    if (r.deleted > 0) deleted(r.deleted);
    if (r.deleted < batch || stopped()) return total;
    await sleep(pause);
  }
}

/** One pruning pass over every kind; returns the rows deleted per kind. */
export async function pruneOnce(db: Db, settings: RetentionSettings, o: PruneOptions = {}): Promise<PruneResult> {
  const now = o.now ?? Date.now();
  const batch = o.batchSize ?? 5000;
  const pause = o.pauseMs ?? 50;
  const stopped = o.stopped ?? (() => false);
  const out = Object.fromEntries(RETENTION_KINDS.map((k) => [k, 0])) as PruneResult;
  out.feed = await pruneFeed(db, new Date(now - FEED_KEEP_MS).toISOString(), { batch, pause, stopped, deleted: (n) => o.onDeleted?.("feed", n) });
  for (const spec of SPECS) {
    const days = spec.days(settings);
    if (!(days > 0) || stopped()) continue;
    const cutoff = new Date(now - days * DAY_MS).toISOString();
    const run = spec.mode === "window" ? pruneWindowed : prunePlain;
    // kinds of more than one table (session: agent_session and server_start) add up
    out[spec.kind] += await run(db, spec, cutoff, { batch, pause, stopped, deleted: (n) => o.onDeleted?.(spec.kind, n) });
  }
  return out;
}
