/**
 * Experiment (not part of `npm run bench`): what one stored batch costs on the
 * ingest hot path, in wall time and in this process's CPU, three ways, on the
 * same PostgreSQL database and the same rows:
 *   A. the product's storeBatch() (server/ingest/store.ts): since the
 *      hot-path change, one CTE statement on pg in a transaction (before it,
 *      a Prisma interactive transaction: 7.95 ms CPU per 500-line batch);
 *   B. the same statements through a plain `pg` pool client (BEGIN ... COMMIT);
 *   C. one statement through `pg`: the log insert, the state changes (joined
 *      on the new rows' seq, so redelivered records add nothing) and the
 *      agent update as data-modifying CTEs: one round trip, atomic.
 * Parsing and state derivation are the same code in all three.
 *
 *   TEST_DATABASE_URL=postgresql://... npx tsx bench/experiments/store-path.ts
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { clientOnPool, sqlOf } from "../../server/db/database";
import { applyMigrations } from "../../server/db/migrate";
import { storeBatch, recordTime, type StoredLog } from "../../server/ingest/store";
import { parseLine } from "../../server/parser";
import { deriveStateChanges, type NodeView } from "../../server/state/derive";
import type { LogRecordMsg } from "../../server/protocol";
import { ROOT } from "../../test/helpers/server";
import { createTestDb } from "../../test/helpers/db";
import { makeBatches } from "../lib/lines";
import { fmt, median } from "../lib/stats";

if (!process.env.TEST_DATABASE_URL) throw new Error("set TEST_DATABASE_URL");
process.env.KAM_TEST_DB = "postgres";

const newView = (): NodeView => ({ vrids: new Map(), instances: new Set(), last: new Map() });

const LOG_SQL = `INSERT INTO log_record (cluster_id, node_id, agent_id, seq, ts, received_at, source, cursor, inode, "offset", ident, pid, line)
  SELECT $1, $2, $3::uuid, u.seq, u.ts, $4::timestamptz, u.source, u.cursor, u.inode, u.off, u.ident, u.pid, u.line
  FROM unnest($5::bigint[], $6::timestamptz[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::int[], $13::text[])
    AS u(seq, ts, source, cursor, inode, off, ident, pid, line)
  ON CONFLICT (agent_id, seq) DO NOTHING`;

function logParams(s: { clusterId: number; nodeId: number; agentId: string }, recs: LogRecordMsg[], now: string) {
  const parsed = recs.map((r) => parseLine(r.line, { now: r.ts }));
  const ts = recs.map((r, i) => new Date(recordTime(r, parsed[i].ts)).toISOString());
  const params = [s.clusterId, s.nodeId, s.agentId, now, recs.map((r) => r.seq), ts, recs.map((r) => r.source), recs.map((r) => r.cursor ?? null),
    recs.map((r) => r.inode ?? null), recs.map((r) => r.offset ?? null), recs.map((r, i) => r.ident ?? parsed[i].ident ?? null), recs.map((r) => r.pid ?? null), recs.map((r) => r.line)];
  return { parsed, ts, params };
}

/** B: the same statements, plain pg, one transaction */
async function storePg(pool: pg.Pool, s: { clusterId: number; nodeId: number; agentId: string }, recs: LogRecordMsg[], view: NodeView) {
  const now = new Date().toISOString();
  const { parsed, ts, params } = logParams(s, recs, now);
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const rows = (await c.query(LOG_SQL + " RETURNING id, seq", params)).rows as { id: string; seq: string }[];
    const ids = new Map(rows.map((r) => [Number(r.seq), BigInt(r.id)]));
    const stored: StoredLog[] = [];
    recs.forEach((r, i) => {
      const id = ids.get(r.seq);
      if (id !== undefined) stored.push({ id, seq: r.seq, ts: new Date(ts[i]), line: r.line, event: parsed[i].event });
    });
    const ch = deriveStateChanges(view, stored, []);
    if (ch.length)
      await c.query(
        `INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id)
         SELECT $1, $2, u.i, u.v, u.s, u.t, u.l FROM unnest($3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::bigint[]) AS u(i, v, s, t, l)
         ON CONFLICT (log_record_id) DO NOTHING`,
        [s.clusterId, s.nodeId, ch.map((x) => x.instance), ch.map((x) => x.vrid), ch.map((x) => x.state), ch.map((x) => x.ts.toISOString()), ch.map((x) => x.logRecordId.toString())],
      );
    await c.query(`UPDATE agent SET last_seq = GREATEST(last_seq, $2), last_seen_at = $3::timestamptz WHERE id = $1::uuid`, [s.agentId, recs.at(-1)!.seq, now]);
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK");
    throw e;
  } finally {
    c.release();
  }
}

