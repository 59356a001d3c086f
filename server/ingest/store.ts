/**
 * Batched, idempotent storage of agent records.
 *
 * One transaction per batch, run on the `pg` pool directly (not through the
 * Prisma client, whose own CPU per call was the largest cost of ingest: see
 * docs/PERFORMANCE.md). Normally it is ONE statement: data-modifying CTEs
 * insert every record kind (unnest of parameter arrays, so the statement text
 * is constant), the state changes derived from the batch's log lines (joined
 * on the rows actually inserted) and the agent's progress.
 * `ON CONFLICT (agent_id, seq) DO NOTHING RETURNING` tells which records are
 * new, so redelivered records are acknowledged again without being stored or
 * processed twice. The state changes are derived before the insert on the
 * assumption that every record is new; when some were already stored (a
 * redelivery), that statement inserts no state change and a second one, in the
 * same transaction, writes those derived from the rows that really were new.
 * History and derived data never disagree.
 */
import type { AgentRecord, ConfigRecordMsg, DumpRecordMsg, GapRecordMsg, LogRecordMsg, ProcessRecordMsg, VipRecordMsg } from "../protocol";
import { z } from "zod";
import { preparedQuery, preparesStatements, sqlOf, type Db } from "../db/database";
import { pgRows } from "../db/rows";
import { parseLine } from "../parser";
import type { KeepalivedEvent } from "../parser/types";

export interface AgentScope {
  clusterId: number;
  nodeId: number;
  agentId: string;
  /** node's UTC offset: file lines carry local time */
  utcOffsetMinutes?: number;
}

/**
 * Node time of a record. Journald gives it (µs). A file line carries its own
 * stamp, in whole seconds of the node's local time; when the agent read the
 * line within that second (the normal case: it follows the file live), the
 * read time is the same instant with millisecond precision. A line read later
 * (backlog after a restart) keeps its own stamp.
 */
export function recordTime(rec: LogRecordMsg, lineTs: number | null, utcOffsetMinutes = 0): number {
  if (rec.source !== "file" || lineTs == null) return rec.ts;
  const stamp = lineTs - utcOffsetMinutes * 60_000;
  return rec.ts >= stamp && rec.ts < stamp + 1000 ? rec.ts : stamp;
}

export interface StoredLog {
  id: bigint;
  seq: number;
  ts: Date;
  line: string;
  event: KeepalivedEvent | null;
}

export interface StateChangeRow {
  instance: string;
  vrid: number | null;
  state: string;
  ts: Date;
  logRecordId: bigint;
}

export interface StoreResult {
  logs: StoredLog[];
  vips: (VipRecordMsg & { id: bigint })[];
  configs: (ConfigRecordMsg & { id: bigint })[];
  gaps: (GapRecordMsg & { id: bigint })[];
  processes: (ProcessRecordMsg & { id: bigint })[];
  /** keepalived dump samples stored (the change points: server/ingest/batches.ts) */
  dumps: (DumpRecordMsg & { id: bigint })[];
  stateChanges: StateChangeRow[];
  stored: number;
  duplicates: number;
  /** the batch's position in its cluster's feed (commit order) */
  pos: bigint;
  /** the receive time stored with its records (epoch µs; never before the cluster's previous batch) */
  rxUs: bigint;
}

/**
 * Turns newly stored, parsed log lines into state-change rows (supplied by the
 * state layer). It may be called twice for one batch (see above): every call
 * must start from the node's view as it was before the batch, and the view
 * left by the LAST call is the one to keep.
 */
export type DeriveStateChanges = (logs: StoredLog[], configs: ConfigRecordMsg[]) => StateChangeRow[];

const iso = (ms: number) => new Date(ms).toISOString();

const JSON_KINDS = {
  vip_observation: { cols: "addresses", sel: "(d->'addresses')" },
  config_snapshot: { cols: "path, hash, instances, errors", sel: "d->>'path', d->>'hash', d->'instances', d->'errors'" },
  agent_gap: {
    cols: "from_seq, to_seq, dropped, reason",
    sel: "(d->>'fromSeq')::bigint, (d->>'toSeq')::bigint, (d->>'dropped')::int, d->>'reason'",
  },
  keepalived_process: {
    cols: "running, event, pid, vrrp_pid, via, exit",
    sel: "(d->>'running')::boolean, d->>'event', (d->>'pid')::int, (d->>'vrrpPid')::int, d->>'via', d->>'exit'",
  },
  keepalived_dump: { cols: "source, pid, instances", sel: "d->>'source', (d->>'pid')::int, d->'instances'" },
} as const;

