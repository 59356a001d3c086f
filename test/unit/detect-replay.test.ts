import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay, type Incident } from "../../server/detect";
import type { DetectorSettings, Fact } from "../../server/detect/types";
import { T0, pair, threeNode, twoNode, type Fixture } from "../helpers/facts";

/** the live path: facts pushed as they come, the server ticking every 250 ms of (simulated) time */
function live(facts: Fact[], until: number, settings: Partial<DetectorSettings>): Incident[] {
  const e = new DetectionEngine("replay", settings);
  let i = 0;
  for (let now = facts[0].ts; now <= until; now += 250) {
    while (i < facts.length && facts[i].ts <= now) e.push(facts[i++]);
    e.tick(now);
  }
  while (i < facts.length) e.push(facts[i++]);
  e.tick(until);
  return e.incidents();
}

const byKey = (xs: Incident[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : 1));

describe("the three-node capture replayed (events.txt: partition hx3, heal, flap-start hx1, flap-end)", () => {
  const fx: Fixture = threeNode();
  const until = fx.end + 130_000; // FLAPPING closes 2 min after its second-last change (W + Q)
  // the agents stayed connected after the capture ended
  const facts = [...fx.facts];
  for (let t = fx.end + 2000; t <= until; t += 1000) for (const n of ["hx1", "hx2", "hx3"]) facts.push({ kind: "seen", node: n, ts: t });
  const settings = { graceAdverts: 1.5 };
  const replayed = replay(facts, until, settings);

  it("yields DUAL_MASTER for hx3's partition and FLAPPING for hx1's health check, with causes and evidence, and nothing else", () => {
    assert.deepEqual(replayed.map((i) => `${i.kind} ${i.scope} ${i.nodes.join(",")} ${i.cause.code}`).sort(), [
      "DUAL_MASTER 51 hx1,hx3 adverts_not_received",
      "DUAL_MASTER 52 hx2,hx3 adverts_not_received",
      "FLAPPING 51 hx1,hx2 tracked_script_toggling",
    ]);
    for (const d of replayed.filter((i) => i.kind === "DUAL_MASTER")) {
      assert.ok(d.openedAt - fx.events["partition hx3"] < 5000 && d.openedAt > fx.events["partition hx3"]);
      assert.ok(d.evidence.some((e) => e.node === "hx3" && e.line.endsWith("Entering MASTER STATE")));
    }
    const flap = replayed.find((i) => i.kind === "FLAPPING")!;
    assert.ok(flap.openedAt > fx.events["flap-start hx1"] && flap.openedAt < fx.events["flap-start hx1"] + 60_000);
    // closed at the end of its quiet period: 2 min (W + Q) after the second-last change of the MASTER role
    assert.ok(flap.closedAt! >= fx.events["flap-end hx1"] + 110_000 && flap.closedAt! < fx.events["flap-end hx1"] + 122_000);
    assert.ok(flap.evidence.some((e) => e.node === "hx1" && e.line.includes("chk_web")));
  });

  it("a live run ticking every 250 ms gives exactly the same incidents", () => {
    assert.deepEqual(byKey(live(facts, until, settings)), byKey(replayed));
  });

  it("replaying twice gives the same keys (deterministic)", () => {
    assert.deepEqual(replay(facts, until, settings).map((i) => i.key), replayed.map((i) => i.key));
    assert.ok(replayed.every((i) => i.key.startsWith(`replay:${i.kind}:${i.scope}:`)));
  });
});

