import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay, type Incident } from "../../server/detect";
import { RESTART_SETTLE_MS } from "../../server/detect/down";
import { chooseDualCause, DUAL_CAUSE_RULES, type DualFacts } from "../../server/detect/dual-cause";
import { T0, pair, node2Yields } from "../helpers/facts";

const of = (xs: Incident[], kind: Incident["kind"]) => xs.filter((i) => i.kind === kind);
const KILL = T0 + 20_000;

/** node1 (MASTER) is SIGKILLed at KILL: no line, its VIP stays on the interface; node2 takes over ~3.5 s later */
function masterKilled(restartAt: number | null) {
  const t = pair({ horizonMs: 200_000 });
  t.process("node1", T0, true, "observed").process("node2", T0, true, "observed");
  t.process("node1", KILL + 300, false, "vanished", "signal KILL");
  t.lines("node2", KILL + 3500, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
  if (restartAt !== null) {
    t.process("node1", restartAt, true, "started");
    t.lines("node1", restartAt + 10, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) removing VIPs.", "(VI_1) Entering BACKUP STATE (init)"]);
    t.lines("node1", restartAt + 3500, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    node2Yields(t, restartAt + 3501);
  }
  return t;
}

describe("KEEPALIVED_DOWN", () => {
  it("a MASTER killed without a word: KEEPALIVED_DOWN critical, its instance no longer MASTER, the VIP left behind is DUAL_MASTER vip_left_behind", () => {
    const t = masterKilled(null);
    const e = new DetectionEngine("c");
    for (const f of t.facts()) if (f.ts <= KILL + 10_000) e.push(f);
    e.tick(KILL + 10_000);
    const open = e.openIncidents();
    const [down] = of(open, "KEEPALIVED_DOWN");
    assert.ok(down, "KEEPALIVED_DOWN open");
    assert.equal(down.severity, "critical");
    assert.equal(down.openedAt, KILL + 300);
    assert.match(down.cause.summary, /^keepalived is not running on node1 since .* and no shutdown was logged/);
    const [dual] = of(open, "DUAL_MASTER");
    assert.equal(dual.cause.code, "vip_left_behind");
    assert.ok(dual.evidence.some((x) => x.kind === "vips" && x.node === "node1" && /holds 192\.0\.2\.100/.test(x.line)));
    assert.ok(dual.evidence.some((x) => x.kind === "liveness" && /no "Stopping" line/.test(x.line)));
    assert.deepEqual(of(open, "STATE_MISMATCH"), [], "the VIP is held elsewhere too: DUAL_MASTER says it");
    assert.deepEqual(e.nodeStates().map((n) => [n.node, n.instances[0].state]), [["node1", "STOP"], ["node2", "MASTER"]]);
  });

  it("closes when keepalived runs again, and the failover + preemption around it is not FLAPPING", () => {
    const restart = KILL + 40_000;
    const out = replay(masterKilled(restart).facts(), T0 + 200_000);
    const [down] = of(out, "KEEPALIVED_DOWN");
    assert.equal(down.closedAt, restart);
    const [dual] = of(out, "DUAL_MASTER");
    // the VIP was removed at start-up; node1 preempts 3.5 s later (the usual ms overlap) and node2 yields
    assert.ok(dual.closedAt !== null && dual.closedAt <= restart + 3600, `closed ${dual.closedAt! - restart} ms after the restart`);
    assert.deepEqual(of(out, "FLAPPING"), []);
    assert.deepEqual(out.filter((i) => i.closedAt === null), []);
  });

  it("a BACKUP killed without a word: KEEPALIVED_DOWN critical (it was the only BACKUP), VRID 51 has no backup", () => {
    const t = pair({ horizonMs: 200_000 });
    t.process("node2", KILL, false, "vanished", null);
    const e = new DetectionEngine("c");
    for (const f of t.facts()) e.push(f);
    e.tick(KILL + 10_000);
    const [down] = of(e.openIncidents(), "KEEPALIVED_DOWN");
    assert.equal(down.severity, "critical");
    assert.match(down.cause.summary, /keepalived is not running on node2 since .* and no shutdown was logged; VRID 51 has no backup/);
    assert.equal(e.nodeStates().find((n) => n.node === "node2")!.instances[0].state, "STOP", "no longer shown as BACKUP");
  });

  it("a graceful stop (Stopping logged, before or just after the process watch saw it go) raises nothing", () => {
    for (const lineAt of [KILL - 200, KILL + 800]) {
      const t = pair({ horizonMs: 200_000 });
      t.lines("node2", lineAt, ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
      t.process("node2", KILL, false, "vanished", null);
      assert.deepEqual(replay(t.facts(), T0 + 200_000).map((i) => i.kind), [], `Stopping at ${lineAt - KILL} ms`);
    }
    const t = pair({ horizonMs: 200_000 });
    t.process("node2", KILL, false, "stopped", "exit status 0");
    assert.deepEqual(replay(t.facts(), T0 + 200_000).map((i) => i.kind), []);
  });

  it("a SIGKILL soon after a graceful restart is KEEPALIVED_DOWN: the earlier run's Stopping does not make it planned", () => {
    // node2 stopped gracefully, started again, and is SIGKILLed 15 s later (within the 30 s shutdown lookback)
    for (const restartFirst of [true, false]) {
      const t = pair({ horizonMs: 200_000 });
      t.process("node2", T0, true, "observed");
      t.lines("node2", KILL - 20_000, ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
      t.process("node2", KILL - 19_800, false, "stopped", "exit status 0");
      if (restartFirst) t.process("node2", KILL - 15_000, true, "started");
      t.lines("node2", KILL - 15_000 + 10, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) Entering BACKUP STATE (init)"]);
      t.process("node2", KILL, false, "vanished", null);
      const [down] = of(replay(t.facts(), T0 + 200_000), "KEEPALIVED_DOWN");
      assert.ok(down, `restart seen ${restartFirst ? "by the process watch and the log" : "in the log only"}: KEEPALIVED_DOWN`);
      assert.equal(down.openedAt, KILL);
    }
  });

  it("a SIGKILL soon after a graceful restart the process watch never saw (its agent started later: the restart is in the journal backlog only) is KEEPALIVED_DOWN", () => {
    // truth lab seed 204 (session 22): Starting, Stopping, Stopped, Starting from the backlog, then the agent's
    // process watch "observed" it running, then a SIGKILL 20 s after the Stopping: taken for a planned stop
    const t = pair({ horizonMs: 200_000 });
    const kill = T0 + 51_000;
    t.lines("node2", T0 + 30_000, ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
    t.lines("node2", T0 + 31_000, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) Entering BACKUP STATE (init)"]);
    t.process("node2", T0 + 36_000, true, "observed");
    t.process("node2", kill, false, "vanished", null);
    const [down] = of(replay(t.facts(), T0 + 200_000), "KEEPALIVED_DOWN");
    assert.ok(down, "the Stopping of the previous run does not make this end planned");
    assert.equal(down.openedAt, kill);
  });

  it("the end of an earlier run reported after a newer run logged its start leaves the newer run's instances alone, unless no running keepalived is reported within RESTART_SETTLE_MS", () => {
    const restart = KILL;
    for (const newerRuns of [true, false]) {
      const t = pair({ horizonMs: 200_000 });
      t.process("node1", T0, true, "observed").process("node2", T0, true, "observed");
      t.lines("node2", restart, ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
      t.lines("node2", restart + 100, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) removing VIPs.", "(VI_1) Entering BACKUP STATE (init)"]);
      // SIGKILLed old run + systemd's restart: the watch reports "vanished" for the old pid after the new start
      t.process("node2", restart + 1400, false, "vanished", "signal KILL");
      if (newerRuns) t.process("node2", restart + 1401, true, "started");
      const e = new DetectionEngine("c");
      for (const f of t.facts()) if (f.ts <= restart + 20_000) e.push(f);
      e.tick(restart + 20_000);
      const state = e.nodeStates().find((n) => n.node === "node2")!.instances[0].state;
      if (newerRuns) {
        assert.equal(state, "BACKUP", "the newer run's (init) BACKUP stays");
        assert.deepEqual(e.incidents().map((i) => i.kind), []);
      } else {
        assert.equal(state, "STOP", `no running keepalived reported ${RESTART_SETTLE_MS} ms after: the newer run is not running`);
        assert.deepEqual(e.openIncidents().map((i) => [i.kind, i.openedAt]), [["KEEPALIVED_DOWN", restart + 1400]]);
      }
    }
  });

  it("the only holder of the VIP has no running keepalived: STATE_MISMATCH vip_held_without_keepalived", () => {
    const t = pair({ horizonMs: 200_000 });
    t.lines("node2", KILL - 5000, ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
    t.process("node2", KILL - 4900, false, "stopped", "exit status 0");
    t.process("node1", KILL, false, "vanished", "signal KILL");
    const out = replay(t.facts(), KILL + 10_000);
    const [m] = of(out, "STATE_MISMATCH");
    assert.equal(m.cause.code, "vip_held_without_keepalived");
    assert.deepEqual(of(out, "NO_MASTER"), [], "keepalived runs on no configured host");
    assert.equal(of(out, "KEEPALIVED_DOWN").length, 1);
  });
});

describe("DUAL_MASTER causes are checked against contradicting facts (both sides of every rule)", () => {
  const base: DualFacts = { masters: 2, doubleVip: true, packetErrors: new Set(), wireDiffs: new Set(), leftBehind: [], notRunning: [], involved: ["n1", "n2"] };
  // n1's keepalived gone, its address left behind: n2 alone MASTER (the left-behind address is the split brain), or
  // n2 and n3 running and both claiming the router (a split brain of their own, n1's address besides)
  const alone: Partial<DualFacts> = { masters: 1, leftBehind: ["n1"], notRunning: ["n1"] };
  const twoLive: Partial<DualFacts> = { masters: 2, leftBehind: ["n1"], notRunning: ["n1"], involved: ["n1", "n2", "n3"] };
  const cases: Record<string, { holds: Partial<DualFacts>; ruledOut: Partial<DualFacts>[] }> = {
    vip_left_behind: { holds: alone, ruledOut: [{ ...alone, masters: 0 }, twoLive] },
    auth_mismatch: { holds: { packetErrors: new Set(["auth_mismatch"]) }, ruledOut: [{ ...alone, packetErrors: new Set(["auth_mismatch"]) }] },
    advert_interval_mismatch: { holds: { wireDiffs: new Set(["advert_interval_mismatch"]) }, ruledOut: [{ ...alone, wireDiffs: new Set(["advert_interval_mismatch"]) }] },
    vrid_mismatch: { holds: { ...twoLive, wireDiffs: new Set(["vrid_mismatch"]) }, ruledOut: [{ ...alone, wireDiffs: new Set(["vrid_mismatch"]) }] },
    vip_held_by_non_master: { holds: { masters: 1 }, ruledOut: [{ ...alone, masters: 0 }] },
    adverts_not_received: { holds: {}, ruledOut: [{ notRunning: ["n2"] }, { wireDiffs: new Set(["vip_mismatch"]) }] },
  };
  for (const [code, c] of Object.entries(cases)) {
    it(`${code}: chosen when its facts hold, not when a contradicting fact is present`, () => {
      assert.equal(chooseDualCause({ ...base, ...c.holds }), code);
      for (const r of c.ruledOut) assert.notEqual(chooseDualCause({ ...base, ...r }), code, JSON.stringify(r));
    });
  }
  it("two running MASTERs and an address left behind: not vip_left_behind; their adverts not received when nothing else fits", () => {
    assert.equal(chooseDualCause({ ...base, ...twoLive }), "adverts_not_received");
  });
  it("every rule documents what must hold and what rules it out", () => {
    for (const r of DUAL_CAUSE_RULES) assert.ok(r.mustHold.length > 10 && r.ruledOutBy.length > 10, r.code);
  });
  it("a peer whose keepalived died is not a firewall: two MASTER lines but one keepalived gone -> not adverts_not_received", () => {
    assert.equal(chooseDualCause({ ...base, notRunning: ["n2"] }), "unknown");
  });
});

describe("KEEPALIVED_DOWN and retired instances: live equals replay", () => {
  it("a live run ticking every 250 ms gives exactly the incidents of a replay (kill, take-over, restart, rename)", () => {
    const t = masterKilled(KILL + 40_000);
    t.config("node2", KILL + 60_000, pair().facts().filter((f) => f.kind === "config" && f.node === "node2").flatMap((f) => (f.kind === "config" ? f.instances : [])).map((i) => ({ ...i, name: "VI_2" })));
    t.lines("node2", KILL + 60_100, ["(VI_1) Entering FAULT STATE", "(VI_2) Entering BACKUP STATE (init)"]);
    const facts = t.facts();
    const until = T0 + 200_000;
    const e = new DetectionEngine("replay");
    let i = 0;
    for (let now = facts[0].ts; now <= until; now += 250) {
      while (i < facts.length && facts[i].ts <= now) e.push(facts[i++]);
      e.tick(now);
    }
    e.assertHealthy();
    const byKey = (xs: Incident[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : 1));
    const replayed = replay(facts, until);
    assert.deepEqual(byKey(e.incidents()), byKey(replayed));
    assert.ok(replayed.some((x) => x.kind === "KEEPALIVED_DOWN"));
    assert.deepEqual(replayed.filter((x) => x.kind === "FAULT"), [], "the retired VI_1 of node2 opens nothing");
  });

  it("an invariant violation (an open incident whose condition ended) is found on the next tick and makes the check throw", () => {
    const t = pair({ horizonMs: 20_000 });
    const e = new DetectionEngine("c");
    for (const f of t.facts()) e.push(f);
    e.tick(T0 + 40_000);
    assert.equal(e.openIncidents().filter((x) => x.kind === "AGENT_OFFLINE").length, 2);
    // corrupt the model behind the detectors' back: node1 looks online while its AGENT_OFFLINE is open
    (e as unknown as { ctx: { model: { nodes: Map<string, { online: boolean }> } } }).ctx.model.nodes.get("node1")!.online = true;
    e.tick(T0 + 41_000);
    assert.equal(e.stats.invariantViolations, 1);
    assert.throws(() => e.assertHealthy(), /1 invariant violations/);
  });
});