const jsonInsert = (table: keyof typeof JSON_KINDS, param: string) =>
  `INSERT INTO ${table} (cluster_id, node_id, agent_id, seq, ts, received_at, ${JSON_KINDS[table].cols})
   SELECT $1, $2, $3::uuid, (d->>'seq')::bigint, to_timestamp((d->>'ts')::double precision / 1000), (SELECT rx FROM f), ${JSON_KINDS[table].sel}
     FROM unnest(${param}::jsonb[]) AS d
   ON CONFLICT (agent_id, seq) DO NOTHING
   RETURNING id, seq`;

/** the LISTEN/NOTIFY channel of committed batches: payload "clusterId:pos:origin" (the replica that stored it) */
export const FEED_CHANNEL = "kam_feed";

const STATE_COLS = `unnest($17::text[], $18::int[], $19::text[], $20::timestamptz[], $21::bigint[]) AS u(instance, vrid, state, ts, lid)`;

/**
 * The whole batch in one statement. $1-$4 scope and receive time, $5-$13 the
 * log columns, $14-$16 vips, configs and gaps as JSON, $17-$21 the state
 * changes derived on the assumption that every record is new (u.lid carries
 * the log line's seq; joined on the inserted rows), $22/$23 how many log lines
 * and configs the batch has (the state changes are written only when all of
 * them were new), $24 the highest seq, $25 process records as JSON, $26 the
 * lowest seq, $27 this replica's name, $28 keepalived dump samples as JSON, $29 "alone": the statement runs in
 * autocommit, without a transaction around it, and then fails (division by
 * zero, NOT_ALL_NEW) rather than commit a batch whose records were not all
 * new, whose state changes need a second statement (storeBatch). Returns the
 * batch's feed position and "seq:id" lists per kind.
 *
 * The batch takes the cluster's next feed position (f): the UPDATE's row lock
 * is held to the commit, so the positions of a cluster are committed in their
 * order, whichever server replica stores them, and its receive time is never
 * before the previous batch's (GREATEST: replicas' clocks differ), so replay
 * (received_at order) and the feed (position order) agree. pg_notify tells
 * the other replicas at commit (server/ingest/feed.ts).
 */
const BATCH_SQL = `WITH
 f AS (UPDATE cluster SET feed_pos = feed_pos + 1, feed_rx = GREATEST(feed_rx, $4::timestamptz) WHERE id = $1
       RETURNING feed_pos AS pos, feed_rx AS rx),
 fd AS (INSERT INTO cluster_feed (cluster_id, pos, node_id, agent_id, received_at, seq_from, seq_to, origin)
        SELECT $1, f.pos, $2, $3::uuid, f.rx, $26, $24, $27 FROM f),
 l AS (INSERT INTO log_record (cluster_id, node_id, agent_id, seq, ts, received_at, source, cursor, inode, "offset", ident, pid, line)
       SELECT $1, $2, $3::uuid, u.seq, u.ts, (SELECT rx FROM f), u.source, u.cursor, u.inode, u.off, u.ident, u.pid, u.line
         FROM unnest($5::bigint[], $6::timestamptz[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::int[], $13::text[])
           AS u(seq, ts, source, cursor, inode, off, ident, pid, line)
       ON CONFLICT (agent_id, seq) DO NOTHING
       RETURNING id, seq),
 v AS (${jsonInsert("vip_observation", "$14")}),
 c AS (${jsonInsert("config_snapshot", "$15")}),
 g AS (${jsonInsert("agent_gap", "$16")}),
 p AS (${jsonInsert("keepalived_process", "$25")}),
 k AS (${jsonInsert("keepalived_dump", "$28")}),
 sc AS (INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id)
        SELECT $1, $2, u.instance, u.vrid, u.state, u.ts, l.id FROM ${STATE_COLS} JOIN l ON l.seq = u.lid
         WHERE (SELECT count(*) FROM l) = $22 AND (SELECT count(*) FROM c) = $23
        ON CONFLICT (log_record_id) DO NOTHING),
 a AS (UPDATE agent SET last_seq = GREATEST(last_seq, $24), last_seen_at = $4::timestamptz WHERE id = $3::uuid)
SELECT (SELECT pos FROM f) AS pos, (SELECT (extract(epoch FROM rx) * 1000000)::bigint FROM f) AS rus,
       (SELECT pg_notify('${FEED_CHANNEL}', $1 || ':' || pos || ':' || $27) FROM f) AS notified,
       (SELECT string_agg(seq || ':' || id, ',') FROM l) AS l,
       (SELECT string_agg(seq || ':' || id, ',') FROM v) AS v,
       (SELECT string_agg(seq || ':' || id, ',') FROM c) AS c,
       (SELECT string_agg(seq || ':' || id, ',') FROM g) AS g,
       (SELECT string_agg(seq || ':' || id, ',') FROM p) AS p,
       (SELECT string_agg(seq || ':' || id, ',') FROM k) AS k,
       1 / (NOT $29::boolean OR ((SELECT count(*) FROM l) = $22 AND (SELECT count(*) FROM c) = $23))::int AS alone`;

