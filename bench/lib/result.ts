/**
 * One line of the benchmark table. Every benchmark returns rows; run.ts
 * prints them as one table and writes them to bench-results/results.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../test/helpers/server";
import { fmt } from "./stats";

export interface Target {
  op: "<=" | ">=";
  value: number;
  /** what the target applies to: the value (default) or the ratio to the baseline */
  on?: "value" | "ratio";
}

export interface Row {
  bench: string;
  /** what was measured */
  name: string;
  unit: string;
  /** the headline figure (a median over runs, or a percentile over samples) */
  value: number;
  /** how the headline was obtained, e.g. "median of 3 runs" or "p99 of 1000" */
  stat: string;
  /** a reference measured in the same run, e.g. plain COPY or an idle round trip */
  baseline?: { name: string; value: number };
  /** value / baseline.value */
  ratio?: number;
  /** further targets checked on this row, beyond `target` */
  target?: Target[];
  /** null: no target; true/false otherwise */
  met: boolean | null;
  /** more figures: percentiles, per-run values, counts */
  detail?: string;
}

export function check(value: number, ratio: number | undefined, targets: Target[] | undefined): boolean | null {
  if (!targets || targets.length === 0) return null;
  return targets.every((t) => {
    const v = t.on === "ratio" ? ratio : value;
    if (v === undefined || Number.isNaN(v)) return false;
    return t.op === "<=" ? v <= t.value : v >= t.value;
  });
}

/** Build a row, computing ratio and met. */
export function row(r: Omit<Row, "met" | "ratio"> & { ratio?: number }): Row {
  const ratio = r.ratio ?? (r.baseline && r.baseline.value ? r.value / r.baseline.value : undefined);
  return { ...r, ratio, met: check(r.value, ratio, r.target) };
}

/** A row for a benchmark that could not run (missing tool, API not there yet). */
export function unavailable(bench: string, name: string, why: string): Row {
  return { bench, name, unit: "", value: NaN, stat: "not available", met: null, detail: why };
}

const targetText = (t?: Target[]) =>
  t && t.length ? t.map((x) => `${x.on === "ratio" ? "ratio " : ""}${x.op} ${fmt(x.value, x.value < 1 ? 2 : 1)}`).join(", ") : "-";

export function table(rows: Row[]): string {
  const out = [
    "| benchmark | figure | value | unit | stat | baseline | ratio | target | met |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const base = r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : "-";
    const met = r.met === null ? "-" : r.met ? "yes" : "**NO**";
    out.push(`| ${r.bench} | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.stat} | ${base} | ${r.ratio === undefined ? "-" : fmt(r.ratio, 2)} | ${targetText(r.target)} | ${met} |`);
  }
  return out.join("\n");
}

export function details(rows: Row[]): string {
  return rows.filter((r) => r.detail).map((r) => `- ${r.bench} / ${r.name}: ${r.detail}`).join("\n");
}

export function loadavg(): string {
  try {
    return fs.readFileSync("/proc/loadavg", "utf8").trim().split(" ").slice(0, 3).join(" ");
  } catch {
    return os.loadavg().map((x) => x.toFixed(2)).join(" ");
  }
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
  };
}

/** write one benchmark's own JSON (when run on its own) */
export function writeJson(file: string, data: unknown): string {
  const out = path.join(ROOT, "bench-results", file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(data, (_k, v) => (typeof v === "number" && Number.isNaN(v) ? null : v), 2));
  return path.relative(ROOT, out);
}

/** `npx tsx bench/<file>.ts`: run one benchmark, print its rows and write bench-results/<name>.json */
export async function runStandalone(name: string, fn: () => Promise<Row[]>) {
  const rows = await fn();
  console.log("\n" + table(rows));
  const d = details(rows);
  if (d) console.log("\n" + d);
  const f = writeJson(`${name}.json`, { at: new Date().toISOString(), machine: machine(), loadavg: loadavg(), rows });
  console.log(`\nwritten: ${f}`);
}

export const isMain = (url: string) => !!process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(url).pathname);
