/**
 * Fact streams for the detector tests, built from real captured keepalived output
 * (test/fixtures/keepalived-2.2.7) or from real-format lines placed on a timeline.
 *
 * - journald JSON: MESSAGE with __REALTIME_TIMESTAMP (µs); node = file name (hx1.journal.json -> hx1)
 * - console logs: time from the line's own prefix (parseLine); continuation lines take the previous time
 * - configs: parsed with the agent's keepalived.conf parser, with a cheap test hash for auth_pass
 * - `seen` facts are synthesised every second per node (the agents were up), `vips` facts follow
 *   keepalived's own `setting VIPs.` / `removing VIPs.` lines (what `ip addr` would show)
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseKeepalivedConf } from "../../agent/keepalived-conf";
import { parseLine } from "../../server/parser";
import type { ConfigInstance } from "../../server/protocol";
import type { Fact } from "../../server/detect/types";
import type { KeepalivedEvent } from "../../server/parser/types";

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/keepalived-2.2.7");

/** A fast stand-in for the agent's scrypt: equal passwords (first 8 bytes) and VRID give equal hashes. */
export function testHash(pass: string, vrid: number | null): string {
  return createHash("sha256").update(Buffer.from(pass, "utf8").subarray(0, 8)).update(`/${vrid}`).digest("hex");
}

/** keepalived.conf text -> the instances the agent would send */
export function confInstances(text: string): ConfigInstance[] {
  const parsed = parseKeepalivedConf("keepalived.conf", { readFile: () => text, glob: () => [] }, { hashPass: testHash });
  if (parsed.errors.length) throw new Error(`config errors: ${parsed.errors.join("; ")}`);
  return parsed.instances;
}

export function fixtureText(rel: string): string {
  return fs.readFileSync(path.join(FIXTURES, rel), "utf8");
}

const vipAddr = (v: string) => v.split("/")[0].toLowerCase();

export interface TimelineOptions {
  /** emit a `vips` fact after every `setting VIPs.` / `removing VIPs.` line (default true) */
  autoVips?: boolean;
}

/** Facts placed on a timeline, returned sorted by time (ties keep insertion order). */
export class Timeline {
  private items: Fact[] = [];
  private configs = new Map<string, ConfigInstance[]>();
  private held = new Map<string, Set<string>>();
  private ids = 0;

  constructor(private opts: TimelineOptions = {}) {}

  config(node: string, ts: number, instances: ConfigInstance[]): this {
    this.configs.set(node, instances);
    this.items.push({ kind: "config", node, ts, id: `${node}:c${++this.ids}`, instances });
    return this;
  }

  /** a raw line (any prefix the parser knows, or none) */
  log(node: string, ts: number, line: string, event?: KeepalivedEvent | null): this {
    const ev = event === undefined ? parseLine(line, { now: ts }).event : event;
    this.items.push({ kind: "log", node, ts, id: `${node}:l${++this.ids}`, line, event: ev });
    if (ev?.type === "vips" && this.opts.autoVips !== false) {
      const cfg = this.configs.get(node)?.find((i) => i.name === ev.instance);
      if (cfg) {
        const set = this.held.get(node) ?? new Set<string>();
        this.held.set(node, set);
        for (const v of cfg.vips) {
          if (ev.action === "set") set.add(vipAddr(v));
          else set.delete(vipAddr(v));
        }
        this.vips(node, ts, [...set]);
      }
    }
    return this;
  }

  /** several lines of one node, `stepMs` apart, starting at ts */
  lines(node: string, ts: number, lines: string[], stepMs = 1): this {
    lines.forEach((l, i) => this.log(node, ts + i * stepMs, l));
    return this;
  }

  vips(node: string, ts: number, addresses: string[]): this {
    this.held.set(node, new Set(addresses.map(vipAddr)));
    this.items.push({ kind: "vips", node, ts, id: `${node}:v${++this.ids}`, addresses: [...addresses] });
    return this;
  }

  /** `seen` every `everyMs` from `from` to `to` (inclusive) */
  seen(node: string, from: number, to: number, everyMs = 1000): this {
    if (!Number.isFinite(from) || !Number.isFinite(to) || !(everyMs > 0)) throw new Error("seen() needs a finite range and a positive step");
    for (let t = from; t <= to; t += everyMs) this.items.push({ kind: "seen", node, ts: t });
    return this;
  }

  /** the agent's process watch: keepalived running or not, and what changed */
  process(node: string, ts: number, running: boolean, event: Extract<Fact, { kind: "process" }>["event"], exit: string | null = null): this {
    this.items.push({ kind: "process", node, ts, id: `${node}:p${++this.ids}`, running, event, exit });
    return this;
  }

  /** a stored keepalived dump sample (agent --dumps-interval): per instance the sum of its auth-error counters */
  dump(node: string, ts: number, auth: Record<string, number>, pid = 4242): this {
    this.items.push({ kind: "dump", node, ts, id: `${node}:k${++this.ids}`, pid, auth });
    return this;
  }

  disconnected(node: string, ts: number): this {
    this.items.push({ kind: "disconnected", node, ts });
    return this;
  }

  facts(): Fact[] {
    return this.items.map((f, i) => ({ f, i })).sort((a, b) => a.f.ts - b.f.ts || a.i - b.i).map((x) => x.f);
  }
}

export interface Fixture {
  facts: Fact[];
  /** node -> config instances */
  configs: Record<string, ConfigInstance[]>;
  /** events.txt: "partition hx3" -> epoch ms */
  events: Record<string, number>;
  start: number;
  end: number;
}

