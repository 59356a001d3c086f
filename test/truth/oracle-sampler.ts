/**
 * The oracle's eyes: samples every lab host directly, never through the
 * product. Every 200 ms: `ip -j addr` of eth0 in each namespace and
 * keepalived's pid file + /proc (running or not); every second: keepalived's
 * own JSON dump (`kill -s <signum JSON> <pid>`, written to the host's
 * KA_TMP_DIR/TMPDIR, read on the next tick) and the VRRP packet counters of an
 * nftables table inside each host namespace (ip protocol 112 in and out).
 * Records changes into an Observations object (oracle.ts). Imports nothing
 * from server/ (checked by test/unit/truth-oracle-imports.test.ts).
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Observations } from "./oracle";

export interface SampledHost {
  name: string;
  ns: string;
  /** keepalived's directory: keepalived.pid, and keepalived.json (its KA_TMP_DIR) */
  dir: string;
}

export const COUNTER_TABLE = "kamtruth";

/** an nftables table counting VRRP in and out inside the host's namespace (before any drop rule: priority -50) */
export function installVrrpCounters(ns: string): void {
  execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], {
    input: `table inet ${COUNTER_TABLE} {\n  chain in {\n    type filter hook input priority -50; policy accept;\n    ip protocol 112 counter\n  }\n  chain out {\n    type filter hook output priority -50; policy accept;\n    ip protocol 112 counter\n  }\n}\n`,
    stdio: ["pipe", "pipe", "pipe"], timeout: 10_000,
  });
}

function run(cmd: string, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

let jsonSignal: number | null = null;
/** keepalived --signum=JSON (36 on Debian's 2.2.7) */
export function jsonSignum(): number {
  if (jsonSignal === null) jsonSignal = Number(execFileSync("keepalived", ["--signum=JSON"], { timeout: 5000 }).toString().trim());
  if (!Number.isInteger(jsonSignal) || jsonSignal <= 0) throw new Error(`keepalived --signum=JSON gave ${jsonSignal}`);
  return jsonSignal;
}

function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

export function keepalivedPid(dir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, "keepalived.pid"), "utf8").trim());
    return pid > 0 && pidAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

interface JsonEntry {
  data?: { iname?: string; vrid?: number; state?: number; last_transition?: number };
}

export class Sampler {
  private timers: NodeJS.Timeout[] = [];
  private lastAddr = new Map<string, string>();
  private lastRun = new Map<string, boolean>();
  private lastDump = new Map<string, number>();
  private busy = new Set<string>();
  /** current VIP holders as last sampled (the harness resolves "the MASTER" with it) */
  readonly addrs = new Map<string, string[]>();
  private stopped = false;

  constructor(readonly hosts: SampledHost[], readonly obs: Observations) {}

  start(): void {
    this.timers.push(setInterval(() => void this.fast(), 200));
    this.timers.push(setInterval(() => void this.slow(), 1000));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }

  private err(what: string, e: unknown): void {
    if (this.obs.errors.length < 500) this.obs.errors.push(`${new Date().toISOString()} ${what}: ${(e as Error).message ?? e}`);
  }

  /** once-guarded tick per host and kind (a slow ip call never piles up) */
  private async once(key: string, fn: () => Promise<void>): Promise<void> {
    if (this.busy.has(key) || this.stopped) return;
    this.busy.add(key);
    try {
      await fn();
    } catch (e) {
      this.err(key, e);
    } finally {
      this.busy.delete(key);
    }
  }

  private async fast(): Promise<void> {
    await Promise.all(this.hosts.map(async (h) => {
      // process: the pid file's parent alive
      const running = keepalivedPid(h.dir) !== null;
      if (this.lastRun.get(h.name) !== running) {
        this.lastRun.set(h.name, running);
        this.obs.proc.push({ t: Date.now(), host: h.name, running });
      }
      await this.once(`addr ${h.name}`, async () => {
        // stamped at the middle of the call: under load spawning `ip` takes most of a second, and the end of the
        // call made a VIP removed at a graceful stop look 1.4 s later than it was (seed 1309)
        const asked = Date.now();
        const out = await run("ip", ["-j", "-n", h.ns, "addr", "show", "dev", "eth0"]);
        const t = Math.round((asked + Date.now()) / 2);
        const j = JSON.parse(out) as { addr_info?: { family: string; local: string }[] }[];
        const ips = j.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => a.local)).sort();
        this.addrs.set(h.name, ips);
        const key = ips.join(",");
        if (this.lastAddr.get(h.name) !== key) {
          this.lastAddr.set(h.name, key);
          this.obs.addr.push({ t, host: h.name, ips });
        }
      });
    }));
  }

  private async slow(): Promise<void> {
    await Promise.all(this.hosts.map(async (h) => {
      await this.once(`json ${h.name}`, async () => {
        const file = path.join(h.dir, "keepalived.json");
        let st: fs.Stats | null = null;
        try {
          st = fs.statSync(file);
        } catch {
          /* not written yet */
        }
        if (st && st.mtimeMs > (this.lastDump.get(h.name) ?? 0)) {
          const text = fs.readFileSync(file, "utf8");
          if (text.trim()) {
            const j = JSON.parse(text) as JsonEntry[]; // a half-written dump throws: counted, read again next tick
            this.lastDump.set(h.name, st.mtimeMs);
            this.obs.dumps.push({
              t: st.mtimeMs, host: h.name,
              instances: j.map((e) => ({
                iname: String(e.data?.iname), vrid: Number(e.data?.vrid), state: Number(e.data?.state),
                lastTransition: Math.round(Number(e.data?.last_transition ?? 0) * 1000),
              })),
            });
          }
        }
        const pid = keepalivedPid(h.dir);
        if (pid !== null) {
          try {
            process.kill(pid, jsonSignum());
          } catch {
            /* exited meanwhile */
          }
        }
      });
      await this.once(`nft ${h.name}`, async () => {
        const out = await run("ip", ["netns", "exec", h.ns, "nft", "-j", "list", "table", "inet", COUNTER_TABLE]);
        const j = JSON.parse(out) as { nftables: { rule?: { chain: string; expr: { counter?: { packets: number } }[] } }[] };
        let rx = 0;
        let tx = 0;
        for (const x of j.nftables) {
          const c = x.rule?.expr.find((e) => e.counter)?.counter?.packets;
          if (c === undefined) continue;
          if (x.rule!.chain === "in") rx = c;
          else tx = c;
        }
        this.obs.vrrp.push({ t: Date.now(), host: h.name, rx, tx });
      });
    }));
  }

  /** wait until every in-flight sample finished (at most 3 s) */
  async drain(): Promise<void> {
    const end = Date.now() + 3000;
    while (this.busy.size && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }
}
