import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay, type Incident } from "../../server/detect";
import type { Fact } from "../../server/detect/types";
import { TimerQueue } from "../../server/detect/timers";
import { T0, pair, threeNode, Timeline } from "../helpers/facts";

const mismatches = (xs: Incident[]) => xs.filter((i) => i.kind === "STATE_MISMATCH");

/**
 * The live path: facts pushed in receive order when the server's clock reaches their receive time (rx; the
 * node's stamp otherwise), the server ticking every 250 ms; what was ever open, and when it was first seen.
 */
function live(facts: Fact[], until: number): { incidents: Incident[]; firstSeen: Map<string, number> } {
  const sorted = facts.map((f, i) => ({ f, i })).sort((a, b) => (a.f.rx ?? a.f.ts) - (b.f.rx ?? b.f.ts) || a.i - b.i).map((x) => x.f);
  const e = new DetectionEngine("c");
  const firstSeen = new Map<string, number>();
  let i = 0;
  for (let now = T0; now <= until; now += 250) {
    while (i < sorted.length && (sorted[i].rx ?? sorted[i].ts) <= now) e.push(sorted[i++]);
    for (const ch of e.tick(now)) if (!firstSeen.has(ch.incident.key)) firstSeen.set(ch.incident.key, now);
    for (const inc of e.incidents()) if (!firstSeen.has(inc.key)) firstSeen.set(inc.key, now);
  }
  return { incidents: e.incidents(), firstSeen };
}

/** node1 yields at 20 s: its BACKUP line arrives on time, its VIP release (stamped `releasedAfter` ms later) `lateBy` ms after its stamp */
function yieldWithLateRelease(releasedAfter: number, lateBy: number): Fact[] {
  const t = pair();
  t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
  return t.facts().map((f) => {
    if (f.kind === "seen" || f.kind === "disconnected") return f;
    if (f.kind === "vips" && f.node === "node1" && f.ts > T0 + 10_000) throw new Error("the pair fixture changed: node1 reports no VIPs after 10 s");
    return { ...f, rx: f.ts };
  }).concat([{ kind: "vips", node: "node1", ts: T0 + 20_001 + releasedAfter, rx: T0 + 20_001 + releasedAfter + lateBy, id: "node1:late", addresses: [] }]);
}