export interface FixtureOptions {
  /** last time each node's agent is heard from (default: the end of the capture) */
  seenUntil?: Record<string, number>;
  seenEveryMs?: number;
}

interface RawLine {
  node: string;
  ts: number;
  line: string;
  event?: KeepalivedEvent | null;
}

function build(dir: string, nodes: string[], lines: RawLine[], opts: FixtureOptions): Fixture {
  lines.sort((a, b) => a.ts - b.ts);
  const start = lines[0].ts;
  const end = lines[lines.length - 1].ts;
  const t = new Timeline();
  const configs: Record<string, ConfigInstance[]> = {};
  for (const n of nodes) {
    configs[n] = confInstances(fixtureText(path.join(dir, `${n}.conf`)));
    t.config(n, start - 1000, configs[n]);
    t.seen(n, start - 1000, opts.seenUntil?.[n] ?? end + 1000, opts.seenEveryMs ?? 1000);
  }
  for (const l of lines) t.log(l.node, l.ts, l.line, l.event);
  const events: Record<string, number> = {};
  const ev = path.join(FIXTURES, dir, "events.txt");
  if (fs.existsSync(ev)) {
    for (const row of fs.readFileSync(ev, "utf8").trim().split("\n")) {
      const m = /^(\S+)\s+(.*)$/.exec(row.trim());
      if (m) events[m[2]] = Number(m[1]) * 1000;
    }
  }
  return { facts: t.facts(), configs, events, start, end };
}

/** three-node-journald: hx1, hx2, hx3 (journalctl -o json) */
export function threeNode(opts: FixtureOptions = {}): Fixture {
  const dir = "three-node-journald";
  const nodes = ["hx1", "hx2", "hx3"];
  const lines: RawLine[] = [];
  for (const node of nodes) {
    for (const row of fixtureText(path.join(dir, `${node}.journal.json`)).split("\n")) {
      if (!row.trim()) continue;
      const j = JSON.parse(row) as { MESSAGE?: unknown; __REALTIME_TIMESTAMP: string };
      if (typeof j.MESSAGE !== "string") continue;
      lines.push({ node, ts: Number(j.__REALTIME_TIMESTAMP) / 1000, line: j.MESSAGE });
    }
  }
  return build(dir, nodes, lines, opts);
}

/** two-node-console: node1, node2 (keepalived -l console output with its own time prefix) */
export function twoNode(opts: FixtureOptions = {}): Fixture {
  const dir = "two-node-console";
  const nodes = ["node1", "node2"];
  const lines: RawLine[] = [];
  for (const node of nodes) {
    let last = 0;
    for (const row of fixtureText(path.join(dir, `${node}.log`)).split("\n")) {
      if (!row.trim()) continue;
      const p = parseLine(row);
      last = p.ts ?? last;
      lines.push({ node, ts: last, line: row, event: p.event });
    }
  }
  return build(dir, nodes, lines, opts);
}

/** the config instances of a fixture node, with fields changed (for drift and mismatch cases) */
export function withConf(base: ConfigInstance[], change: Partial<ConfigInstance> & { name?: string }, which?: string): ConfigInstance[] {
  return base.map((i) => (!which || i.name === which ? { ...i, ...change } : i));
}

/** a fixed start for hand-made timelines */
export const T0 = Date.UTC(2026, 10, 23, 19, 0, 0);

export interface PairOptions {
  /** seen facts for both agents until T0 + horizonMs (default 120 s); 0 = none */
  horizonMs?: number;
  conf1?: ConfigInstance[];
  conf2?: ConfigInstance[];
}

/**
 * node1 + node2 of the two-node fixture (VI_1, VRID 51, VIP 192.0.2.100, advert_int 1) in steady state:
 * both start BACKUP (init) at T0, node1 takes over at T0 + 3.5 s and holds the VIP, node2 stays BACKUP.
 * Tests append what happens next (after T0 + 10 s), with the real keepalived 2.2.7 line formats.
 */
export function pair(opts: PairOptions = {}): Timeline {
  const t = new Timeline();
  const horizon = opts.horizonMs ?? 120_000;
  const conf1 = opts.conf1 ?? confInstances(fixtureText("two-node-console/node1.conf"));
  const conf2 = opts.conf2 ?? confInstances(fixtureText("two-node-console/node2.conf"));
  t.config("node1", T0, conf1).config("node2", T0, conf2);
  if (horizon > 0) t.seen("node1", T0, T0 + horizon).seen("node2", T0, T0 + horizon);
  for (const [n, conf] of [["node1", conf1], ["node2", conf2]] as const) {
    const i = conf[0]?.name ?? "VI_1";
    t.lines(n, T0 + 10, ["Starting Keepalived v2.2.7 (01/16,2022)", `(${i}) removing VIPs.`, `(${i}) Entering BACKUP STATE (init)`]);
  }
  const i1 = conf1[0]?.name ?? "VI_1";
  t.lines("node1", T0 + 3500, [`(${i1}) Receive advertisement timeout`, `(${i1}) Entering MASTER STATE`, `(${i1}) setting VIPs.`]);
  return t;
}

/** node2 takes over while node1 stays MASTER (no adverts seen), at `at` */
export function node2TakesOver(t: Timeline, at: number): Timeline {
  return t.lines("node2", at, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
}

/** node2 yields to node1's advert, at `at` */
export function node2Yields(t: Timeline, at: number): Timeline {
  return t.lines("node2", at, ["(VI_1) Master received advert from 192.0.2.1 with higher priority 150, ours 100", "(VI_1) Entering BACKUP STATE", "(VI_1) removing VIPs."]);
}
