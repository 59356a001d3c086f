/**
 * Experiment (not part of `npm run bench`): what one stored batch costs on the
 * embedded PGlite, by where PGlite runs:
 *   main:   PGlite and its socket server on this thread (the server before the
 *           change: every statement's WASM ran on the server's event loop);
 *   worker: server/db/embedded.ts as it is (a worker thread of this process).
 * For each: storeBatch() (server/ingest/store.ts) of 500-line and 1-line
 * batches, one after another on the one pooled connection, wall time per
 * batch and CPU of this (the main) thread and of the whole process; and the
 * round trip of `SELECT 1`, the floor of any statement through the socket.
 * The pool is the server's (openPool): one connection, the batch statement
 * prepared once per connection.
 *
 *   npx tsx bench/experiments/pglite-path.ts
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { clientOnPool, openPool } from "../../server/db/database";
import { embeddedUrl, startEmbedded } from "../../server/db/embedded";
import { storeBatch } from "../../server/ingest/store";
import { deriveStateChanges, type NodeView } from "../../server/state/derive";
import type { LogRecordMsg } from "../../server/protocol";
import { createTestDb } from "../../test/helpers/db";
import { makeBatches } from "../lib/lines";
import { clkTck } from "../lib/proc";
import { fmt, median } from "../lib/stats";

process.env.KAM_TEST_DB = "pglite";

const newView = (): NodeView => ({ vrids: new Map(), instances: new Set(), last: new Map() });

/** CPU ms of this process's main thread (its tid is the pid) */
function mainThreadMs(): number {
  const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const c = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(c[11]) + Number(c[12])) / clkTck()) * 1000;
}
const processMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function onMainThread(dataDir: string) {
  const socketDir = path.join(dataDir, "run");
  fs.mkdirSync(socketDir, { recursive: true });
  const db = await PGlite.create({ dataDir: path.join(dataDir, "pglite") });
  const server = new PGLiteSocketServer({ db, path: path.join(socketDir, ".s.PGSQL.5432"), maxConnections: 16 });
  await server.start();
  return { url: embeddedUrl(socketDir), close: async () => (await server.stop(), await db.close()) };
}

async function measure(way: string, open: (dir: string) => Promise<{ url: string; close(): Promise<void> }>) {
  const tdb = await createTestDb();
  const e = await open(tdb.dataDir);
  const pool = openPool(e.url, "pglite");
  const prisma = clientOnPool(pool);
  try {
    const c = (await pool.query(`INSERT INTO cluster (name) VALUES ('exp') RETURNING id`)).rows[0].id as number;
    const tok = (await pool.query(`INSERT INTO agent_token (cluster_id, token_hash, prefix) VALUES ($1, 'x', 'x') RETURNING id`, [c])).rows[0].id as number;
    const nodeId = (await pool.query(`INSERT INTO node (cluster_id, name, token_id) VALUES ($1, 'n1', $2) RETURNING id`, [c, tok])).rows[0].id as number;
    const rtt: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await pool.query("SELECT 1");
      rtt.push(performance.now() - t);
    }
    const tx: number[] = [];
    const cl = await pool.connect();
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await cl.query("BEGIN");
      await cl.query("COMMIT");
      tx.push(performance.now() - t);
    }
    cl.release();
    console.log(`${way}: SELECT 1 round trip median ${fmt(median(rtt), 3)} ms; an empty BEGIN + COMMIT ${fmt(median(tx), 3)} ms`);
    for (const [size, n] of [[500, 40], [1, 300]] as const) {
      const agentId = randomUUID();
      await pool.query(`INSERT INTO agent (id, cluster_id, node_id, token_id) VALUES ($1, $2, $3, $4)`, [agentId, c, nodeId, tok]);
      const s = { clusterId: c, nodeId, agentId };
      const batches = makeBatches(n + 5, size, { v: 0 });
      const view = newView();
      const store = (b: LogRecordMsg[]) => storeBatch(prisma, s, b, (logs, cfgs) => deriveStateChanges(view, logs, cfgs));
      for (const b of batches.slice(0, 5)) await store(b); // warm-up
      const m0 = mainThreadMs();
      const p0 = processMs();
      const t0 = performance.now();
      const walls: number[] = [];
      for (const b of batches.slice(5)) {
        const t = performance.now();
        await store(b);
        walls.push(performance.now() - t);
      }
      const wall = (performance.now() - t0) / n;
      console.log(
        `${way}: batches of ${String(size).padStart(3)}: wall ${fmt(wall, 2).padStart(6)} ms/batch (median ${fmt(median(walls), 2)}), ` +
          `main thread CPU ${fmt((mainThreadMs() - m0) / n, 2)} ms/batch, process CPU ${fmt((processMs() - p0) / n, 2)} ms/batch -> ${fmt((size / wall) * 1000)} lines/s`,
      );
    }
  } finally {
    await pool.end();
    await e.close();
    await tdb.drop();
  }
}

for (let round = 1; round <= 2; round++) {
  await measure(`round ${round}, PGlite on the main thread`, onMainThread);
  await measure(`round ${round}, PGlite in a worker thread`, (dir) => startEmbedded(dir));
}