/** SQLSTATE division_by_zero: BATCH_SQL run alone met a record already stored (see storeBatch) */
const NOT_ALL_NEW = "22012";

/** BATCH_SQL's one row: the batch's feed position and receive time (µs), the "seq:id" list of each kind (null when none was new) */
const BatchRow = z.object({ pos: z.coerce.bigint(), rus: z.coerce.bigint(), notified: z.unknown(), l: z.string().nullable(), v: z.string().nullable(), c: z.string().nullable(), g: z.string().nullable(), p: z.string().nullable(), k: z.string().nullable() });

/** the state changes of a batch whose optimistic derivation did not hold (some records were not new) */
const STATE_SQL = `INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id)
  SELECT $1, $2, u.instance, u.vrid, u.state, u.ts, u.lid
    FROM unnest($3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::bigint[]) AS u(instance, vrid, state, ts, lid)
  ON CONFLICT (log_record_id) DO NOTHING`;

/** "seq:id,seq:id" -> seq -> id */
function idsOf(list: string | null): Map<number, bigint> {
  const out = new Map<number, bigint>();
  if (!list) return out;
  for (const pair of list.split(",")) {
    const i = pair.indexOf(":");
    out.set(Number(pair.slice(0, i)), BigInt(pair.slice(i + 1)));
  }
  return out;
}

const stateArrays = (rows: StateChangeRow[]) => [
  rows.map((c) => c.instance),
  rows.map((c) => c.vrid),
  rows.map((c) => c.state),
  rows.map((c) => c.ts.toISOString()),
  rows.map((c) => c.logRecordId.toString()),
];

