/**
 * keepalived liveness: watches keepalived's parent process and its VRRP child
 * on this node and reports a ProcessRecordMsg at start ("observed"), on every
 * change and hourly ("observed" again, a confirmation).
 *
 * Finding the processes (when none is known):
 *  - pidfiles: --pidfile / --vrrp-pidfile, else the usual places
 *    (DEFAULT_PIDFILES; the VRRP child's pidfile is looked for next to the
 *    parent's first). A pidfile counts only when its pid is a live process
 *    named keepalived in the watched network namespace (a stale file left by
 *    SIGKILL, or a reused pid, does not).
 *  - else a /proc scan (every scanMs, not every poll): processes whose comm is
 *    `keepalived`; the parent is the one whose parent is not keepalived, the
 *    VRRP child its child (with several children, e.g. a checker process,
 *    the vrrp pidfile decides; without one, the lowest pid).
 * Network namespace: with --netns NS only processes whose /proc/PID/ns/net is
 * /run/netns/NS count (and /run/keepalived/NS/keepalived.pid, where keepalived
 * run with net_namespace NS writes it, is looked at first); without, those in
 * the agent's own namespace. An unprivileged agent may not stat another
 * user's /proc/PID/ns/net: then a process named by a pidfile is trusted, and a
 * scanned one counts only when the agent watches the host namespace (the
 * status says so).
 *
 * Watching a known process costs one pread of an already open
 * /proc/PID/stat per poll (intervalMs, default 1 s): no spawn, no new fd, one
 * reused buffer. The fd refers to that very process, so a reused pid cannot
 * fool it: once the process is reaped the read fails (ESRCH); a zombie counts
 * as gone.
 *
 * Graceful or not: keepalived logs "Stopping" / "Stopped Keepalived" when it
 * shuts down, SIGKILL / a crash / the OOM killer log nothing. The agent's log
 * source hands every line to noteLine(); a parent gone within
 * shutdownWindowMs after such a line is "stopped", else "vanished". The
 * decision waits settleMs after the disappearance (the line may be read a
 * little after the process is gone), so it is reported within intervalMs +
 * settleMs (< 2 s by default). Exit detail, best effort, from the lines the
 * source reads: systemd's "Main process exited, code=killed, status=9/KILL"
 * and the kernel's "Out of memory: Killed process N (keepalived)" (only when
 * the journal matches include them), else null.
 */
import fs from "node:fs";
import path from "node:path";
import type { ProcessRecordMsg } from "../server/protocol";
import type { Logger } from "./log";
import { every, type Periodic } from "./ticker";

export type ProcessRecord = Omit<ProcessRecordMsg, "seq">;
type Via = ProcessRecordMsg["via"];
type Event = ProcessRecordMsg["event"];

export const DEFAULT_PIDFILES = ["/run/keepalived.pid", "/run/keepalived/keepalived.pid", "/var/run/keepalived.pid", "/var/run/keepalived/keepalived.pid"];
export const DEFAULT_VRRP_PIDFILES = ["/run/vrrp.pid", "/run/keepalived/vrrp.pid", "/var/run/vrrp.pid", "/var/run/keepalived/vrrp.pid"];

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, X, ... */
  state: string;
  ppid: number;
  /** clock ticks after boot */
  startTime: number;
}

/** Parse /proc/PID/stat ("pid (comm) state ppid ..."; comm may hold spaces and parentheses). Null when malformed. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf(" (");
  const close = text.lastIndexOf(")");
  if (open < 1 || close < open) return null;
  const pid = Number(text.slice(0, open));
  const rest = text.slice(close + 2).split(" ");
  // rest[0] = state (field 3), rest[1] = ppid (field 4), rest[19] = starttime (field 22)
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !rest[0] || !Number.isSafeInteger(ppid) || !Number.isFinite(startTime)) return null;
  return { pid, comm: text.slice(open + 2, close), state: rest[0], ppid, startTime };
}

/** A pidfile's pid (first line, decimal, > 0); null when absent or not a pid. */
export function parsePidfile(text: string): number | null {
  const m = /^\s*(\d{1,10})\s*(?:\n|$)/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 0 && pid <= 0x3fffffff ? pid : null;
}

/** Exit detail from a journal / kernel line about keepalived, or null. */
export function exitDetail(line: string): { exit: string; graceful: boolean } | null {
  if (/Out of memory: Kill(?:ed)? process \d+ \(keepalived\)/.test(line) || /oom-kill:.*task=keepalived\b/.test(line)) return { exit: "oom-kill", graceful: false };
  const m = /Main process exited, code=(killed|dumped|exited), status=(\d+)(?:\/([A-Z0-9]+))?/.exec(line);
  if (!m) return null;
  if (m[1] === "exited") return { exit: `exit status ${m[2]}`, graceful: m[2] === "0" };
  return { exit: `signal ${m[3] ?? m[2]}${m[1] === "dumped" ? " (core dumped)" : ""}`, graceful: false };
}