describe("live equals replay", () => {
  it("on the two-node capture, including the agents going offline after it ends", () => {
    const fx = twoNode();
    const until = fx.end + 30_000;
    const replayed = replay(fx.facts, until, {});
    assert.ok(replayed.some((i) => i.kind === "AGENT_OFFLINE") && replayed.some((i) => i.kind === "FAULT"), "something to compare");
    assert.deepEqual(byKey(live(fx.facts, until, {})), byKey(replayed));
  });

  it("with timers that expire exactly on a fact's time (1 s console resolution)", () => {
    const fx = twoNode();
    const settings = { graceMs: 2000, noMasterGraceMs: 3000 };
    const until = fx.end + 20_000;
    const replayed = replay(fx.facts, until, settings);
    assert.deepEqual(byKey(live(fx.facts, until, settings)), byKey(replayed));
    // node2's takeover at 19:04:11 lasts exactly 2 s and the startup gap exactly 3 s: not LONGER than the grace
    assert.deepEqual(replayed.filter((i) => i.kind === "DUAL_MASTER" || (i.kind === "NO_MASTER" && i.openedAt < fx.start + 10_000)), []);
    const shorter = replay(fx.facts, until, { graceMs: 1999, noMasterGraceMs: 2999 });
    assert.equal(shorter.filter((i) => i.kind === "DUAL_MASTER").length, 1, "control: 1 ms less grace");
  });
});

describe("robustness", () => {
  it("malformed facts are counted and ignored, never thrown", () => {
    const e = new DetectionEngine("c");
    const bad = [null, 42, {}, { kind: "log", node: "", ts: 1 }, { kind: "seen", node: "a", ts: Number.NaN }, { kind: "nope", node: "a", ts: 1 },
      { kind: "log", node: "a", ts: 5, id: "x", line: "(VI_1) Entering MASTER STATE", event: { type: "state", instance: "", state: "MASTER" } },
      { kind: "vips", node: "a", ts: 6, id: "v", addresses: "not a list" }, { kind: "config", node: "a", ts: 7, id: "c", instances: null }];
    for (const f of bad) assert.doesNotThrow(() => e.push(f as unknown as Fact));
    assert.equal(e.stats.rejected, 6);
    assert.equal(e.stats.errors, 0);
    assert.deepEqual(e.tick(Number.NaN), []);
  });

  it("a flood of instance names from one node is capped (no configuration) or ignored (not configured)", () => {
    for (const [conf1, want] of [[[], 1024], [undefined, 1]] as const) {
      const t = pair({ conf1: conf1 as never });
      for (let i = 0; i < 1500; i++) t.log("node1", T0 + 20_000 + i, `(X${i}) Entering BACKUP STATE (init)`);
      const e = new DetectionEngine("c");
      for (const f of t.facts()) e.push(f);
      assert.equal(e.nodeStates().find((n) => n.node === "node1")!.instances.length, want);
      assert.equal(e.stats.errors, 0);
    }
  });

  it("config churn does not accumulate instances: those only known from an older snapshot go away", () => {
    const t = pair();
    const [base] = pair().facts().filter((f) => f.kind === "config") as Extract<Fact, { kind: "config" }>[];
    for (let i = 0; i < 2000; i++) t.config("node2", T0 + 20_000 + i, [{ ...base.instances[0], name: `VI_${i}`, vrid: 1 + (i % 200) }]);
    const e = new DetectionEngine("c");
    for (const f of t.facts()) e.push(f);
    const names = e.nodeStates().find((n) => n.node === "node2")!.instances.map((i) => i.instance);
    assert.deepEqual(names, ["VI_1999"], "only the current configuration's instance (VI_1 was retired)");
    assert.equal(e.stats.errors, 0);
  });

  it("timers fire in deadline order and use their deadline, whatever the tick rate", () => {
    const t = pair();
    t.lines("node2", T0 + 20_000, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    const e = new DetectionEngine("c");
    for (const f of t.facts()) if (f.ts <= T0 + 20_010) e.push(f);
    assert.equal(e.nextDeadline(), T0 + 20_001 + 1500); // default grace: 1.5 x advert_int
    e.tick(T0 + 100_000); // one late tick
    const [d] = e.incidents().filter((i) => i.kind === "DUAL_MASTER");
    assert.equal(d.openedAt, T0 + 20_001);
  });
});
