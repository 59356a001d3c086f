/**
 * Experiment (not part of `npm run bench`): where the time of the timeline and
 * incident-list answers goes, on the query benchmark's seeded database
 * (run `npx tsx bench/queries.ts` once first). In this process, without HTTP:
 * the product's loadTimeline() and listIncidents() through Prisma, wall time
 * and CPU per call, plus JSON.stringify of the answer; compare with the HTTP
 * round trips of bench/queries.ts to see Next's share.
 *
 *   TEST_DATABASE_URL=postgresql://... npx tsx bench/experiments/query-path.ts
 */
import pg from "pg";
import { clientOnPool } from "../../server/db/database";
import { loadTimeline } from "../../server/timeline/store";
import { listIncidents } from "../../server/incidents/incident-store";
import { ClusterScope } from "../../server/auth/scope";
import { clusterName, vipClusterName } from "../lib/seed";
import { fmt, median } from "../lib/stats";

const admin = process.env.TEST_DATABASE_URL;
if (!admin) throw new Error("set TEST_DATABASE_URL");
const u = new URL(admin);
u.pathname = `/kam_bench_seed_v2_${process.env.BENCH_QUERY_RECORDS ?? 1_000_000}`;
const url = u.toString();
const DAY = 86_400_000;

const meta = new pg.Client({ connectionString: url });
await meta.connect();
const end = Number((await meta.query(`SELECT end_ms FROM bench_seed_meta`)).rows[0].end_ms);
await meta.end();
const prisma = clientOnPool(new pg.Pool({ connectionString: url, max: 10 }));

async function time(label: string, n: number, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 3; i++) await fn(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  const json: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await fn(i);
    wall.push(performance.now() - t0);
    const cu = process.cpuUsage(c0);
    cpu.push((cu.user + cu.system) / 1000);
    const t1 = performance.now();
    bytes += JSON.stringify(r).length;
    json.push(performance.now() - t1);
  }
  console.log(`${label.padEnd(44)} wall p50 ${fmt(median(wall), 2).padStart(6)} ms  CPU p50 ${fmt(median(cpu), 2).padStart(6)} ms  JSON.stringify ${fmt(median(json), 2)} ms  ${fmt(bytes / n / 1024)} KiB`);
}

const tl = (c: string, from: number, to: number) => loadTimeline(prisma, { cluster: c, from, to, width: 1200 }, { offlineMs: 15_000, now: Date.now() });
await time("loadTimeline 24 h", 40, (i) => tl(clusterName(i % 20), end - ((i * 7) % 29) * DAY - DAY, end - ((i * 7) % 29) * DAY));
await time("loadTimeline 30 days", 10, (i) => tl(clusterName(i % 20), end - 30 * DAY, end));
await time("loadTimeline 24 h, 10 s VIP reports", 10, (i) => tl(vipClusterName(0), end - ((i * 7) % 29) * DAY - DAY, end - ((i * 7) % 29) * DAY));
await time("listIncidents ?cluster= (500 newest)", 40, (i) => listIncidents(prisma, { cluster: clusterName(i % 20) }, ClusterScope.ALL));
await prisma.$disconnect();
