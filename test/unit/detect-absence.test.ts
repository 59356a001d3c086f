/**
 * DUAL_MASTER over an agent's absence, judged once its backlog has arrived (server/detect/absence.ts;
 * truth lab seed 3107 of session 31). Node a is MASTER; its agent goes away at t and is back at t + 20 s; node
 * b (online throughout) becomes MASTER at t + 5 s on an auth mismatch and yields at t + 10.5 s.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay } from "../../server/detect";
import type { Fact } from "../../server/detect/types";
import { parseLine } from "../../server/parser";

const t = 1_800_000_000_000;
const cfg = (node: string): Fact => ({ kind: "config", node, ts: t - 30_000, id: `c-${node}`, instances: [{
  name: "VI_1", vrid: 51, interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: null, authPassHash: null,
  vips: [], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null }] });
let n = 0;
const log = (node: string, ts: number, line: string): Fact => ({ kind: "log", node, ts, id: `${node}-${n++}`, line, event: parseLine(line, { now: ts }).event });
const seen = (node: string, from: number, to: number): Fact[] => {
  const out: Fact[] = [];
  for (let x = from; x <= to; x += 1000) out.push({ kind: "seen", node, ts: x });
  return out;
};
const byTs = (fs: Fact[]) => fs.map((f, i) => ({ f, i })).sort((x, y) => x.f.ts - y.f.ts || x.i - y.i).map((x) => x.f);

interface Opts {
  /** lines of a's backlog (logged while away, sent when it is back) */
  backlog?: Fact[];
  /** b's MASTER stretch, ms after t */
  bMaster?: [number, number];
  /** facts of a right after it is back */
  onReturn?: Fact[];
}

/** live order: everything by time, except a's backlog, which arrives right after a's return at t + 20 s */
function facts(o: Opts = {}): Fact[] {
  const [m0, m1] = o.bMaster ?? [5_000, 10_500];
  const live = byTs([
    cfg("a"), cfg("b"),
    log("a", t - 20_000, "(VI_1) Entering MASTER STATE"), log("b", t - 20_000, "(VI_1) Entering BACKUP STATE"),
    ...seen("a", t - 20_000, t - 1_000), ...seen("b", t - 20_000, t + 40_000),
    { kind: "disconnected", node: "a", ts: t },
    log("b", t + m0 - 900, "(VI_1) received an invalid passwd!"),
    log("b", t + m0, "(VI_1) Entering MASTER STATE"),
    log("b", t + m1, "(VI_1) Entering BACKUP STATE"),
  ]);
  const ret = byTs([...seen("a", t + 20_000, t + 40_000), log("a", t + 25_000, "(VI_1) received an invalid passwd!")]);
  const backlog = o.backlog ?? [log("a", t + 5_200, "(VI_1) received an invalid passwd!")];
  return deliver(live, ret, [...(o.onReturn ?? []), ...backlog]);
}

/**
 * the live facts by time, except what a's agent sends when it is back at t + 20 s: its first `ret` fact, then
 * `sentBack` (what it reports first, and its backlog), then the rest of `ret` with the live facts from then on
 */
function deliver(live: Fact[], ret: Fact[], sentBack: Fact[]): Fact[] {
  const [first, ...rest] = ret;
  const before = live.filter((f) => f.ts < t + 20_000);
  const after = live.filter((f) => f.ts >= t + 20_000);
  return [...before, first, ...sentBack, ...byTs([...after, ...rest])];
}

function duals(fs: Fact[]) {
  const e = new DetectionEngine("c");
  for (const f of fs) e.push(f);
  e.tick(t + 60_000);
  e.assertHealthy();
  return e.incidents().filter((i) => i.kind === "DUAL_MASTER");
}

