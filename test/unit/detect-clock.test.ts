import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, type Incident } from "../../server/detect";
import type { Fact } from "../../server/detect/types";
import { T0, node2TakesOver, pair } from "../helpers/facts";

const YEAR = 365 * 24 * 3600_000;
const DAY = 24 * 3600_000;
const of = (xs: Incident[], kind: Incident["kind"]) => xs.filter((i) => i.kind === kind);

/** the facts as the server receives them: rx = the true time, node stamps skewed per node (seen facts are the server's own) */
function skewed(facts: Fact[], skew: Record<string, number>): Fact[] {
  return facts.map((f) => (f.kind === "seen" || f.kind === "disconnected" ? f : { ...f, ts: f.ts + (skew[f.node] ?? 0), rx: f.ts }));
}

/** the live path: facts pushed at their receive time, the server ticking every 250 ms on its own clock */
function live(facts: Fact[], until: number, e = new DetectionEngine("c")): DetectionEngine {
  let i = 0;
  for (let now = T0; now <= until; now += 250) {
    while (i < facts.length && (facts[i].rx ?? facts[i].ts) <= now) e.push(facts[i++]);
    e.tick(now);
  }
  return e;
}

describe("detection runs on the server's clock", () => {
  it("one node a year ahead, one a day ahead: DUAL_MASTER opens within the grace, no AGENT_OFFLINE for heartbeating nodes", () => {
    const t = pair({ horizonMs: 120_000 });
    node2TakesOver(t, T0 + 30_000);
    const facts = skewed(t.facts(), { node1: YEAR, node2: DAY });
    const e = new DetectionEngine("c");
    let opened: number | null = null;
    let i = 0;
    for (let now = T0; now <= T0 + 100_000; now += 250) {
      while (i < facts.length && (facts[i].rx ?? facts[i].ts) <= now) e.push(facts[i++]);
      for (const ch of e.tick(now)) if (ch.type === "opened" && ch.incident.kind === "DUAL_MASTER" && opened === null) opened = now;
      if (opened === null && of(e.openIncidents(), "DUAL_MASTER").length) opened = now;
    }
    assert.ok(opened !== null, "DUAL_MASTER opened");
    assert.ok(opened - (T0 + 30_001) <= 1500 + 250, `opened ${opened - (T0 + 30_001)} ms after the overlap began (grace 1.5 s)`);
    assert.deepEqual(of(e.incidents(), "AGENT_OFFLINE"), []);
    assert.ok(e.now() <= T0 + 100_000, "the clock never ran ahead of the server");
    assert.equal(e.stats.skewed, facts.filter((f) => f.node === "node1" && f.kind !== "seen").length + facts.filter((f) => f.node === "node2" && f.kind !== "seen").length);
  });

  it("a backlog replayed after a reconnect (old node stamps, one receive time) keeps its node-time intervals and pushes no timer past the server clock", () => {
    const t = pair({ horizonMs: 120_000 });
    node2TakesOver(t, T0 + 30_000);
    // node2's lines since T0 + 20 s arrive at T0 + 60 s (its agent reconnected), with their true node stamps
    const facts = t.facts().map((f) => (f.kind !== "seen" && f.node === "node2" && f.ts >= T0 + 20_000 ? { ...f, rx: T0 + 60_000 } : f))
      .sort((a, b) => (a.rx ?? a.ts) - (b.rx ?? b.ts));
    const e = live(facts, T0 + 100_000);
    const [d] = of(e.incidents(), "DUAL_MASTER");
    assert.equal(d.openedAt, T0 + 30_001, "the overlap began at node2's MASTER line (node time)");
    assert.ok(e.now() <= T0 + 100_000);
  });
});

describe("errors are never silent", () => {
  it("a detector that throws is counted by kind and makes replay() throw", async () => {
    const { DetectorFailure, replay } = await import("../../server/detect/engine");
    const t = pair();
    const facts = t.facts();
    // a config snapshot whose VIP list is not a list: the model throws while grouping it
    facts.push({ kind: "config", node: "node2", ts: T0 + 20_000, id: "bad", instances: [{ name: "VI_9", vrid: 9, vips: null } as never] });
    assert.throws(() => replay(facts, T0 + 30_000), (e: unknown) => e instanceof DetectorFailure && e.errors.length > 0 && /engine: /.test(e.message));
    const e = new DetectionEngine("c");
    for (const f of facts) e.push(f);
    assert.equal(e.stats.errors, 1);
    assert.deepEqual(e.drainErrors().map((x) => x.kind), ["engine"]);
    assert.deepEqual(e.drainErrors(), [], "drained");
  });

  it("the invariant (open only while the condition holds) holds on every tick of the captures and is checked", () => {
    const t = pair({ horizonMs: 120_000 });
    node2TakesOver(t, T0 + 30_000);
    const e = live(t.facts(), T0 + 100_000);
    assert.equal(e.stats.invariantViolations, 0);
    assert.deepEqual(e.checkInvariants(), []);
  });
});
