/**
 * `npm run bench`: runs every benchmark in turn against the real server,
 * prints one table and writes bench-results/results.json (and results.md).
 *
 * Figures are medians over runs or percentiles over samples on this machine;
 * most rows carry a baseline measured in the same run (plain COPY, an idle
 * round trip, a bare node process), so compare ratios across machines.
 * BENCH_QUICK=1 cuts counts and windows (a smoke run); BENCH_ONLY=ingest,queries
 * runs a subset; BENCH_PROFILE=1 CPU-profiles the servers (see docs/PERFORMANCE.md).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureBuild } from "../scripts/ensure-build.mjs";
import { ROOT } from "../test/helpers/server";
import { AGENT_BUNDLE } from "../test/helpers/agent";
import { BOTH_DBS, QUICK, dbNotice, step } from "./lib/env";
import { details, loadavg, machine, table, unavailable, writeJson, type Row } from "./lib/result";
import { benchIngest } from "./ingest";
import { benchLatency } from "./latency";
import { benchDetectionLatency } from "./detection-latency";
import { benchQueries } from "./queries";
import { benchAgent } from "./agent";
import { benchAgentBacklog } from "./agent-backlog";
import { benchFanout } from "./fanout";
import { benchTimelineRender } from "./timeline-render";
import { benchReplicas } from "./replicas";

/** ingest and latency run on every database of BOTH_DBS (PostgreSQL and the embedded PGlite, issue 17) */
const onEachDb = (fn: (kind: (typeof BOTH_DBS)[number]) => Promise<Row[]>) => async () => {
  const rows: Row[] = [];
  for (const kind of BOTH_DBS) {
    step(`... on ${kind}`);
    rows.push(...(await fn(kind)));
  }
  return rows;
};

const BENCHES: [string, string, () => Promise<Row[]>][] = [
  ["ingest", `ingest throughput (K agents -> server -> database, acked) vs the database alone, on ${BOTH_DBS.join(" and ")}`, onEachDb(benchIngest)],
  ["latency", `log line -> browser push, via file and journald, under background load, on ${BOTH_DBS.join(" and ")}`, onEachDb(benchLatency)],
  ["detection", "deciding event -> incident push (FAULT, DUAL_MASTER)", benchDetectionLatency],
  ["queries", "timeline and incident queries over a month of history", benchQueries],
  ["agent", "agent: idle RSS and CPU, cold start, bundle size", benchAgent],
  ["agent-backlog", "agent: peak memory and catch-up rate at a backlog of 1,000,000 lines (file, journald)", benchAgentBacklog],
  ["fanout", "fan-out: 1,000 agents and 100 browsers on one server", benchFanout],
  ["render", "7-day timeline (10,000 transitions) drawn in headless Chromium", benchTimelineRender],
  ["replicas", "two replicas on one PostgreSQL: cross-replica push, lease takeover, ingest 2 vs 1, catch-up after an outage", benchReplicas],
];

/** rebuild the agent bundle when its sources are newer (the benchmarks run the real bundle) */
function ensureAgentBundle() {
  const newest = (p: string): number => {
    const st = fs.statSync(p);
    return st.isDirectory() ? Math.max(st.mtimeMs, ...fs.readdirSync(p).map((e) => newest(path.join(p, e)))) : st.mtimeMs;
  };
  const built = fs.existsSync(AGENT_BUNDLE) ? fs.statSync(AGENT_BUNDLE).mtimeMs : 0;
  if (built >= Math.max(newest(path.join(ROOT, "agent")), newest(path.join(ROOT, "server/protocol.ts")))) return;
  step("building the agent bundle (node agent/build.mjs)...");
  const r = spawnSync(process.execPath, [path.join(ROOT, "agent/build.mjs")], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("agent build failed");
}

const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim())) : null;
const started = Date.now();
const load: Record<string, string> = { start: loadavg() };
step(`database: ${dbNotice()}`);
step(`mode: ${QUICK ? "QUICK (BENCH_QUICK=1: smaller counts, shorter windows)" : "full"}; machine: ${JSON.stringify(machine())}; loadavg ${load.start}`);
ensureBuild();
ensureAgentBundle();

const rows: Row[] = [];
const timings: Record<string, number> = {};
for (const [key, what, fn] of BENCHES) {
  if (only && !only.has(key)) continue;
  load[key] = loadavg();
  step(`${what} (loadavg ${load[key]})...`);
  const t0 = Date.now();
  try {
    rows.push(...(await fn()));
  } catch (e) {
    console.error(e);
    rows.push(unavailable(key, what, `failed: ${(e as Error).message}`));
  }
  timings[key] = (Date.now() - t0) / 1000;
  step(`${key} done in ${timings[key].toFixed(0)} s`);
}
load.end = loadavg();
const totalS = (Date.now() - started) / 1000;

const header =
  `machine: ${machine().cpus} x ${machine().cpuModel}, ${machine().memGiB} GiB, node ${machine().node}; ` +
  `loadavg (1/5/15 min) at start ${load.start}, at end ${load.end}; ${dbNotice()}; ${QUICK ? "QUICK mode; " : ""}total ${totalS.toFixed(0)} s`;
const tbl = table(rows);
console.log(`\n${header}\n\n${tbl}\n\n${details(rows)}`);
const json = writeJson("results.json", { at: new Date().toISOString(), quick: QUICK, machine: machine(), loadavg: load, database: dbNotice(), seconds: timings, totalSeconds: totalS, rows });
fs.writeFileSync(path.join(ROOT, "bench-results/results.md"), `${header}\n\n${tbl}\n\n${details(rows)}\n`);
console.log(`\nwritten: ${json}, bench-results/results.md`);
const missed = rows.filter((r) => r.met === false);
console.log(missed.length ? `targets missed: ${missed.map((r) => `${r.bench} / ${r.name}`).join("; ")}` : "all targets met");