/** a keepalived shutdown as it logs it: "Stopping", "Stopped", "Stopped Keepalived v2.2.7 ..." */
export const SHUTDOWN_LINE = /\bStopp(?:ing|ed)\b/;

export interface ProcessWatchOptions {
  /** explicit pidfiles (null: the defaults) */
  pidfile: string | null;
  vrrpPidfile: string | null;
  /** network namespace name (/run/netns/NAME), null: the agent's own */
  netns: string | null;
  log: Logger;
  emit: (rec: ProcessRecord) => void;
  /** poll period of a known process (default 1000) */
  intervalMs?: number;
  /** /proc scan period while no process is known (default 5000) */
  scanMs?: number;
  /** wait after a disappearance for the shutdown line (default 500) */
  settleMs?: number;
  /** a shutdown line this recent makes a disappearance "stopped" (default 10000) */
  shutdownWindowMs?: number;
  /** a parent found without its VRRP child is announced after this long anyway (default 1500) */
  childGraceMs?: number;
  /** confirmation period (default 1 h) */
  confirmMs?: number;
  /** for tests: where /proc and /run/netns are, the default pidfiles */
  procRoot?: string;
  netnsDir?: string;
  defaultPidfiles?: string[];
  defaultVrrpPidfiles?: string[];
  now?: () => number;
}

interface Tracked {
  pid: number;
  fd: number;
}

interface Current {
  parent: Tracked;
  child: Tracked | null;
  via: Via;
  /** when it was found; announced once the child is known or childGraceMs passed */
  foundAt: number;
  announced: boolean;
}

/** what was last reported */
interface Reported {
  running: boolean;
  pid: number | null;
  vrrpPid: number | null;
}

export class ProcessWatch {
  private readonly proc: string;
  private readonly interval: number;
  private readonly buf = Buffer.alloc(1024);
  private timer: Periodic | null = null;
  private confirm: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  private cur: Current | null = null;
  private reported: Reported | null = null;
  private via: Via;
  private lastScan = -Infinity;
  private shutdownAt = -Infinity;
  private lastExit: { at: number; exit: string; graceful: boolean } | null = null;
  private gone: { at: number } | null = null;
  private problem: string | null = null;
  private readonly now: () => number;

  constructor(private readonly o: ProcessWatchOptions) {
    this.proc = o.procRoot ?? "/proc";
    this.interval = o.intervalMs ?? 1000;
    this.now = o.now ?? Date.now;
    this.via = o.pidfile ? "pidfile" : "proc";
  }

  status(): string {
    return this.problem ?? "ok";
  }

  /** keepalived's parent pid while it runs and is announced, else null (agent/dumps.ts signals it) */
  pid(): number | null {
    return this.cur?.announced && !this.gone ? this.cur.parent.pid : null;
  }

  start(): void {
    this.tick();
    this.timer = every(this.interval, () => this.tick());
    this.confirm = setInterval(() => this.report(), this.o.confirmMs ?? 3_600_000);
  }

  stop(): void {
    this.timer?.cancel();
    if (this.confirm) clearInterval(this.confirm);
    if (this.settle) clearTimeout(this.settle);
    this.timer = this.confirm = this.settle = null;
    this.release();
  }

  /**
   * a log line the agent's source read from this node; `ts` its node time when known (journal): a line
   * older than the shutdown window (the backlog sent at the agent's first start) says nothing of now
   */
  noteLine(line: string, ts?: number): void {
    if (ts !== undefined && ts < this.now() - (this.o.shutdownWindowMs ?? 10_000)) return;
    if (SHUTDOWN_LINE.test(line)) this.shutdownAt = this.now();
    const d = exitDetail(line);
    if (d) {
      this.lastExit = { at: this.now(), ...d };
      if (d.graceful) this.shutdownAt = this.now();
    }
  }

  /** report the current state as "observed" (hourly, and when the server asks for a resync); not while a disappearance is being decided */
  report(): void {
    if (this.gone) return;
    if (this.cur && !this.cur.announced) return;
    this.send("observed", null);
  }

