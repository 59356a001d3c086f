/** Process figures from /proc: CPU ticks, resident memory, whole-machine CPU use. */
import { execFileSync } from "node:child_process";
import fs from "node:fs";

let hz = 0;
/** clock ticks per second (getconf CLK_TCK; 100 on Linux) */
export function clkTck(): number {
  if (hz) return hz;
  try {
    hz = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    hz = 100;
  }
  return hz;
}

export interface CpuTicks {
  /** utime + stime of the process */
  self: number;
  /** cutime + cstime: children it waited for */
  children: number;
}

export function cpuTicks(pid: number): CpuTicks {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // the command name may contain spaces: fields start after the last ')'
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state): utime is field 14 -> f[11]
  return { self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

/** VmRSS in MiB, or NaN when the process is gone */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** private (anonymous) resident memory in MiB, from /proc/<pid>/smaps_rollup */
export function anonMiB(pid: number): number {
  try {
    const m = /Anonymous:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Pss and private memory (Private_Clean + Private_Dirty) of a process, MiB, from smaps_rollup */
export function privateMiB(pid: number): { pss: number; priv: number } {
  try {
    const t = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? NaN);
    return { pss: kb("Pss") / 1024, priv: (kb("Private_Clean") + kb("Private_Dirty")) / 1024 };
  } catch {
    return { pss: NaN, priv: NaN };
  }
}

/** direct children of a process */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** whole-machine CPU: [busy, total] jiffies from /proc/stat */
export function machineCpu(): { busy: number; total: number } {
  const l = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = l[3] + (l[4] ?? 0);
  const total = l.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU use of one process over a window, in % of one core, plus the machine's busy % (all cores) */
export class CpuWindow {
  private t0 = performance.now();
  private p0: CpuTicks;
  private m0 = machineCpu();
  constructor(private pid: number) {
    this.p0 = cpuTicks(pid);
  }
  read(): { processPct: number; childrenPct: number; machineBusyPct: number; seconds: number } {
    const secs = (performance.now() - this.t0) / 1000;
    const p = cpuTicks(this.pid);
    const m = machineCpu();
    const t = clkTck();
    return {
      processPct: ((p.self - this.p0.self) / t / secs) * 100,
      childrenPct: ((p.children - this.p0.children) / t / secs) * 100,
      machineBusyPct: ((m.busy - this.m0.busy) / Math.max(1, m.total - this.m0.total)) * 100,
      seconds: secs,
    };
  }
}

/** sample RSS of a process every `everyMs` until stopped */
export function sampleRss(pid: number, everyMs = 1000) {
  const xs: number[] = [];
  const take = () => {
    const v = rssMiB(pid);
    if (!Number.isNaN(v)) xs.push(v);
  };
  take();
  const t = setInterval(take, everyMs);
  return {
    samples: xs,
    stop() {
      clearInterval(t);
      take();
      return xs;
    },
  };
}

/**
 * CPU of the PostgreSQL backends serving the current database (when the
 * server runs on this machine): call, then call the returned function at the
 * end of the window; % of one core.
 */
export async function pgBackendsCpu(db: { query(sql: string): Promise<{ rows: unknown[] }> }): Promise<() => Promise<number>> {
  const pids = async () =>
    ((await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).rows as { pid: number }[]).map((r) => r.pid);
  const ticks = (pid: number) => {
    try {
      return cpuTicks(pid).self;
    } catch {
      return NaN;
    }
  };
  const t0 = performance.now();
  const start = new Map((await pids()).map((p) => [p, ticks(p)]));
  return async () => {
    const secs = (performance.now() - t0) / 1000;
    let sum = 0;
    for (const p of await pids()) {
      const v = ticks(p) - (start.get(p) ?? 0);
      if (Number.isFinite(v)) sum += v;
    }
    return (sum / clkTck() / secs) * 100;
  };
}

/**
 * CPU time of a process in ms, every thread's (the first field of /proc/PID/task/TID/schedstat: ns on the CPU,
 * far finer than the 10 ms ticks of /proc/PID/stat); threads that ended meanwhile are not counted. NaN when gone.
 */
export function cpuMs(pid: number): number {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  let ns = 0;
  for (const t of tids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e6;
}

/**
 * Voluntary context switches of a process's main thread (/proc/PID/task/PID/status): each is a wait that
 * ended, so over an idle window they count the event loop's wake-ups, whatever else the machine does (the
 * CPU figures move with the machine's load; this count does not). NaN when gone.
 */
export function mainThreadWaits(pid: number): number {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
