/**
 * Runs a long-lived helper process (journalctl -f, ip monitor), feeds its
 * stdout line by line, keeps the tail of its stderr for the heartbeat, and
 * restarts it with exponential backoff when it exits.
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
  log: Logger;
  /** first restart delay; doubles up to maxDelayMs */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** told about every exit, with the last stderr lines */
  onExit?: (code: number | null, signal: NodeJS.Signals | null, stderr: string[]) => void;
}

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

  private launch(): void {
    if (this.stopped) return;
    const args = this.o.args();
    const started = Date.now();
    this.stderrTail = [];
    this.o.log.debug({ cmd: this.o.command, args }, `${this.o.name}: starting`);
    const child = spawn(this.o.command, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const out = new LineSplitter();
    const err = new LineSplitter(4096);
    child.stdout!.on("data", (chunk: Buffer) => {
      for (const line of out.push(chunk)) if (line.length > 0) this.o.onLine(line);
    });
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
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 2000);
    await this.exited;
    clearTimeout(kill);
  }
}