  /** one poll; public for tests */
  tick(): void {
    if (this.gone) return;
    const c = this.cur;
    if (c) {
      if (!this.alive(c.parent)) return this.lost();
      if (c.child && !this.alive(c.child)) {
        closeQuietly(c.child.fd);
        c.child = null;
        if (c.announced) {
          this.o.log.warn({ pid: c.parent.pid }, "keepalived's VRRP child is gone");
          this.send("child_vanished", null);
        }
      }
      if (!c.child) {
        c.child = this.findChild(c.parent.pid);
        if (c.child && c.announced) {
          this.o.log.info({ pid: c.parent.pid, vrrpPid: c.child.pid }, "keepalived's VRRP child is back");
          this.send("observed", null);
        }
      }
      if (!c.announced && (c.child || this.now() - c.foundAt >= (this.o.childGraceMs ?? 1500))) this.announce();
      return;
    }
    const found = this.find();
    if (found) {
      this.cur = { ...found, foundAt: this.now(), announced: false };
      this.via = found.via;
      this.tick();
    } else if (!this.reported) {
      this.send("observed", null);
    }
  }

  private announce(): void {
    const c = this.cur!;
    c.announced = true;
    const first = !this.reported;
    this.o.log.info({ pid: c.parent.pid, vrrpPid: c.child?.pid ?? null, via: c.via }, first ? "keepalived is running" : "keepalived started");
    if (!first && this.reported!.running) {
      // a restart between two polls: the old parent is gone and a new one runs
      this.send("observed", null);
    } else this.send(first ? "observed" : "started", null);
    this.shutdownAt = -Infinity;
    this.lastExit = null;
  }

  /** the parent is gone: decide stopped / vanished after settleMs */
  private lost(): void {
    const c = this.cur!;
    this.release();
    if (!c.announced) return;
    const at = this.now();
    this.gone = { at };
    this.settle = setTimeout(() => {
      this.settle = null;
      this.gone = null;
      const win = this.o.shutdownWindowMs ?? 10_000;
      const graceful = this.shutdownAt >= at - win;
      const exit = this.lastExit && this.lastExit.at >= at - win ? this.lastExit.exit : null;
      this.o.log[graceful ? "info" : "warn"]({ pid: c.parent.pid, exit }, graceful ? "keepalived stopped" : "keepalived vanished without a logged shutdown");
      this.send(graceful ? "stopped" : "vanished", exit);
      // it may be back already
      this.tick();
    }, this.o.settleMs ?? 500);
  }

  private send(event: Event, exit: string | null): void {
    const c = this.cur && this.cur.announced ? this.cur : null;
    const rec: ProcessRecord = {
      kind: "process",
      ts: this.now(),
      running: !!c,
      event,
      pid: c?.parent.pid ?? null,
      vrrpPid: c?.child?.pid ?? null,
      via: this.via,
      exit,
    };
    this.reported = { running: rec.running, pid: rec.pid, vrrpPid: rec.vrrpPid };
    this.o.emit(rec);
  }

  private release(): void {
    if (!this.cur) return;
    closeQuietly(this.cur.parent.fd);
    if (this.cur.child) closeQuietly(this.cur.child.fd);
    this.cur = null;
  }

  /**
   * Every second per process, so no string is made: the descriptor stays bound to the process it was opened for
   * (a read fails with ESRCH once it is gone, whatever reuses its pid), so only the state letter after the
   * command's closing parenthesis is read: a zombie or a dead task counts as gone.
   */
  private alive(t: Tracked): boolean {
    let n: number;
    try {
      n = fs.readSync(t.fd, this.buf, 0, this.buf.length, 0);
    } catch {
      return false; // ESRCH: the process is gone (the only way this read fails on an open /proc/PID/stat)
    }
    const close = this.buf.lastIndexOf(0x29, n - 1); // ")"
    if (close < 0 || close + 2 >= n) return false;
    const state = this.buf[close + 2];
    return state !== 0x5a && state !== 0x58 && state !== 0x78; // Z, X, x
  }

  /**
   * /proc/PID/stat through the one reused buffer: readFileSync on a /proc file (size 0) allocates a 64 KiB
   * buffer per call, which a scan of every process every scanMs turned into most of the idle agent's CPU and garbage
   */
  private stat(pid: number): ProcStat | null {
    let fd: number;
    try {
      fd = fs.openSync(`${this.proc}/${pid}/stat`, "r");
    } catch {
      return null;
    }
    try {
      const n = fs.readSync(fd, this.buf, 0, this.buf.length, 0);
      return parseStat(this.buf.toString("latin1", 0, n));
    } catch {
      return null;
    } finally {
      closeQuietly(fd);
    }
  }

  private targetNs(): string | null {
    const p = this.o.netns ? path.join(this.o.netnsDir ?? "/run/netns", this.o.netns) : `${this.proc}/self/ns/net`;
    try {
      const s = fs.statSync(p);
      return `${s.dev}:${s.ino}`;
    } catch (e) {
      this.setProblem(`cannot read network namespace ${p}: ${(e as Error).message}`);
      return null;
    }
  }

