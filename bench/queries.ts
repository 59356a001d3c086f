/**
 * Read queries over a month of history: 1,000,000 log records over 30 days in
 * 20 clusters (bench/lib/seed.ts; with their state changes, VIP observations,
 * sessions and incidents), served by the real server over HTTP:
 * - 24 h cluster timeline      GET /api/clusters/:name/timeline?from=&to=&width=1200  (p95 <= 20 ms)
 * - 30-day bucketed timeline   same, 30 days, width=1200                            (p95 <= 150 ms)
 * - incident list              GET /api/incidents?cluster=                           (p95 <= 20 ms)
 * Times are client-side round trips on loopback, sequential requests after a
 * warm-up: an upper bound of the server time. Baseline in the same run: the
 * round trip of GET /api/health (Next's fixed cost per request).
 *
 * Plus one extra cluster with the same history whose agents also report their
 * full VIP set every 10 s (the real agent's --vip-interval default), stored as
 * the server stores them (each change, and an unchanged set once an hour):
 * the same timeline figures on it.
 *
 * The seeded database is kept between runs (PostgreSQL: database
 * kam_bench_seed_v<N>_<records>) and reused; BENCH_RESEED=1 rebuilds it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { applyMigrations } from "../server/db/migrate";
import { ROOT } from "../test/helpers/server";
import type { TestDb } from "../test/helpers/db";
import { startBenchServer, q, step, DB_KIND, DB_MARK } from "./lib/env";
import { clusterName, seed, vipClusterName, type SeedParams } from "./lib/seed";
import { row, runStandalone, isMain, unavailable, type Row } from "./lib/result";
import { dist, distText, fmt } from "./lib/stats";

const SEED_VERSION = 3; // 3: the 10 s VIP reports stored as the server stores them (changes + hourly)
const RECORDS = Number(process.env.BENCH_QUERY_RECORDS ?? 1_000_000);
// logRecords counts the 20 clusters' records; the one extra cluster (10 s VIP reports) adds its own 1/20
const PARAMS: SeedParams = { clusters: 20, vipClusters: 1, vipEveryMs: 10_000, logRecords: RECORDS, days: 30 };
const N = q(60, 25);
const N_MONTH = q(20, 8);
const DAY = 86_400_000;

/** the seeded database: reused when its meta row says it is complete */
async function seededDb(): Promise<{ db: TestDb; end: number; reused: boolean; counts: Record<string, number> }> {
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `kam_bench_seed_v${SEED_VERSION}_${RECORDS}`;
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bench-q-"));
  const db: TestDb = { kind: "postgres", databaseUrl: url, dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  const a = new pg.Client({ connectionString: admin });
  await a.connect();
  try {
    const exists = (await a.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount! > 0;
    if (exists && process.env.BENCH_RESEED !== "1") {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const m = await c.query(`SELECT end_ms, counts FROM bench_seed_meta WHERE done`).catch(() => null);
        if (m && m.rows[0]) return { db, end: Number(m.rows[0].end_ms), reused: true, counts: m.rows[0].counts };
      } finally {
        await c.end();
      }
    }
    if (exists) await a.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await a.query(`CREATE DATABASE ${name}`);
  } finally {
    await a.end();
  }
  step(`queries: seeding ${PARAMS.logRecords} log records over ${PARAMS.days} days in ${PARAMS.clusters} clusters into ${name} (once; kept for later runs)...`);
  const t0 = performance.now();
  await applyMigrations(url, ROOT);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const end = Math.floor(Date.now() / 60_000) * 60_000;
    const counts = await seed(c, PARAMS, end, (s) => step(`queries: ${s}`));
    await c.query(`CREATE TABLE bench_seed_meta (done boolean, end_ms bigint, counts jsonb, params jsonb)`);
    await c.query(`INSERT INTO bench_seed_meta VALUES (true, $1, $2, $3)`, [end, JSON.stringify(counts), JSON.stringify(PARAMS)]);
    step(`queries: seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}`);
    return { db, end, reused: false, counts };
  } finally {
    await c.end();
  }
}

async function timed(url: string): Promise<{ ms: number; status: number; bytes: number; serverMs: number | null }> {
  const t = performance.now();
  const r = await fetch(url);
  const body = await r.arrayBuffer();
  const ms = performance.now() - t;
  const st = r.headers.get("server-timing");
  const m = st ? /dur=([\d.]+)/.exec(st) : null;
  return { ms, status: r.status, bytes: body.byteLength, serverMs: m ? Number(m[1]) : null };
}