describe("DUAL_MASTER over an agent's absence", () => {
  it("a peer MASTER while the absent MASTER logged no change is reported after the fact, at its own times, with its cause", () => {
    const d = duals(facts());
    assert.equal(d.length, 1);
    assert.equal(d[0].openedAt, t + 5_000);
    assert.equal(d[0].closedAt, t + 10_500);
    assert.deepEqual(d[0].nodes, ["a", "b"]);
    assert.equal(d[0].cause.code, "auth_mismatch");
    assert.match(d[0].cause.summary, /found after the fact: the agent on a was away .* staying MASTER/);
    assert.ok(d[0].evidence.some((x) => x.node === "b" && x.line === "(VI_1) Entering MASTER STATE"), "b's MASTER line");
    assert.ok(d[0].evidence.some((x) => x.node === "a" && x.kind === "liveness" && /judged when the agent on a came back/.test(x.line)));
  });

  it("a replay of the same facts finds the same incident", () => {
    const live = duals(facts());
    const again = replay(facts(), t + 60_000, undefined, "c").filter((i) => i.kind === "DUAL_MASTER");
    assert.deepEqual(again.map((i) => [i.openedAt, i.closedAt, i.cause.code]), live.map((i) => [i.openedAt, i.closedAt, i.cause.code]));
  });

  it("nothing when the backlog shows the absent node left MASTER before the peer took over", () => {
    assert.deepEqual(duals(facts({ backlog: [log("a", t + 2_000, "(VI_1) Entering BACKUP STATE")] })), []);
  });

  it("a backlog MASTER stretch that ended meanwhile is judged from its own lines", () => {
    // a stepped down at t + 2 s and took the role back at t + 7 s: overlap t + 7 s .. t + 10.5 s
    const d = duals(facts({ backlog: [log("a", t + 2_000, "(VI_1) Entering BACKUP STATE"), log("a", t + 7_000, "(VI_1) Entering MASTER STATE")] }));
    assert.equal(d.length, 1);
    assert.equal(d[0].openedAt, t + 7_000);
    assert.equal(d[0].closedAt, t + 10_500);
  });

  it("a configuration change meanwhile that keeps the router's members (b's password, as in seed 3107) leaves the picture whole", () => {
    const c = cfg("b") as Extract<Fact, { kind: "config" }>;
    const changed = (ts: number, pass: string): Fact => ({ ...c, ts, id: `c-b-${ts}`, instances: [{ ...c.instances[0], authType: "PASS", authPassHash: pass }] });
    const fs = facts();
    const i = fs.findIndex((f) => f.kind === "disconnected");
    fs.splice(i + 1, 0, changed(t + 1_000, "x1"));
    const j = fs.findIndex((f) => f.kind === "log" && f.node === "b" && f.ts === t + 10_500);
    fs.splice(j + 1, 0, changed(t + 15_000, "x2"));
    const d = duals(fs);
    assert.equal(d.length, 1);
    assert.equal(d[0].openedAt, t + 5_000);
  });

  it("nothing when the overlap was shorter than the grace", () => {
    assert.deepEqual(duals(facts({ bMaster: [5_000, 6_000] })), []);
  });

  it("nothing when the absent node's keepalived shut down meanwhile (its Stopping line)", () => {
    assert.deepEqual(duals(facts({ backlog: [log("a", t + 3_000, "Stopping")] })), []);
  });

  it("nothing when the returning agent reports keepalived gone (it may have died at any moment, logging nothing)", () => {
    const gone: Fact = { kind: "process", node: "a", ts: t + 20_000, id: "p1", running: false, event: "vanished", exit: null };
    assert.deepEqual(duals(facts({ onReturn: [gone] })), []);
  });

  it("nothing when the returning agent reports lost records", () => {
    const gap: Fact = { kind: "gap", node: "a", ts: t + 20_000, id: "g1", dropped: 40 };
    assert.deepEqual(duals(facts({ onReturn: [gap] })), []);
  });

  it("an overlap still going on when the agent is back is the live detector's: one incident", () => {
    const d = duals(facts({ bMaster: [15_000, 30_000] }));
    assert.equal(d.length, 1);
    assert.equal(d[0].closedAt, t + 30_000);
  });
});

/**
 * The addresses a killed keepalived left behind, over its agent's absence (truth lab seed 4603 of session 36):
 * a is MASTER of VRID 51 holding 198.18.0.10; its keepalived ends with no "Stopping" line, a's agent is away
 * from t to t + 20 s, b takes over at t + 4 s, and a's keepalived starts again at t + 12 s and removes the
 * address then (KEEPALIVED.md: SIGKILL leaves the VIPs until the next start).
 */