  /** "unknown": the agent may not look (another user's process and no CAP_SYS_PTRACE: the unprivileged unit) */
  private inNs(pid: number, ns: string): boolean | "unknown" {
    try {
      const s = fs.statSync(`${this.proc}/${pid}/ns/net`);
      return `${s.dev}:${s.ino}` === ns;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === "EACCES" || code === "EPERM" ? "unknown" : false;
    }
  }

  private isKeepalived(st: ProcStat | null): st is ProcStat {
    return !!st && st.comm === "keepalived" && st.state !== "Z" && st.state !== "X";
  }

  private open(pid: number): Tracked | null {
    try {
      return { pid, fd: fs.openSync(`${this.proc}/${pid}/stat`, "r") };
    } catch {
      return null;
    }
  }

  private readPid(file: string): number | null {
    try {
      return parsePidfile(fs.readFileSync(file, "latin1"));
    } catch {
      return null;
    }
  }

  private find(): { parent: Tracked; child: Tracked | null; via: Via } | null {
    const ns = this.targetNs();
    if (ns === null) return null;
    const files = this.o.pidfile ? [this.o.pidfile] : this.defaultPidfiles(DEFAULT_PIDFILES, "keepalived.pid", this.o.defaultPidfiles);
    for (const f of files) {
      const pid = this.readPid(f);
      if (pid === null || !this.isKeepalived(this.stat(pid))) continue;
      const where = this.inNs(pid, ns);
      if (where === false) continue;
      const parent = this.open(pid);
      if (!parent) continue;
      // a pidfile names the process: trusted when its namespace cannot be checked
      this.setProblem(where === "unknown" ? `cannot check the network namespace of keepalived (pid ${pid}, ${f}): not permitted; trusting the pidfile` : null);
      return { parent, child: this.findChild(pid, path.dirname(f)), via: "pidfile" };
    }
    if (this.now() - this.lastScan < (this.o.scanMs ?? 5000)) return null;
    this.lastScan = this.now();
    const ka = new Map<number, ProcStat>();
    let names: string[];
    try {
      names = fs.readdirSync(this.proc);
    } catch (e) {
      this.setProblem(`cannot list ${this.proc}: ${(e as Error).message}`);
      return null;
    }
    for (const n of names) {
      if (n.charCodeAt(0) < 48 || n.charCodeAt(0) > 57) continue;
      const st = this.stat(Number(n));
      if (!this.isKeepalived(st)) continue;
      const where = this.inNs(st.pid, ns);
      // in the host namespace an uncheckable keepalived counts; watching a namespace, only a proven one
      if (where === true || (where === "unknown" && !this.o.netns)) ka.set(st.pid, st);
    }
    this.setProblem(null);
    const parents = [...ka.values()].filter((s) => !ka.has(s.ppid)).sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
    for (const p of parents) {
      const parent = this.open(p.pid);
      if (parent) return { parent, child: this.findChild(p.pid), via: "proc" };
    }
    return null;
  }

  /** the VRRP child of pid: the vrrp pidfile when it names a child of pid, else pid's keepalived children (lowest pid) */
  private findChild(pid: number, dir?: string): Tracked | null {
    const files = this.o.vrrpPidfile
      ? [this.o.vrrpPidfile]
      : [...(dir ? [path.join(dir, "vrrp.pid")] : []), ...this.defaultPidfiles(DEFAULT_VRRP_PIDFILES, "vrrp.pid", this.o.defaultVrrpPidfiles)];
    for (const f of files) {
      const c = this.readPid(f);
      const st = c === null ? null : this.stat(c);
      if (this.isKeepalived(st) && st.ppid === pid) return this.open(st.pid);
    }
    let kids: number[] = [];
    try {
      kids = fs.readFileSync(`${this.proc}/${pid}/task/${pid}/children`, "latin1").split(" ").filter(Boolean).map(Number);
    } catch {
      // no CONFIG_PROC_CHILDREN: the pidfile is the only way
    }
    for (const k of kids.sort((a, b) => a - b)) {
      const st = this.stat(k);
      if (this.isKeepalived(st) && st.ppid === pid) return this.open(k);
    }
    return null;
  }

  /** keepalived run with net_namespace NS keeps its pidfiles in /run/keepalived/NS/ */
  private defaultPidfiles(dflt: string[], name: string, override: string[] | undefined): string[] {
    if (override) return override;
    return this.o.netns ? [`/run/keepalived/${this.o.netns}/${name}`, `/var/run/keepalived/${this.o.netns}/${name}`, ...dflt] : dflt;
  }

  private setProblem(p: string | null): void {
    if (p && p !== this.problem) this.o.log.warn({ problem: p }, "process watch");
    this.problem = p;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