export async function benchQueries(): Promise<Row[]> {
  const B = "queries";
  if (DB_KIND !== "postgres") return [unavailable(B, "timeline and incidents over 1,000,000 events", "needs PostgreSQL: set TEST_DATABASE_URL (seeding a month into the embedded PGlite is not meaningful)")];
  const { db, end, reused, counts } = await seededDb();
  if (reused) step(`queries: reusing the seeded database (${JSON.stringify(counts)}; BENCH_RESEED=1 to rebuild)`);
  // nothing may be pruned from the seeded month while it is measured
  const keep = { KAM_RETAIN_LOG_DAYS: "0", KAM_RETAIN_VIP_DAYS: "0", KAM_RETAIN_CONFIG_DAYS: "0", KAM_RETAIN_SESSION_DAYS: "0", KAM_RETAIN_STATE_DAYS: "0", KAM_RETAIN_INCIDENT_DAYS: "0" };
  const t0 = performance.now();
  let srv: Awaited<ReturnType<typeof startBenchServer>>;
  try {
    srv = await startBenchServer(B, { db, env: keep });
  } catch (e) {
    await db.drop();
    throw e;
  }
  const startMs = performance.now() - t0;
  try {
    const clusters = Array.from({ length: PARAMS.clusters }, (_, i) => clusterName(i));
    const tl = (c: string, from: number, to: number) =>
      `${srv.url}/api/clusters/${c}/timeline?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&width=1200`;
    const probe = await timed(tl(clusters[0], end - DAY, end));
    const timelineOk = probe.status === 200;
    const rows: Row[] = [];
    const measure = async (label: string, urls: string[]) => {
      for (const u of urls.slice(0, 3)) await timed(u); // warm-up
      const xs: number[] = [];
      const server: number[] = [];
      let bytes = 0;
      let bad = 0;
      for (const u of urls) {
        const r = await timed(u);
        if (r.status !== 200) bad++;
        xs.push(r.ms);
        if (r.serverMs !== null) server.push(r.serverMs);
        bytes += r.bytes;
      }
      step(`queries: ${label}: ${distText(dist(xs))}, ${fmt(bytes / urls.length / 1024)} KiB per answer${bad ? `, ${bad} not 200` : ""}`);
      return { d: dist(xs), server: server.length ? dist(server) : null, kib: bytes / urls.length / 1024, bad };
    };
    const health = await measure("GET /api/health", Array.from({ length: N }, () => `${srv.url}/api/health`));
    const base = { name: "/api/health p95", value: health.d.p95 };
    // the targets are server time (Server-Timing of the route handler); the round trip through
    // the custom server, Next and the loopback socket is a row of its own, with /api/health as baseline
    const add = (name: string, r: Awaited<ReturnType<typeof measure>>, target: number) => {
      const detail = `${distText(r.d)} round trip${r.server ? `; server-timing ${distText(r.server)}` : ""}; ${fmt(r.kib)} KiB per answer; ${r.bad} non-200; /api/health ${distText(health.d)}`;
      if (r.server) {
        rows.push(row({ bench: B, name: `${name}, server time${DB_MARK}`, unit: "ms", value: r.server.p95, stat: `p95 of ${r.server.n}`, target: [{ op: "<=", value: target }], detail }));
        rows.push(row({ bench: B, name: `${name}, HTTP round trip${DB_MARK}`, unit: "ms", value: r.d.p95, stat: `p95 of ${r.d.n}`, baseline: base, detail }));
      } else {
        rows.push(row({ bench: B, name: name + DB_MARK, unit: "ms", value: r.d.p95, stat: `p95 of ${r.d.n}`, baseline: base, target: [{ op: "<=", value: target }], detail }));
      }
    };
    if (timelineOk) {
      // 24 h windows at random points of the month, clusters in turn
      const day = await measure("24 h timeline", Array.from({ length: N }, (_, i) => {
        const to = end - Math.floor(((i * 7919) % 29) * DAY + (i % 24) * 3600_000);
        return tl(clusters[i % clusters.length], to - DAY, to);
      }));
      add("24 h cluster timeline (width 1200)", day, 20);
      const month = await measure("30-day timeline", Array.from({ length: N_MONTH }, (_, i) => tl(clusters[i % clusters.length], end - 30 * DAY, end)));
      add("30-day bucketed timeline (width 1200)", month, 150);
      // the same on a cluster whose agents report their VIPs every 10 s, as the real agent does (~26,000 rows a day)
      const vc = vipClusterName(0);
      const vday = await measure("24 h timeline, 10 s VIP reports", Array.from({ length: q(20, 8) }, (_, i) => {
        const to = end - Math.floor(((i * 7919) % 29) * DAY + (i % 24) * 3600_000);
        return tl(vc, to - DAY, to);
      }));
      add("24 h timeline, agents reporting VIPs every 10 s", vday, 20);
      const vmonth = await measure("30-day timeline, 10 s VIP reports", Array.from({ length: q(5, 3) }, () => tl(vc, end - 30 * DAY, end)));
      add("30-day timeline, agents reporting VIPs every 10 s", vmonth, 150);
    } else {
      rows.push(unavailable(B, "cluster timeline (24 h, 30 days)", `GET /api/clusters/:name/timeline answered ${probe.status}: not available in this build`));
    }
    const inc = await measure("incident list", Array.from({ length: N }, (_, i) => `${srv.url}/api/incidents?cluster=${clusters[i % clusters.length]}`));
    add("incident list ?cluster=", inc, 20);
    rows.push(
      row({
        bench: B,
        name: "server start on the seeded month (migrations, restore, Next)",
        unit: "ms",
        value: startMs,
        stat: "1 start",
        detail: `${JSON.stringify(counts)}${reused ? " (seed reused)" : ""}`,
      }),
    );
    return rows;
  } catch (e) {
    console.error(e);
    return [unavailable(B, "queries", `failed: ${(e as Error).message}`)];
  } finally {
    await srv.close();
    await db.drop(); // the temporary data directory only: the seeded database is kept
  }
}

if (isMain(import.meta.url)) await runStandalone("queries", benchQueries);
