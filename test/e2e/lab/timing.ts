/**
 * The measurement the suite exists for: per scenario, what was expected, what
 * the monitor showed, and the seconds from fault injection to the incident
 * (or state) arriving on the live socket. Every test file adds its rows to a
 * file shared by one run of the test runner (named after the runner's pid and
 * start time); each file prints its own rows, and the file that completes the
 * set of test/e2e/*.test.ts prints the whole table.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Row {
  scenario: string;
  expected: string;
  got: string;
  /** null when there is no detection to time (a "stays quiet" check) */
  seconds: number | null;
  file?: string;
}

const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function runKey(): string {
  let started = "0";
  try {
    const stat = fs.readFileSync(`/proc/${process.ppid}/stat`, "utf8");
    started = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    /* no /proc: the pid alone */
  }
  return `${process.ppid}-${started}`;
}

const rowsFile = path.join(os.tmpdir(), `kam-e2e-timings-${runKey()}.jsonl`);

/** rows files of runs whose test runner is gone (a single file run, an interrupted run) */
function sweepRowsFiles(): void {
  for (const f of fs.readdirSync(os.tmpdir())) {
    const m = /^kam-e2e-timings-(\d+)-\d+\.jsonl$/.exec(f);
    if (!m || path.join(os.tmpdir(), f) === rowsFile) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      fs.rmSync(path.join(os.tmpdir(), f), { force: true });
    }
  }
}

export class Timings {
  private rows: Row[] = [];
  constructor(private file: string) {
    sweepRowsFiles();
  }

  add(row: Row): void {
    const r = { ...row, file: this.file };
    this.rows.push(r);
    fs.appendFileSync(rowsFile, `${JSON.stringify(r)}\n`);
  }

  /** print this file's rows, and the whole run's table when every e2e file has reported */
  print(): void {
    fs.appendFileSync(rowsFile, `${JSON.stringify({ done: this.file })}\n`);
    const all = fs.readFileSync(rowsFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Row | { done: string });
    const done = new Set(all.flatMap((x) => ("done" in x ? [x.done] : [])));
    const files = fs.readdirSync(E2E_DIR).filter((f) => f.endsWith(".test.ts"));
    const complete = files.every((f) => done.has(f));
    console.log(this.rows.length ? `\ne2e timings: ${this.file}\n${table(this.rows)}` : `\ne2e timings: ${this.file}: nothing measured (the lab did not run)`);
    if (complete && files.length > 1) {
      // by scenario number, in the order measured within one number
      const num = (r: Row) => Number.parseInt(r.scenario, 10) || 0;
      const rows = all.filter((x): x is Row => !("done" in x)).sort((a, b) => num(a) - num(b));
      console.log(`\ne2e timings: whole run (${files.length} files)\n${table(rows)}`);
    }
    if (complete) fs.rmSync(rowsFile, { force: true });
  }
}

export function table(rows: Row[]): string {
  const head = ["scenario", "expected", "got", "seconds"];
  const body = rows.map((r) => [r.scenario, r.expected, r.got, r.seconds === null ? "-" : r.seconds.toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join(" | ")} |`;
  return [line(head), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

export const secondsSince = (t0: number, t1: number) => Math.round((t1 - t0) / 100) / 10;