describe("STATE_MISMATCH: keepalived's state against the addresses the node holds", () => {
  it("BACKUP but still holding the VIP past the grace: vip_held_not_master, until the VIP is released", () => {
    const t = pair();
    // node1 yields but its VIP stays on the interface (ip addr still shows it)
    t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    t.vips("node1", T0 + 30_000, []);
    const [m] = mismatches(replay(t.facts(), T0 + 60_000));
    assert.equal(m.cause.code, "vip_held_not_master");
    assert.match(m.cause.summary, /node1 says VI_1 is BACKUP but the node still holds 192\.0\.2\.100/);
    assert.deepEqual([m.nodes, m.instances, m.vrid], [["node1"], { node1: "VI_1" }, 51]);
    assert.equal(m.openedAt, T0 + 20_001);
    assert.equal(m.closedAt, T0 + 30_000);
    assert.ok(m.evidence.some((e) => e.kind === "vips" && e.line === "ip addr on node1: holds 192.0.2.100"));
    assert.ok(m.evidence.some((e) => e.kind === "log" && e.line === "(VI_1) Entering BACKUP STATE"));
    assert.equal(m.severity, "warning");
  });

  it("MASTER without its VIP past the grace: master_without_vip", () => {
    const t = new Timeline({ autoVips: false });
    for (const f of pair().facts()) {
      if (f.kind === "vips") continue;
      if (f.kind === "config") t.config(f.node, f.ts, f.instances);
      else if (f.kind === "log") t.log(f.node, f.ts, f.line, f.event);
      else if (f.kind === "seen") t.seen(f.node, f.ts, f.ts);
    }
    t.vips("node1", T0, ["192.0.2.1"]).vips("node2", T0, ["192.0.2.2"]);
    const [m] = mismatches(replay(t.facts(), T0 + 30_000));
    assert.equal(m.cause.code, "master_without_vip");
    assert.deepEqual(m.nodes, ["node1"]);
    assert.equal(m.openedAt, T0 + 3501, "from node1's MASTER line");
    assert.ok(m.evidence.some((e) => e.kind === "vips" && e.line === "ip addr on node1: does not hold 192.0.2.100"));
  });

  it("a MASTER line delivered when the agent comes back is judged on the VIPs reported after it came back, not before it went away (truth lab seed 525)", () => {
    // node2 (BACKUP, holds nothing) loses its agent at 20 s; node1 stops; node2 takes over at 21 s, and its new
    // agent delivers that line at 24 s, then reports the VIP it holds. Before: the line met the view of 19 s
    // (no VIP), past the grace already, and a master_without_vip opened and closed at once.
    const base = pair({ horizonMs: 19_000 });
    base.lines("node1", T0 + 20_500, ["Stopping", "(VI_1) sent 0 priority", "(VI_1) removing VIPs."]);
    base.seen("node1", T0 + 20_000, T0 + 40_000);
    const all = base.facts();
    // in the order the server receives them: the late line comes after node2's reconnect (its own time is older)
    const withVips = (held: string[]) => [
      ...all.filter((f) => f.ts < T0 + 20_000),
      ...new Timeline().disconnected("node2", T0 + 20_000).facts(),
      ...all.filter((f) => f.ts >= T0 + 20_000 && f.ts < T0 + 24_000),
      ...new Timeline().seen("node2", T0 + 24_000, T0 + 24_000).facts(),
      ...new Timeline().lines("node2", T0 + 21_000, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE"]).facts(),
      ...new Timeline().vips("node2", T0 + 24_100, held).seen("node2", T0 + 25_000, T0 + 40_000).facts(),
      ...all.filter((f) => f.ts >= T0 + 24_000),
    ];
    assert.deepEqual(mismatches(replay(withVips(["192.0.2.2", "192.0.2.100"]), T0 + 40_000)), []);
    // the same return with the VIP really missing is still a master_without_vip, from the report that shows it
    const [m] = mismatches(replay(withVips(["192.0.2.2"]), T0 + 40_000));
    assert.equal(m?.cause.code, "master_without_vip");
    assert.equal(m.openedAt, T0 + 24_100);
  });

  it("a VIP observation that lags the log by less than the grace raises nothing", () => {
    const t = pair();
    t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    t.vips("node1", T0 + 21_000, []);
    assert.deepEqual(mismatches(replay(t.facts(), T0 + 60_000)), []);
  });

  it("a VIP release stamped within the grace but delivered after it (a loaded monitor) raises nothing, live or in replay (truth lab seed 1033)", () => {
    // seed 1033: FAULT line, the VIP gone 65 ms later by the node's stamps, the report of it 2.7 s late; the
    // server's tick passed the deadline first and a 65 ms STATE_MISMATCH opened and closed. The condition is
    // made only of node1's reports: it is judged once node1's stream passed the deadline.
    for (const lateBy of [0, 2_700, 4_000]) {
      const facts = yieldWithLateRelease(65, lateBy);
      assert.deepEqual(mismatches(live(facts, T0 + 60_000).incidents), [], `live, release ${lateBy} ms late`);
      const stored = [...facts].sort((a, b) => (a.rx ?? a.ts) - (b.rx ?? b.ts));
      assert.deepEqual(mismatches(replay(stored, T0 + 60_000)), [], `replay in storage order, release ${lateBy} ms late`);
    }
  });

  it("a VIP really left on a quiet node opens at the latest the delivery allowance after the deadline, with openedAt at the start of the condition", () => {
    const t = pair();
    t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    const { incidents, firstSeen } = live(t.facts(), T0 + 60_000);
    const [m] = mismatches(incidents);
    assert.equal(m?.cause.code, "vip_held_not_master");
    assert.equal(m.openedAt, T0 + 20_001);
    const seenAt = firstSeen.get(m.key)!;
    // deadline = 20.001 s + 1.5 s; node1 says nothing more: the allowance (5 s) decides
    assert.ok(seenAt > T0 + 21_501 && seenAt <= T0 + 21_501 + 5_000 + 250, `first seen ${seenAt - T0} ms`);
  });

  it("a later record of the node (any line it logs) opens it as soon as it arrives, before the allowance", () => {
    const t = pair();
    t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    t.log("node1", T0 + 22_000, "Registering gratuitous ARP shared channel");
    const { incidents, firstSeen } = live(t.facts(), T0 + 60_000);
    const [m] = mismatches(incidents);
    assert.equal(m?.openedAt, T0 + 20_001);
    assert.equal(firstSeen.get(m.key), T0 + 22_000);
    assert.deepEqual(mismatches(replay(t.facts(), T0 + 60_000)).map((i) => [i.openedAt, i.closedAt]), [[m.openedAt, m.closedAt]], "replay == live");
  });

  it("a dead MASTER still the only holder of its VIP is judged on the server's clock, not on its (silent) stream: opened before a slow takeover ends it (truth lab seed 1306)", () => {
    // seed 1306: keepalived SIGKILLed on the MASTER of VRIDs 79 and 169 (a sync group; 169's advert_int 2 s), so the
    // peer took 79 over only 7 s later; the dead node says nothing more, and with the wait for its stream the
    // mismatch of 79 (vip_held_without_keepalived, from 1.2 s) was still parked when the takeover ended it: missed
    const KILL = T0 + 20_000;
    const t = pair({ horizonMs: 200_000 });
    t.process("node1", T0, true, "observed").process("node2", T0, true, "observed");
    t.process("node1", KILL + 300, false, "vanished", "signal KILL");
    t.lines("node2", KILL + 7000, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    const { incidents, firstSeen } = live(t.facts(), KILL + 20_000);
    const [m] = mismatches(incidents);
    assert.equal(m?.cause.code, "vip_held_without_keepalived");
    assert.equal(m.openedAt, KILL + 300);
    assert.ok(firstSeen.get(m.key)! <= KILL + 300 + 1500 + 250, `opened ${firstSeen.get(m.key)! - KILL} ms after the kill`);
    assert.equal(m.closedAt, KILL + 7002, "ends when the peer holds it too, at its setting VIPs (then DUAL_MASTER vip_left_behind)");
    assert.deepEqual(mismatches(replay(t.facts(), KILL + 20_000)).map((i) => [i.openedAt, i.closedAt]), [[m.openedAt, m.closedAt]], "replay == live");
  });

  it("TimerQueue: a node-gated timer parks until the node's stream reaches its deadline, or fires after the allowance; either way with its deadline", () => {
    const stream = new Map<string, number>();
    const q = new TimerQueue({ streamOf: (n) => stream.get(n) ?? -Infinity, receivedOf: () => -Infinity, allowanceMs: 1000 });
    const fired: [string, number][] = [];
    q.set("a", 100, (t) => fired.push(["a", t]), { node: "n1" });
    q.set("b", 150, (t) => fired.push(["b", t]), { node: "n1" });
    q.set("c", 120, (t) => fired.push(["c", t]));
    q.fireDue(200);
    assert.deepEqual(fired, [["c", 120]], "ungated fires, gated park");
    assert.deepEqual(q.parked(), ["a", "b"]);
    q.release("n2", 500);
    assert.deepEqual(fired, [["c", 120]], "another node's stream releases nothing");
    q.release("n1", 120);
    assert.deepEqual(fired, [["c", 120], ["a", 100]]);
    q.cancel("b");
    q.fireDue(5000);
    assert.deepEqual(fired, [["c", 120], ["a", 100]], "a cancelled parked timer never fires");
    q.set("d", 6000, (t) => fired.push(["d", t]), { node: "n1" });
    q.fireDue(6500);
    assert.deepEqual(q.parked(), ["d"]);
    q.fireDue(7000);
    assert.deepEqual(fired.map((x) => x[0]), ["c", "a"], "not before deadline + allowance");
    q.fireDue(7001);
    assert.deepEqual(fired.at(-1), ["d", 6000], "the allowance fires it, with its deadline");
    assert.equal(q.size, 0);
  });

  it("TimerQueue: the allowance counts from the node's newest receipt, not from an old deadline (a backlog)", () => {
    const stream = new Map<string, number>();
    const received = new Map<string, number>();
    const q = new TimerQueue({ streamOf: (n) => stream.get(n) ?? -Infinity, receivedOf: (n) => received.get(n) ?? -Infinity, allowanceMs: 1000 });
    const fired: [string, number][] = [];
    // a backlog: the record that started the condition is an hour old, received now (1_000_000)
    stream.set("n1", 100);
    received.set("n1", 1_000_000);
    q.set("a", 2100, (t) => fired.push(["a", t]), { node: "n1" });
    q.fireDue(1_000_000);
    assert.deepEqual(fired, [], "an hour past its deadline, but the node was heard from just now: parked");
    assert.deepEqual(q.parked(), ["a"]);
    // more of the backlog, still older than the deadline, received later: the wait moves on
    stream.set("n1", 1500);
    received.set("n1", 1_000_800);
    q.fireDue(1_001_001);
    assert.deepEqual(fired, [], "quiet for 201 ms only");
    q.fireDue(1_001_800);
    assert.deepEqual(fired, [], "not before the newest receipt + allowance");
    q.fireDue(1_001_801);
    assert.deepEqual(fired, [["a", 2100]], "quiet for the allowance: fired, with its deadline");
  });

  /**
   * Both agents lose the server at T0 + 15 s and are back an hour later: their liveness resumes then, and
   * every record stamped after T0 + 15 s arrives in one burst right after (the backlog), in stamp order.
   */
  function afterOutage(t: Timeline, horizonMs: number): DetectionEngine {
    const HOUR = 3600_000;
    const cut = T0 + 15_000;
    const back = new Timeline({ autoVips: false });
    back.seen("node1", T0 + HOUR, T0 + HOUR + horizonMs).seen("node2", T0 + HOUR, T0 + HOUR + horizonMs);
    const all = t.facts();
    const before = all.filter((f) => f.ts <= cut && (f.kind !== "seen" || f.ts <= cut)).map((f) => ({ ...f, rx: f.rx ?? f.ts }));
    const burst = all.filter((f) => f.ts > cut && f.kind !== "seen" && f.kind !== "disconnected").map((f, i) => ({ ...f, rx: T0 + HOUR + 500 + i }));
    const facts = [...before, ...back.facts().map((f) => ({ ...f, rx: f.ts })), ...burst].map((f, i) => ({ f, i }))
      .sort((a, b) => a.f.rx - b.f.rx || a.i - b.i).map((x) => x.f);
    const e = new DetectionEngine("c");
    for (const f of facts) {
      e.push(f);
      e.tick(f.rx);
    }
    return e;
  }

  it("a backlog (records an hour old, received in one burst): no STATE_MISMATCH for a VIP released with the state change; a real one still opens once the node is quiet", () => {
    const HOUR = 3600_000;
    const released = pair({ horizonMs: 0 });
    // node1 yields at 20 s and releases its VIP 50 ms later
    released.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    released.vips("node1", T0 + 20_050, []);
    const e = afterOutage(released, 60_000);
    e.tick(T0 + HOUR + 60_000);
    assert.deepEqual(mismatches(e.incidents()).map((i) => [i.cause.code, i.openedAt - T0, i.closedAt === null ? null : i.closedAt - T0]), [],
      "the VIP report 50 ms after the BACKUP line, in the same burst, ends the condition before its deadline");

    const kept = pair({ horizonMs: 0 });
    kept.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    const e2 = afterOutage(kept, 60_000);
    e2.tick(T0 + HOUR + 60_000);
    const [m] = mismatches(e2.incidents());
    assert.equal(m?.cause.code, "vip_held_not_master", "kept for good: the mismatch opens");
    assert.equal(m.openedAt, T0 + 20_001, "dated from the line, not from the receipt");
  });

  /**
   * node2's agent is installed on a running node at T0 + 20 s: its first VIP report (holding the VIP) comes
   * first, then the lines its log held from before (an agent's backfill): `lines` at T0 + 14 s on
   */
  function backfilled(lines: string[]): Incident[] {
    const t = pair({ horizonMs: 0 });
    t.seen("node1", T0, T0 + 60_000).seen("node2", T0 + 20_000, T0 + 60_000);
    const facts = t.facts().filter((f) => f.node !== "node2" || f.kind !== "log" || f.ts > T0 + 100); // node2's own lines come with the backfill
    const back = new Timeline({ autoVips: false });
    back.vips("node2", T0 + 20_000, ["192.0.2.2", "192.0.2.100"]);
    back.lines("node2", T0 + 14_000, lines, 1000);
    const before = facts.filter((f) => f.ts < T0 + 20_000);
    const after = facts.filter((f) => f.ts >= T0 + 20_000);
    const e = new DetectionEngine("c");
    for (const f of [...before, ...back.facts().map((f) => ({ ...f, rx: T0 + 20_000 })).sort((a, b) => (a.kind === "vips" ? -1 : b.kind === "vips" ? 1 : a.ts - b.ts)), ...after]) e.push(f);
    e.tick(T0 + 60_000);
    return mismatches(e.incidents());
  }

  it("lines backfilled by a new agent are not compared with its first VIP report, newer than them (truth lab seed 3312)", () => {
    // stopped at T0 + 14 s, MASTER again from T0 + 18 s: holding the VIP at T0 + 20 s is what a MASTER does
    assert.deepEqual(backfilled(["Stopping", "Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) Entering BACKUP STATE (init)", "(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE"]), []);
    // the control: BACKUP when the report showed the VIP held: judged as of the report
    const [m, ...more] = backfilled(["(VI_1) Entering BACKUP STATE (init)"]);
    assert.equal(more.length, 0);
    assert.ok(m, "a BACKUP holding the VIP at its agent's first report");
    assert.equal(m.cause.code, "vip_held_not_master");
    assert.equal(m.openedAt, T0 + 20_000, "as of the report");
  });

  it("nodes that never reported their addresses are not judged", () => {
    const t = new Timeline({ autoVips: false });
    for (const f of pair().facts()) {
      if (f.kind === "config") t.config(f.node, f.ts, f.instances);
      else if (f.kind === "log") t.log(f.node, f.ts, f.line, f.event);
    }
    assert.deepEqual(mismatches(replay(t.facts(), T0 + 60_000)), []);
  });

  it("the captured three-node run, with VIPs following keepalived's own lines, has none", () => {
    const fx = threeNode();
    assert.deepEqual(mismatches(replay(fx.facts, fx.end + 1000)), []);
  });
});