export async function storeBatch(
  db: Db,
  scope: AgentScope,
  records: AgentRecord[],
  derive: DeriveStateChanges,
  /** server receive time, ISO-8601 (microseconds allowed: Ingest keeps it strictly increasing) */
  receivedAt = new Date().toISOString(),
  /** the replica storing it (cluster_feed.origin) */
  origin = "",
): Promise<StoreResult> {
  const received = records.length;
  // a seq repeated inside one batch is one record (stored once; the repeats count as duplicates)
  const seen = new Set<number>();
  records = records.filter((r) => !seen.has(r.seq) && seen.add(r.seq) !== undefined);
  const logs = records.filter((r): r is LogRecordMsg => r.kind === "log");
  const vips = records.filter((r): r is VipRecordMsg => r.kind === "vips");
  const configs = records.filter((r): r is ConfigRecordMsg => r.kind === "config");
  const gaps = records.filter((r): r is GapRecordMsg => r.kind === "gap");
  const procs = records.filter((r): r is ProcessRecordMsg => r.kind === "process");
  const dumps = records.filter((r): r is DumpRecordMsg => r.kind === "dumps");
  const maxSeq = records.reduce((m, r) => Math.max(m, r.seq), 0);

  const parsed = logs.map((r) => parseLine(r.line, { now: r.ts }));
  const ts = logs.map((r, i) => recordTime(r, parsed[i].ts, scope.utcOffsetMinutes));
  const logOf = (i: number, id: bigint): StoredLog => ({ id, seq: logs[i].seq, ts: new Date(ts[i]), line: logs[i].line, event: parsed[i].event });
  // optimistic: every record new; the id stands in for the seq until the insert names the row
  const trial = derive(logs.map((_, i) => logOf(i, BigInt(logs[i].seq))), configs);

  const pool = sqlOf(db);
  const client = await pool.connect();
  let broken = false;
  let inTx = false;
  const batch = (alone: boolean) => pgRows({ query: preparedQuery(pool, client, "ingest.batch") }, "ingest.batch", BatchRow, BATCH_SQL, [
      scope.clusterId,
      scope.nodeId,
      scope.agentId,
      receivedAt,
      logs.map((r) => r.seq),
      ts.map(iso),
      logs.map((r) => r.source),
      logs.map((r) => r.cursor ?? null),
      logs.map((r) => r.inode ?? null),
      logs.map((r) => r.offset ?? null),
      logs.map((r, i) => r.ident ?? parsed[i].ident ?? null),
      logs.map((r) => r.pid ?? null),
      logs.map((r) => r.line),
      vips.map((r) => JSON.stringify(r)),
      configs.map((r) => JSON.stringify(r)),
      gaps.map((r) => JSON.stringify(r)),
      ...stateArrays(trial),
      logs.length,
      configs.length,
      maxSeq,
      procs.map((r) => JSON.stringify(r)),
      records.reduce((m, r) => Math.min(m, r.seq), maxSeq),
      origin,
      dumps.map((r) => JSON.stringify(r)),
      alone,
    ]);
  try {
    // The embedded PGlite: the statement alone in autocommit, ONE round trip instead of three (BEGIN, it,
    // COMMIT): each one waits for PGlite's thread and then the server's to be scheduled, and behind them every
    // other batch on the one connection (docs/PERFORMANCE.md, "Embedded PGlite"). Atomic all the same (one
    // statement); a batch with records already stored makes it fail and is stored below in a transaction.
    let row: z.output<typeof BatchRow> | undefined;
    if (preparesStatements(pool)) {
      try {
        [row] = await batch(true);
      } catch (e) {
        if ((e as { code?: unknown }).code !== NOT_ALL_NEW) throw e;
      }
    }
    if (!row) {
      await client.query("BEGIN");
      inTx = true;
      [row] = await batch(false);
    }
    const logIds = idsOf(row.l);
    const vipIds = idsOf(row.v);
    const cfgIds = idsOf(row.c);
    const gapIds = idsOf(row.g);
    const procIds = idsOf(row.p);
    const dumpIds = idsOf(row.k);

    const storedLogs: StoredLog[] = [];
    logs.forEach((r, i) => {
      const id = logIds.get(r.seq);
      if (id !== undefined) storedLogs.push(logOf(i, id));
    });
    const newConfigs = configs.filter((c) => cfgIds.has(c.seq));
    let stateChanges: StateChangeRow[];
    if (logIds.size === logs.length && cfgIds.size === configs.length) {
      // the statement wrote them: name their log rows
      stateChanges = trial.map((c) => ({ ...c, logRecordId: logIds.get(Number(c.logRecordId))! }));
    } else {
      if (!inTx) throw new Error("ingest.batch: a batch stored alone was not all new (the statement's guard failed)");
      stateChanges = derive(storedLogs, newConfigs);
      if (stateChanges.length > 0) await client.query(STATE_SQL, [scope.clusterId, scope.nodeId, ...stateArrays(stateChanges)]);
    }
    if (inTx) await client.query("COMMIT");
    const stored = storedLogs.length + vipIds.size + cfgIds.size + gapIds.size + procIds.size + dumpIds.size;
    return {
      logs: storedLogs,
      vips: vips.filter((v) => vipIds.has(v.seq)).map((v) => ({ ...v, id: vipIds.get(v.seq)! })),
      configs: newConfigs.map((c) => ({ ...c, id: cfgIds.get(c.seq)! })),
      gaps: gaps.filter((g) => gapIds.has(g.seq)).map((g) => ({ ...g, id: gapIds.get(g.seq)! })),
      processes: procs.filter((p) => procIds.has(p.seq)).map((p) => ({ ...p, id: procIds.get(p.seq)! })),
      dumps: dumps.filter((k) => dumpIds.has(k.seq)).map((k) => ({ ...k, id: dumpIds.get(k.seq)! })),
      stateChanges,
      stored,
      duplicates: received - stored,
      pos: row.pos,
      rxUs: row.rus,
    };
  } catch (e) {
    if (inTx) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
    }
    throw e;
  } finally {
    client.release(broken);
  }
}