/** C: one statement; state changes derived before the insert, kept only for rows actually inserted (joined on seq) */
async function storeOne(pool: pg.Pool, s: { clusterId: number; nodeId: number; agentId: string }, recs: LogRecordMsg[], view: NodeView) {
  const now = new Date().toISOString();
  const { parsed, ts, params } = logParams(s, recs, now);
  const pre: StoredLog[] = recs.map((r, i) => ({ id: BigInt(r.seq), seq: r.seq, ts: new Date(ts[i]), line: r.line, event: parsed[i].event }));
  const trial = { vrids: view.vrids, instances: new Set(view.instances), last: new Map(view.last) };
  const ch = deriveStateChanges(trial, pre, []); // logRecordId carries the seq here
  const r = await pool.query(
    `WITH ins AS (${LOG_SQL} RETURNING id, seq),
     sc AS (INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id)
            SELECT $1, $2, u.i, u.v, u.s, u.t, ins.id FROM unnest($14::text[], $15::int[], $16::text[], $17::timestamptz[], $18::bigint[]) AS u(i, v, s, t, q)
            JOIN ins ON ins.seq = u.q ON CONFLICT (log_record_id) DO NOTHING),
     upd AS (UPDATE agent SET last_seq = GREATEST(last_seq, $19), last_seen_at = $4::timestamptz WHERE id = $3::uuid)
     SELECT count(*)::int AS n FROM ins`,
    [...params, ch.map((x) => x.instance), ch.map((x) => x.vrid), ch.map((x) => x.state), ch.map((x) => x.ts.toISOString()), ch.map((x) => x.logRecordId.toString()), recs.at(-1)!.seq],
  );
  // all new (the normal case): the trial view is the truth; otherwise a real implementation re-derives from the inserted rows
  if (r.rows[0].n === recs.length) Object.assign(view, trial);
}

async function main() {
  const db = await createTestDb();
  try {
    await applyMigrations(db.databaseUrl, ROOT);
    const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 10 });
    const prisma = clientOnPool(new pg.Pool({ connectionString: db.databaseUrl, max: 10 }));
    const c = (await pool.query(`INSERT INTO cluster (name) VALUES ('exp') RETURNING id`)).rows[0].id as number;
    const tok = (await pool.query(`INSERT INTO agent_token (cluster_id, token_hash, prefix) VALUES ($1, 'x', 'x') RETURNING id`, [c])).rows[0].id as number;
    const nodeId = (await pool.query(`INSERT INTO node (cluster_id, name, token_id) VALUES ($1, 'n1', $2) RETURNING id`, [c, tok])).rows[0].id as number;
    const ways: [string, (s: { clusterId: number; nodeId: number; agentId: string }, recs: LogRecordMsg[], view: NodeView) => Promise<unknown>][] = [
      ["A product storeBatch", (s, recs, view) => storeBatch(prisma, s, recs, (logs, cfgs) => deriveStateChanges(view, logs, cfgs))],
      ["B pg, same statements", (s, recs, view) => storePg(pool, s, recs, view)],
      ["C pg, one statement", (s, recs, view) => storeOne(pool, s, recs, view)],
    ];
    for (const [size, n] of [[1, 300], [500, 40]] as const) {
      console.log(`\nbatches of ${size} line(s), ${n} batches one after another, 3 rounds (median):`);
      const res = new Map<string, { wall: number[]; cpu: number[] }>();
      for (let round = 0; round < 3; round++) {
        for (const [name, fn] of ways) {
          const agentId = randomUUID();
          await pool.query(`INSERT INTO agent (id, cluster_id, node_id, token_id) VALUES ($1, $2, $3, $4)`, [agentId, c, nodeId, tok]);
          const s = { clusterId: c, nodeId, agentId };
          const batches = makeBatches(n + 5, size, { v: 0 });
          const view = newView();
          for (const b of batches.slice(0, 5)) await fn(s, b, view); // warm-up
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          for (const b of batches.slice(5)) await fn(s, b, view);
          const wall = (performance.now() - t0) / n;
          const cu = process.cpuUsage(c0);
          const r = res.get(name) ?? { wall: [], cpu: [] };
          r.wall.push(wall);
          r.cpu.push((cu.user + cu.system) / 1000 / n);
          res.set(name, r);
        }
      }
      for (const [name, r] of res) {
        console.log(`  ${name.padEnd(24)} wall ${fmt(median(r.wall), 2).padStart(7)} ms/batch   CPU ${fmt(median(r.cpu), 2).padStart(7)} ms/batch   -> ${fmt((size / median(r.cpu)) * 1000)} lines per CPU-second`);
      }
    }
    await prisma.$disconnect();
    await sqlOf(prisma).end();
    await pool.end();
  } finally {
    await db.drop();
  }
}

await main();
