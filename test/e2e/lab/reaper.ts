/**
 * Everything the lab creates is registered here (process ids, network
 * namespaces, directories, other undo steps) and torn down in reverse order:
 * by the tests' after() hooks, and also when the test process ends some other
 * way (SIGINT, SIGTERM, an uncaught error: the `exit` handler runs the
 * synchronous teardown). Names carry the creating process id, so a later run
 * also removes what a SIGKILLed run left behind (sweepStale).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** every lab namespace starts with this, then the creating pid: kame<pid>x<rand>-<what> */
export const NS_PREFIX = "kame";

type Undo = { what: string; run: () => void };
const undo: Undo[] = [];
let installed = false;

/** a name unique to this process and call, for namespaces and other lab objects */
export function labName(what: string): string {
  return `${NS_PREFIX}${process.pid}x${randomBytes(2).toString("hex")}-${what}`;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 15_000 }).toString();
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** pids of every process inside a network namespace */
export function netnsPids(ns: string): number[] {
  try {
    return sh("ip", ["netns", "pids", ns]).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** every process below pid (children, their children, ...) */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const p of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(ppid, [...(parent.get(ppid) ?? []), Number(p)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** SIGKILL a process and everything below it, like systemd stopping a unit's control group */
export function killTree(pid: number): void {
  const all = [pid, ...descendants(pid)];
  for (const p of all) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function zombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/** live processes of a namespace by name (the agent's `ip -n NS monitor` is in there too, and must be left alone) */
export function netnsPidsNamed(ns: string, name: RegExp): number[] {
  return netnsPids(ns).filter((p) => name.test(comm(p)) && !zombie(p));
}

/** signal every process inside a namespace, or only those whose name matches */
export function killNetnsProcesses(ns: string, signal: NodeJS.Signals = "SIGKILL", only?: RegExp): void {
  for (const pid of only ? netnsPidsNamed(ns, only) : netnsPids(ns)) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** kill every process inside, then delete the namespace */
export function deleteNetns(ns: string): void {
  killNetnsProcesses(ns);
  try {
    sh("ip", ["netns", "del", ns]);
  } catch {
    /* already gone */
  }
}

function teardownSync(reason: string, mark = 0): void {
  if (undo.length <= mark) return;
  const errors: string[] = [];
  while (undo.length > mark) {
    const u = undo.pop()!;
    try {
      u.run();
    } catch (e) {
      errors.push(`${u.what}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (errors.length) process.stderr.write(`lab teardown (${reason}) left problems:\n  ${errors.join("\n  ")}\n`);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => teardownSync("exit"));
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      teardownSync(sig);
      process.exit(130);
    });
  }
}

/** Register an undo step; returns a function that runs it now (once) and forgets it. */
export function onTeardown(what: string, run: () => void): () => void {
  install();
  const u: Undo = { what, run };
  undo.push(u);
  return () => {
    const i = undo.indexOf(u);
    if (i < 0) return;
    undo.splice(i, 1);
    u.run();
  };
}

/** how many undo steps are registered now (teardownTo(mark) undoes everything registered after it) */
export function teardownMark(): number {
  return undo.length;
}

/** run, newest first, the undo steps registered after `mark` (one truth-lab schedule's cluster) */
export function teardownTo(mark: number): void {
  teardownSync("scope", mark);
}

/** Run every registered undo step now (after() hooks call this). */
export function teardownAll(): void {
  teardownSync("teardown");
}

/** every process the lab starts inherits this variable, naming the test process that owns it */
export const OWNER_VAR = "E2E_LAB_OWNER";

/** mark this test process as the owner of everything it spawns from now on */
export function markOwnership(): void {
  process.env[OWNER_VAR] = String(process.pid);
}

/** processes started by a lab whose test process is gone */
function orphans(): number[] {
  const out: number[] = [];
  const re = new RegExp(`(?:^|\\0)${OWNER_VAR}=(\\d+)(?:\\0|$)`);
  for (const p of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const m = re.exec(fs.readFileSync(`/proc/${p}/environ`, "latin1"));
      if (m && !alive(Number(m[1]))) out.push(Number(p));
    } catch {
      /* gone, or not readable */
    }
  }
  return out;
}

/**
 * Remove what a SIGKILLed earlier run left behind: its namespaces (with the
 * keepalived inside) and every process it had started (server, agents,
 * journald, PostgreSQL), found by the owner variable of a dead test process.
 */
export function sweepStale(): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync("/run/netns");
  } catch {
    /* no namespaces at all */
  }
  for (const n of names) {
    const m = new RegExp(`^${NS_PREFIX}(\\d+)x[0-9a-f]+-`).exec(n);
    if (!m || alive(Number(m[1]))) continue;
    deleteNetns(n);
    removed.push(`netns ${n}`);
  }
  for (const pid of orphans()) {
    try {
      process.kill(pid, "SIGKILL");
      removed.push(`process ${pid}`);
    } catch {
      /* gone */
    }
  }
  // directories named after their (dead) test process: labs, private PostgreSQL
  for (const d of fs.readdirSync(os.tmpdir())) {
    const m = /^kam-e2e-(?:[a-z0-9]+-)?(\d+)-/.exec(d);
    if (!m || alive(Number(m[1]))) continue;
    fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    removed.push(`directory ${d}`);
  }
  return removed;
}

/** a temporary directory named after this test process (so a later run can remove it if this one is killed) */
export function labTempDir(kind: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `kam-e2e-${kind}-${process.pid}-`));
}
