/**
 * Experiment (not part of `npm run bench`): the 7-day timeline's `loadTimeline()` in this process against the
 * database bench/experiments/timeline-hold.ts seeded (PostgreSQL): wall time of 15 calls as the page asks
 * (width 1700, evidence=none), JSON.stringify of the answer, and a CPU profile of those calls written to
 * $TMPDIR/kam-timeline.cpuprofile (open it in Chrome's DevTools). docs/PERFORMANCE.md, issue 17, session 35.
 *   npx tsx bench/experiments/timeline-profile.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Session } from "node:inspector/promises";
import pg from "pg";
import { clientOnPool } from "../../server/db/database";
import { loadTimeline } from "../../server/timeline/store";
import { HOLD_FILE } from "./timeline-hold";

const { db } = JSON.parse(fs.readFileSync(HOLD_FILE, "utf8")) as { db: string };
if (!db) throw new Error(`${HOLD_FILE}: no database URL (the held server must run on PostgreSQL: KAM_TEST_DB=postgres)`);
const pool = new pg.Pool({ connectionString: db, max: 10 });
const prisma = clientOnPool(pool);
const to = Date.now();
const q = { cluster: "bench", from: to - 7 * 86_400_000, to, width: 1700, evidence: "none" as const };
const call = () => loadTimeline(prisma, q, { offlineMs: 30_000 });
for (let i = 0; i < 3; i++) await call();
const s = new Session();
s.connect();
await s.post("Profiler.enable");
await s.post("Profiler.setSamplingInterval", { interval: 200 });
await s.post("Profiler.start");
const walls: number[] = [];
let json = 0;
for (let i = 0; i < 15; i++) {
  const t = performance.now();
  const r = await call();
  const t1 = performance.now();
  json = JSON.stringify(r).length;
  walls.push(t1 - t);
}
const { profile } = await s.post("Profiler.stop");
const out = path.join(os.tmpdir(), "kam-timeline.cpuprofile");
fs.writeFileSync(out, JSON.stringify(profile));
console.log(`loadTimeline wall ms (profiler on): ${walls.map((x) => x.toFixed(0)).join(" ")}; answer ${json} bytes; profile ${out}`);
await pool.end();
