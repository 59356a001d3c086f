/**
 * `npm run bench`: runs the benchmarks, prints one table and writes
 * bench-results/results.json. Figures are medians over several runs on this
 * machine; compare ratios, not absolute values, across machines.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../test/helpers/server";
import { benchDetectionLatency } from "./detection-latency";

interface Row {
  name: string;
  n: number;
  median: number;
  p95: number;
  max: number;
  target: number;
  met: boolean;
}

const rows: Row[] = [];
const step = (s: string) => console.log(`[bench] ${s}`);

step("detection latency (real server, embedded database, /live socket)...");
rows.push(...(await benchDetectionLatency()));

console.log("\n| benchmark | n | median | p95 | max | target | met |\n|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.name} | ${r.n} | ${r.median.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} | <= ${r.target} | ${r.met ? "yes" : "NO"} |`);
}
const out = path.join(ROOT, "bench-results/results.json");
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, rows }, null, 2));
console.log(`\nwritten: bench-results/results.json`);
