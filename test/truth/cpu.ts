/**
 * The lab's claim to the CPU. keepalived, the agents and the server of a schedule must not wait for the CPU:
 * starved, keepalived misses its own adverts (real split brains nobody scheduled), the oracle's address
 * sampler and the agents see changes seconds late, and the schedule scores the machine, not the product
 * (session 29: other test work beside a long run, in other terminal sessions, pushed CPU pressure to 98 %;
 * with the kernel's autogroup scheduling each session gets an equal share whatever its nice value, and the
 * schedules of that hour missed labels that the same product matched on an idle machine).
 *
 * - raisePriority(): the lab (this process and everything it starts: keepalived, agents, server) runs at nice
 *   -10 and, with autogroup scheduling, in an autogroup of nice -10, when it may (root).
 * - CpuPressure: the share of time a thread of the lab waited for a CPU during a schedule, reported with its
 *   score: above STARVED_PCT its evidence says more about the machine than about the product.
 */
import fs from "node:fs";
import os from "node:os";
import { Worker } from "node:worker_threads";

export const STARVED_PCT = 50;
const LAB_NICE = -10;

/** raise the lab's CPU priority; what was done, or why not, in words */
export function raisePriority(): string {
  const done: string[] = [];
  const failed: string[] = [];
  try {
    os.setPriority(0, LAB_NICE);
    done.push(`nice ${LAB_NICE}`);
  } catch (e) {
    failed.push(`nice ${LAB_NICE}: ${(e as Error).message}`);
  }
  const autogroup = "/proc/self/autogroup";
  let enabled = false;
  try {
    enabled = fs.readFileSync("/proc/sys/kernel/sched_autogroup_enabled", "utf8").trim() === "1";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") failed.push(`reading sched_autogroup_enabled: ${(e as Error).message}`);
  }
  if (enabled) {
    try {
      fs.writeFileSync(autogroup, String(LAB_NICE));
      done.push(`autogroup nice ${LAB_NICE}`);
    } catch (e) {
      failed.push(`autogroup nice ${LAB_NICE}: ${(e as Error).message}`);
    }
  }
  return [done.length ? `CPU priority: ${done.join(", ")}` : "", failed.length ? `CPU priority not raised (${failed.join("; ")}): other work on this machine can starve the lab` : ""]
    .filter(Boolean).join("; ");
}

/**
 * How long a thread of the lab, at the lab's priority, waits for a CPU when it wants one: a worker thread
 * (started by this process after raisePriority(): same nice, same autogroup) sleeps 10 ms at a time and sums
 * how late it wakes. The machine-wide PSI figure (/proc/pressure/cpu) counts the waits of every task, also of
 * work at a lower priority that never delays the lab; this probe measures what the lab itself gets.
 */
export class CpuPressure {
  private readonly shared = new SharedArrayBuffer(24);
  /** [0] = stop flag; late µs and probe µs in the BigInt64 view */
  private readonly flag = new Int32Array(this.shared, 0, 1);
  private readonly sums = new BigInt64Array(this.shared, 8, 2);
  private readonly worker: Worker;
  private failure: string | null = null;

  constructor() {
    this.worker = new Worker(PROBE, { eval: true, workerData: this.shared });
    this.worker.on("error", (e) => {
      this.failure = e.message;
    });
    this.worker.unref();
  }

  /** the share of the probe's time spent waiting for a CPU, in %, since construction; stops the probe */
  stop(): number | null {
    Atomics.store(this.flag, 0, 1);
    void this.worker.terminate();
    if (this.failure !== null) throw new Error(`the CPU probe of the truth lab failed: ${this.failure}`);
    const late = Number(Atomics.load(this.sums, 0));
    const total = Number(Atomics.load(this.sums, 1));
    return total > 0 ? Math.min(100, Math.round((late / total) * 1000) / 10) : null;
  }
}

const PROBE = `
const { workerData } = require("node:worker_threads");
const flag = new Int32Array(workerData, 0, 1);
const sums = new BigInt64Array(workerData, 8, 2);
const idle = new Int32Array(new SharedArrayBuffer(4));
while (Atomics.load(flag, 0) === 0) {
  const t = performance.now();
  Atomics.wait(idle, 0, 0, 10);
  const ms = performance.now() - t;
  Atomics.add(sums, 0, BigInt(Math.round(Math.max(0, ms - 10) * 1000)));
  Atomics.add(sums, 1, BigInt(Math.round(ms * 1000)));
}
`;

/** the words for a schedule's CPU pressure: "cpu pressure 3.1 %", with a warning when starved */
export function describePressure(pct: number | null): string {
  if (pct === null) return "cpu pressure unknown (the probe did not run)";
  return pct > STARVED_PCT
    ? `cpu pressure ${pct} %: STARVED (> ${STARVED_PCT} %: other work on the machine; this schedule's evidence is about the machine, rerun it)`
    : `cpu pressure ${pct} %`;
}
