/**
 * Runs a long-lived helper process (journalctl -f, ip monitor), feeds its
 * stdout line by line, keeps the tail of its stderr for the heartbeat, and
 * restarts it with exponential backoff when it exits.
 *
 * The helper must not outlive the agent. Under systemd, KillMode=control-group
 * takes care of it; elsewhere a SIGKILLed agent would leave it running:
 * `ip monitor` only notices its closed stdout when it next writes (after the
 * next address change, maybe never), and node cannot ask for PR_SET_PDEATHSIG.
 * So every helper runs under a small POSIX sh guard whose stdin is a pipe from
 * the agent: when that pipe closes (the agent stopped it, or died, SIGKILL
 * included) the guard SIGTERMs the helper and exits with its status. The guard
 * keeps no copy of the helper's stdout/stderr, so the helper exiting on its own
 * still ends the output, and the agent then closes the guard's stdin.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "./log";
import { LineSplitter, backoffDelay } from "./lines";

export interface SupervisorOptions {
  name: string;
  command: string;
  /** evaluated at every (re)start, so a restart can resume where the last run stopped */
  args: () => string[];
  onLine: (line: string) => void;
  /** a stdout line longer than this (characters) is dropped whole (default MAX_HELPER_LINE) and counted in `overlongLines` */
  maxLineChars?: number;
  log: Logger;
  /** first restart delay; doubles up to maxDelayMs */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** told about every exit, with the last stderr lines */
  onExit?: (code: number | null, signal: NodeJS.Signals | null, stderr: string[]) => void;
}

/** sh -c GUARD kam-guard COMMAND ARGS...: see the header. Exit status: the command's (127: not found, 143: stopped). */
export const GUARD = [
  // the trap comes first: a SIGTERM arriving before the helper started must not kill the guard alone
  "c=",
  "trap '[ -n \"$c\" ] && kill -TERM $c 2>/dev/null' TERM INT HUP",
  'command -v "$1" >/dev/null 2>&1 || { echo "cannot run $1: command not found" >&2; exit 127; }',
  '"$@" </dev/null &',
  "c=$!",
  "exec >/dev/null 2>&1",
  "while read -r _; do :; done",
  "kill -TERM $c 2>/dev/null",
  'wait "$c"',
].join("\n");

/**
 * Longest stdout line of a helper kept in memory (characters): journalctl's JSON
 * of one entry (a keepalived line is at most a few KiB; binary fields are printed
 * as byte arrays, ~4 characters a byte). A longer one is dropped whole.
 */
export const MAX_HELPER_LINE = 1024 * 1024;

/** A run this long counts as healthy: the next failure starts the backoff from the beginning. */
const HEALTHY_RUN_MS = 30_000;

export class Supervisor {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private stopped = true;
  private stderrTail: string[] = [];
  private lastExit: string | null = null;
  private exited: Promise<void> = Promise.resolve();
  private paused = false;
  /** stdout lines dropped for being longer than maxLineChars */
  overlongLines = 0;

  constructor(private readonly o: SupervisorOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.launch();
  }

  /** "ok" while running cleanly, else a short description of the trouble */
  status(): string {
    const last = this.stderrTail.at(-1);
    let s: string;
    if (this.child) s = last ? `running; stderr: ${last}` : "ok";
    else s = this.lastExit ?? (this.stopped ? "stopped" : "starting");
    return s.slice(0, 500);
  }

  get running(): boolean {
    return this.child !== null;
  }

  /**
   * Backpressure: stop reading the helper's stdout (the pipe fills and the helper
   * blocks in write(2); journalctl's position simply waits) until resume(). The
   * lines of the chunk already read are still delivered.
   */
  pause(): void {
    this.paused = true;
    this.child?.stdout?.pause();
  }

  resume(): void {
    this.paused = false;
    this.child?.stdout?.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private launch(): void {
    if (this.stopped) return;
    const args = this.o.args();
    const started = Date.now();
    this.stderrTail = [];
    this.o.log.debug({ cmd: this.o.command, args }, `${this.o.name}: starting`);
    // detached: the guard leads its own process group, so a last-resort SIGKILL reaches the helper too
    const child = spawn("/bin/sh", ["-c", GUARD, "kam-guard", this.o.command, ...args], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child = child;
    // the helper closed its output (it exited): release the guard
    child.stdout!.once("end", () => child.stdin?.end());
    child.stdin!.on("error", () => {}); // EPIPE once the guard is gone
    const out = new LineSplitter(this.o.maxLineChars ?? MAX_HELPER_LINE, "drop");
    const err = new LineSplitter(4096);
    child.stdout!.on("data", (chunk: Buffer) => {
      const before = out.dropped;
      const lines = out.push(chunk);
      this.overlongLines += out.dropped - before;
      for (const line of lines) if (line.length > 0 && !this.stopped) this.o.onLine(line);
    });
    if (this.paused) child.stdout!.pause();
    child.stderr!.on("data", (chunk: Buffer) => {
      for (const line of err.push(chunk)) {
        if (!line.trim()) continue;
        this.stderrTail.push(line.trim());
        if (this.stderrTail.length > 5) this.stderrTail.shift();
        this.o.log.warn({ stderr: line.trim() }, `${this.o.name}: stderr`);
      }
    });
    let done: () => void = () => {};
    this.exited = new Promise((r) => (done = r));
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (finished) return;
      finished = true;
      this.child = null;
      const tail = this.stderrTail.slice();
      if (spawnError) tail.push(`cannot run ${this.o.command}: ${spawnError.message}`);
      const why = spawnError ? `cannot run ${this.o.command}: ${spawnError.message}` : `exited (code ${code}${signal ? `, ${signal}` : ""})${tail.length ? `: ${tail.at(-1)}` : ""}`;
      done();
      this.o.onExit?.(code, signal, tail);
      if (this.stopped) return;
      if (Date.now() - started > HEALTHY_RUN_MS) this.attempt = 0;
      const delay = backoffDelay(this.attempt++, this.o.minDelayMs ?? 1000, this.o.maxDelayMs ?? 30_000);
      this.lastExit = `${why}; restarting in ${Math.round(delay / 100) / 10}s`;
      this.o.log.warn({ code, signal, stderr: tail, delayMs: delay }, `${this.o.name}: ${why}`);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.launch();
      }, delay);
    };
    child.on("error", (e) => finish(null, null, e));
    child.on("close", (code, signal) => finish(code, signal));
  }

  /** stop the process (SIGTERM, SIGKILL after 2 s) and do not restart it */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (!child) return;
    // closing the guard's stdin stops the helper; SIGTERM does too (the guard traps it)
    child.stdin?.end();
    child.kill("SIGTERM");
    child.stdout?.resume(); // a paused stdout would never end, nor the child 'close'
    const kill = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL"); // the guard's group: guard and helper
      } catch {
        child.kill("SIGKILL");
      }
    }, 2000);
    await this.exited;
    clearTimeout(kill);
  }
}