describe("DUAL_MASTER over an agent's absence: addresses left behind by a keepalived gone without a shutdown", () => {
  const VIP = "198.18.0.10";
  const vcfg = (node: string): Fact => {
    const c = cfg(node) as Extract<Fact, { kind: "config" }>;
    return { ...c, instances: [{ ...c.instances[0], vips: [`${VIP}/24`] }] };
  };
  const restart = (ts: number): Fact[] => [
    log("a", ts, "Starting Keepalived v2.2.7 (01/16,2022)"),
    log("a", ts + 100, "(VI_1) removing VIPs."),
    log("a", ts + 100, "(VI_1) Entering BACKUP STATE (init)"),
  ];
  interface LOpts {
    /** a's keepalived reported gone by the process watch this long before the agent went away (null: not seen) */
    killedBefore?: number | null;
    /** what a's last VIP report before the absence held */
    held?: string[];
    /** a's lines logged while away (sent when it is back) */
    backlog?: Fact[];
  }
  function lfacts(o: LOpts = {}): Fact[] {
    const killed = o.killedBefore === undefined ? 2_000 : o.killedBefore;
    const live = byTs([
      vcfg("a"), vcfg("b"),
      log("a", t - 20_000, "(VI_1) Entering MASTER STATE"), log("b", t - 20_000, "(VI_1) Entering BACKUP STATE"),
      { kind: "vips", node: "a", ts: t - 19_000, id: "va", addresses: o.held ?? [VIP] },
      { kind: "vips", node: "b", ts: t - 19_000, id: "vb", addresses: [] },
      ...seen("a", t - 20_000, t - 1_000), ...seen("b", t - 20_000, t + 40_000),
      ...(killed === null ? [] : [{ kind: "process", node: "a", ts: t - killed, id: "pa", running: false, event: "vanished", exit: null } as Fact]),
      { kind: "disconnected", node: "a", ts: t },
      log("b", t + 3_900, "(VI_1) Receive advertisement timeout"),
      log("b", t + 4_000, "(VI_1) Entering MASTER STATE"),
      { kind: "vips", node: "b", ts: t + 4_100, id: "vb2", addresses: [VIP] },
    ]);
    const ret = byTs([
      ...seen("a", t + 20_000, t + 40_000),
      { kind: "process", node: "a", ts: t + 20_000, id: "pa2", running: true, event: "observed", exit: null },
      { kind: "vips", node: "a", ts: t + 20_000, id: "va2", addresses: [] },
    ]);
    return deliver(live, ret, o.backlog ?? restart(t + 12_000));
  }

  it("killed before the agent went away: from the peer's takeover to the address's removal at the start, cause vip_left_behind", () => {
    const d = duals(lfacts());
    assert.equal(d.length, 1);
    assert.equal(d[0].openedAt, t + 4_000);
    assert.equal(d[0].closedAt, t + 12_100);
    assert.deepEqual(d[0].nodes, ["a", "b"]);
    assert.equal(d[0].cause.code, "vip_left_behind");
    assert.match(d[0].cause.summary, /^a held 198\.18\.0\.10 of VRID 51 although its keepalived had ended without a logged shutdown, while b took over/);
    assert.match(d[0].cause.summary, /found after the fact: the agent on a was away/);
    const lines = d[0].evidence.map((x) => `${x.node} ${x.kind} ${x.line}`);
    assert.ok(lines.includes(`a vips ip addr on a: holds ${VIP}`), lines.join("\n"));
    assert.ok(lines.some((l) => /^a liveness keepalived on a vanished without a logged shutdown; no "Stopping" line was logged$/.test(l)), lines.join("\n"));
    assert.ok(lines.includes("a log (VI_1) removing VIPs."), lines.join("\n"));
    assert.ok(lines.includes("b log (VI_1) Entering MASTER STATE"), lines.join("\n"));
  });

  it("killed while the agent was away (its lines: MASTER, then a start with no Stopping): the same, the start's line as the evidence", () => {
    const d = duals(lfacts({ killedBefore: null }));
    assert.equal(d.length, 1);
    assert.equal(d[0].openedAt, t + 4_000);
    assert.equal(d[0].closedAt, t + 12_100);
    assert.equal(d[0].cause.code, "vip_left_behind");
    const lines = d[0].evidence.filter((x) => x.node === "a").map((x) => x.line);
    assert.ok(lines.includes(`Starting Keepalived v2.2.7 (01/16,2022) (no "Stopping" line was logged before it)`), lines.join("\n"));
    assert.ok(lines.includes("(VI_1) Entering MASTER STATE"), lines.join("\n"));
  });

  it("a replay of the same facts finds the same incident", () => {
    const live = duals(lfacts());
    const again = replay(lfacts(), t + 60_000, undefined, "c").filter((i) => i.kind === "DUAL_MASTER");
    assert.deepEqual(again.map((i) => [i.openedAt, i.closedAt, i.cause.code]), live.map((i) => [i.openedAt, i.closedAt, i.cause.code]));
  });

  it("nothing when the killed node held none of the router's addresses", () => {
    assert.deepEqual(duals(lfacts({ held: [] })), []);
  });

  it("nothing when a shutdown was logged before the takeover (keepalived removes its addresses when it stops)", () => {
    assert.deepEqual(duals(lfacts({ killedBefore: null, backlog: [log("a", t + 1_000, "Stopping"), ...restart(t + 12_000)] })), []);
  });

  it("nothing when the addresses were removed before the overlap outlasted the grace", () => {
    assert.deepEqual(duals(lfacts({ backlog: restart(t + 4_500) })), []);
  });
});
