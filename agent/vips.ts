/**
 * Which addresses this node holds: the ground truth for VIP ownership.
 *
 * Runs `ip [-n NS] -j addr show` and reports the full set (a VipRecordMsg)
 * whenever it changes, and as a confirmation every --vip-interval seconds
 * while `ip monitor` is not running, every IDLE_FACTOR times that (60 s by
 * default) while it is. `ip [-n NS] monitor address` runs alongside: any line
 * it prints triggers a re-probe (debounced ~50 ms), so a VIP that moves is
 * seen within milliseconds without fast polling; the periodic probe is the
 * safety net for a change the monitor missed (it restarts: that probes at
 * once too). Each periodic probe was an `ip` process and a stored,
 * acknowledged record: most of the idle agent's CPU (docs/PERFORMANCE.md).
 *
 * Kept: every address except loopback (interfaces flagged LOOPBACK, and
 * 127.0.0.0/8 and ::1 anywhere). IPv6 link-local (fe80::/10) addresses ARE
 * kept: keepalived IPv6 instances use them as virtual addresses.
 */
import { execFile } from "node:child_process";
import { HeldAddress, LIMITS, type VipRecordMsg } from "../server/protocol";
import type { Logger } from "./log";
import { Supervisor } from "./supervise";
import { every, type Periodic } from "./ticker";

/** Map `ip -j addr show` output to the held addresses, sorted (interface, address). Never throws. */
export function mapIpAddr(json: unknown): HeldAddress[] {
  const out: HeldAddress[] = [];
  if (!Array.isArray(json)) return out;
  for (const link of json) {
    if (!link || typeof link !== "object") continue;
    const l = link as { ifname?: unknown; flags?: unknown; link_type?: unknown; addr_info?: unknown };
    if ((Array.isArray(l.flags) && l.flags.includes("LOOPBACK")) || l.link_type === "loopback") continue;
    if (!Array.isArray(l.addr_info) || typeof l.ifname !== "string") continue;
    for (const a of l.addr_info) {
      if (!a || typeof a !== "object") continue;
      const { local, prefixlen } = a as { local?: unknown; prefixlen?: unknown };
      if (typeof local !== "string" || local === "::1" || /^127\./.test(local)) continue;
      const parsed = HeldAddress.safeParse({ address: local, prefixlen, iface: l.ifname });
      if (parsed.success) out.push(parsed.data);
    }
  }
  out.sort((x, y) => (x.iface === y.iface ? (x.address < y.address ? -1 : x.address > y.address ? 1 : 0) : x.iface < y.iface ? -1 : 1));
  return out.slice(0, LIMITS.maxAddresses);
}

/** the periodic probe while `ip monitor` runs: every IDLE_FACTOR intervals */
export const IDLE_FACTOR = 6;

export interface VipProbeOptions {
  ip: string;
  netns: string | null;
  /** the periodic probe and report; IDLE_FACTOR times this while `ip monitor` runs */
  intervalMs: number;
  log: Logger;
  emit: (rec: Omit<VipRecordMsg, "seq">) => void;
  /** debounce of `ip monitor` output */
  debounceMs?: number;
}

export class VipProbe {
  private timer: Periodic | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private monitor: Supervisor;
  private last: string | null = null;
  private running: Promise<void> | null = null;
  private again: { force: boolean } | null = null;
  private problem: string | null = "not probed yet";
  private stopped = false;
  /** when the last periodic (forced) probe ran */
  private lastFull = 0;

  constructor(private readonly o: VipProbeOptions) {
    const ns = o.netns ? ["-n", o.netns] : [];
    this.monitor = new Supervisor({
      name: "ip monitor",
      command: o.ip,
      args: () => [...ns, "monitor", "address"],
      log: o.log,
      onLine: () => this.soon(),
      // a restarted monitor may have missed changes
      onExit: () => this.soon(),
    });
  }

  status(): string {
    const mon = this.monitor.status();
    if (this.problem) return this.problem;
    return mon === "ok" ? "ok" : `ip monitor: ${mon}`;
  }

  start(): void {
    this.stopped = false;
    this.monitor.start();
    void this.probe(true);
    // wakes every interval, probes every interval only while the monitor is not running
    this.timer = every(this.o.intervalMs, () => this.periodic());
  }

  private periodic(): void {
    const period = this.monitor.running ? this.o.intervalMs * IDLE_FACTOR : this.o.intervalMs;
    // half an interval of slack: the timer and the probe's own time must not skip a round
    if (Date.now() - this.lastFull >= period - this.o.intervalMs / 2) void this.probe(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    if (this.debounce) clearTimeout(this.debounce);
    await this.monitor.stop();
    await this.running;
  }

  private soon(): void {
    if (this.debounce || this.stopped) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.probe(false);
    }, this.o.debounceMs ?? 50);
  }

  /** probe now; force: report even when unchanged (periodic report, server resync) */
  probe(force: boolean): Promise<void> {
    if (this.running) {
      this.again = { force: force || (this.again?.force ?? false) };
      return this.running;
    }
    this.running = this.run(force).finally(() => {
      this.running = null;
      const next = this.again;
      this.again = null;
      if (next && !this.stopped) void this.probe(next.force);
    });
    return this.running;
  }

  private async run(force: boolean): Promise<void> {
    if (force) this.lastFull = Date.now();
    const args = [...(this.o.netns ? ["-n", this.o.netns] : []), "-j", "addr", "show"];
    let stdout: string;
    try {
      stdout = await new Promise<string>((resolve, reject) =>
        execFile(this.o.ip, args, { timeout: 5000, maxBuffer: 16 * 1024 * 1024 }, (err, out, errOut) =>
          err ? reject(new Error(`${this.o.ip} ${args.join(" ")}: ${(String(errOut).trim() || err.message).slice(0, 300)}`)) : resolve(out),
        ),
      );
    } catch (e) {
      this.setProblem((e as Error).message);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(stdout);
    } catch {
      this.setProblem(`${this.o.ip} ${args.join(" ")} printed no JSON (iproute2 too old for -j?)`);
      return;
    }
    this.setProblem(null);
    const addresses = mapIpAddr(json);
    const key = JSON.stringify(addresses);
    if (this.stopped || (!force && key === this.last)) return;
    if (key !== this.last) this.o.log.info({ addresses: addresses.map((a) => `${a.address}/${a.prefixlen} ${a.iface}`) }, "held addresses");
    this.last = key;
    this.o.emit({ kind: "vips", ts: Date.now(), addresses });
  }

  private setProblem(p: string | null): void {
    if (p && p !== this.problem) this.o.log.warn({ problem: p }, "VIP probe failed");
    this.problem = p;
  }
}
