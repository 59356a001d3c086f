import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, type Incident } from "../../server/detect";
import type { Fact } from "../../server/detect/types";
import { TimerQueue } from "../../server/detect/timers";
import { T0, pair, threeNode, Timeline } from "../helpers/facts";

/**
 * Cross-node conditions (DUAL_MASTER, NO_MASTER) over backlogs that arrive node by node: one member's stream
 * hours ahead of another's. The 7-day history the timeline benchmark seeds (three nodes, their records sent in
 * turns) held 1,783 DUAL_MASTER incidents although its overlaps last 200 ms (session 34).
 */

const HOUR = 3600_000;
const CUT = T0 + 15_000;
const BACK = T0 + HOUR;
const other = (n: string) => (n === "node1" ? "node2" : "node1");
const peerIp = (n: string) => (n === "node1" ? "192.0.2.1" : "192.0.2.2");

/** clean failovers every 20 s from T0 + 20 s to T0 + HOUR: the MASTER yields, the other takes over 800 ms later */
function failovers(t: Timeline, until = BACK - 30_000): string {
  let master = "node1";
  for (let at = T0 + 20_000; at < until; at += 20_000) {
    const next = other(master);
    t.lines(master, at, [`(VI_1) Master received advert from ${peerIp(next)} with higher priority 200, ours 100`, "(VI_1) Entering BACKUP STATE", "(VI_1) removing VIPs."]);
    t.lines(next, at + 800, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    master = next;
  }
  return master;
}

/**
 * Both agents lose the server at CUT and are back at BACK (their liveness resumes then); every record stamped
 * after CUT arrives right after, 1 ms apart, in turns: `chunkMs` of node1's history, the same of node2's, the
 * next of node1's... (an agent sends its backlog in batches). The engine ticks after every fact, then to `until`.
 */
function deliveredInTurns(t: Timeline, chunkMs: number, until: number): { e: DetectionEngine; firstSeen: Map<string, number>; lastReceipt: number } {
  const all = t.facts();
  const before = all.filter((f) => f.ts <= CUT).map((f) => ({ ...f, rx: f.ts }));
  const back = new Timeline({ autoVips: false }).seen("node1", BACK, until).seen("node2", BACK, until).facts().map((f) => ({ ...f, rx: f.ts }));
  const late = all.filter((f) => f.ts > CUT && f.kind !== "seen" && f.kind !== "disconnected");
  const turns: Fact[] = [];
  for (let from = CUT; from < BACK; from += chunkMs) {
    for (const n of ["node1", "node2"]) turns.push(...late.filter((f) => f.node === n && f.ts > from && f.ts <= from + chunkMs));
  }
  const burst = turns.map((f, i) => ({ ...f, rx: BACK + 500 + i }));
  const facts = [...before, ...back, ...burst].map((f, i) => ({ f, i })).sort((a, b) => a.f.rx - b.f.rx || a.i - b.i).map((x) => x.f);
  const e = new DetectionEngine("c");
  const firstSeen = new Map<string, number>();
  const see = (now: number) => {
    for (const inc of e.incidents()) if (!firstSeen.has(inc.key)) firstSeen.set(inc.key, now);
  };
  for (const f of facts) {
    e.push(f);
    e.tick(f.rx);
    see(f.rx);
  }
  for (let now = facts.at(-1)!.rx; now <= until; now += 250) {
    e.tick(now);
    see(now);
  }
  return { e, firstSeen, lastReceipt: burst.at(-1)!.rx };
}

const kinds = (xs: Incident[]) => xs.filter((i) => i.kind === "DUAL_MASTER" || i.kind === "NO_MASTER").map((i) => `${i.kind} ${i.cause.code} ${(i.openedAt - T0) / 1000}s`);

describe("cross-node conditions over backlogs delivered node by node", () => {
  it("TimerQueue: a cross-node timer waits only for members catching up (newest record older than the allowance when it arrived), until their streams reach streamAt or they are quiet", () => {
    const stream = new Map<string, number>();
    const received = new Map<string, number>();
    const q = new TimerQueue({ streamOf: (n) => stream.get(n) ?? -Infinity, receivedOf: (n) => received.get(n) ?? -Infinity, allowanceMs: 1000 });
    const fired: [string, number][] = [];
    // live: both members' newest records arrived as they were written
    stream.set("a", 9_900).set("b", 9_950);
    received.set("a", 9_910).set("b", 9_960);
    q.set("live", 10_000, (t) => fired.push(["live", t]), { nodes: ["a", "b"], streamAt: 10_000 });
    q.fireDue(10_001);
    assert.deepEqual(fired, [["live", 10_000]], "no member catching up: fires at its deadline, no delay");
    // b delivers a backlog: its newest record, stamped 2_000, arrived at 10_500
    stream.set("b", 2_000);
    received.set("b", 10_500);
    assert.equal(q.catchingUp("b"), true);
    assert.equal(q.catchingUp("a"), false, "a's newest record arrived as it was written");
    q.set("late", 10_600, (t) => fired.push(["late", t]), { nodes: ["a", "b"], streamAt: 3_000 });
    q.fireDue(10_700);
    assert.deepEqual(q.parked(), ["late"], "waits for b, whose stream is at 2_000 < 3_000");
    q.release("a", 9_950);
    assert.deepEqual(q.parked(), ["late"], "a's stream releases nothing: a is not what it waits for");
    stream.set("b", 3_100);
    received.set("b", 10_800);
    q.release("b", 3_100);
    assert.deepEqual(fired.at(-1), ["late", 10_600], "b's stream passed streamAt: released, with its deadline");
    // b goes on catching up but its stream never reaches streamAt: fires once b has been quiet for the allowance
    q.set("quiet", 10_900, (t) => fired.push(["quiet", t]), { nodes: ["a", "b"], streamAt: 5_000 });
    q.fireDue(11_000);
    assert.deepEqual(q.parked(), ["quiet"]);
    stream.set("b", 3_500);
    received.set("b", 11_200);
    q.fireDue(11_800);
    assert.deepEqual(q.parked(), ["quiet"], "quiet since 10_800 + 1_000, but a newer receipt at 11_200 moves the wait on");
    q.fireDue(12_201);
    assert.deepEqual(fired.at(-1), ["quiet", 10_900], "quiet for the allowance: fired, with its deadline");
    assert.equal(q.size, 0);
  });

  it("an hour of clean failovers (800 ms apart) delivered in turns of 10 minutes per node: no DUAL_MASTER, no NO_MASTER", () => {
    const t = pair({ horizonMs: 0 }).seen("node1", T0, CUT).seen("node2", T0, CUT);
    failovers(t);
    const { e } = deliveredInTurns(t, 600_000, BACK + 60_000);
    assert.deepEqual(kinds(e.incidents()), []);
  });

  it("the same history delivered live raises nothing either (control)", () => {
    const t = pair({ horizonMs: 0 }).seen("node1", T0, BACK).seen("node2", T0, BACK);
    failovers(t);
    const e = new DetectionEngine("c");
    for (const f of t.facts()) {
      e.push({ ...f, rx: f.ts });
      e.tick(f.ts);
    }
    e.tick(BACK + 60_000);
    assert.deepEqual(kinds(e.incidents()), []);
  });

  it("a split brain still going on at the end of the backlogs is reported once both members are quiet, dated by the takeover", () => {
    const t = pair({ horizonMs: 0 }).seen("node1", T0, CUT).seen("node2", T0, CUT);
    const master = failovers(t, BACK - 60_000);
    const at = BACK - 40_000;
    // the other node takes over while the MASTER stays MASTER (no adverts seen), until the end of the history
    t.lines(other(master), at, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    const { e, firstSeen, lastReceipt } = deliveredInTurns(t, 600_000, BACK + 60_000);
    const duals = e.incidents().filter((i) => i.kind === "DUAL_MASTER");
    assert.deepEqual(kinds(duals), [`DUAL_MASTER adverts_not_received ${(at + 1 - T0) / 1000}s`], "opened at its MASTER line");
    assert.equal(duals[0].closedAt, null, "still going on");
    const seen = firstSeen.get(duals[0].key)!;
    assert.ok(seen <= lastReceipt + 1000 + 5000 + 1500, `seen ${seen - lastReceipt} ms after the last receipt: within the allowance and the grace`);
  });

  /**
   * The server is down from T0 + 15 s to S = T0 + 40 s. Meanwhile node1 (MASTER) yields at T0 + 20 s and node2
   * takes over 800 ms later (or, `split`, node2 takes over while node1 stays MASTER). The agents reconnect one
   * after the other (their retry backoff): node2 at S + 1 s with its backlog, node1 `node1Back` ms after S with
   * its own.
   */
  function outage(node1Back: number, split = false): { incidents: Incident[]; firstSeen: Map<string, number> } {
    const S = T0 + 40_000;
    const t = pair({ horizonMs: 0 }).seen("node1", T0, T0 + 15_000).seen("node2", T0, T0 + 15_000);
    if (!split) t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 100", "(VI_1) Entering BACKUP STATE", "(VI_1) removing VIPs."]);
    t.lines("node2", T0 + 20_800, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    const until = S + 60_000;
    const all = t.facts();
    const before = all.filter((f) => f.ts <= T0 + 15_000).map((f) => ({ ...f, rx: f.ts }));
    const backlog = (n: string, at: number) => all.filter((f) => f.node === n && f.ts > T0 + 15_000 && f.kind !== "seen").map((f, i) => ({ ...f, rx: at + 100 + i }));
    const live = new Timeline({ autoVips: false }).seen("node2", S + 1000, until).seen("node1", S + node1Back, until).facts().map((f) => ({ ...f, rx: f.ts }));
    const facts = [...before, { kind: "server_started" as const, node: "" as const, ts: S, rx: S }, ...live, ...backlog("node2", S + 1000), ...backlog("node1", S + node1Back)]
      .map((f, i) => ({ f, i })).sort((a, b) => a.f.rx - b.f.rx || a.i - b.i).map((x) => x.f);
    const e = new DetectionEngine("c");
    const firstSeen = new Map<string, number>();
    for (const f of facts) {
      e.push(f);
      e.tick(f.rx);
      for (const inc of e.incidents()) if (!firstSeen.has(inc.key)) firstSeen.set(inc.key, f.rx);
    }
    e.tick(until);
    return { incidents: e.incidents(), firstSeen };
  }

  it("a failover while the server was down, the taker's agent back 4 s before the yielder's: no DUAL_MASTER", () => {
    for (const back of [2_000, 5_000, 9_000]) {
      assert.deepEqual(kinds(outage(back).incidents), [], `node1's agent back ${back} ms after the start`);
    }
  });

  it("a split brain that began while the server was down is reported once the last agent is back, dated by its own lines", () => {
    const { incidents, firstSeen } = outage(5_000, true);
    const duals = incidents.filter((i) => i.kind === "DUAL_MASTER");
    assert.deepEqual(kinds(duals), [`DUAL_MASTER adverts_not_received ${20.801}s`]);
    const S = T0 + 40_000;
    const seen = firstSeen.get(duals[0].key)!;
    assert.ok(seen >= S + 5_000 && seen <= S + 5_000 + 5_000 + 1_500, `seen ${(seen - S) / 1000} s after the start: after node1 is back, within the allowance and the grace`);
  });

  it("a split brain learnt live is judged at its deadline as it stands: the captured three-node run with hx3's lines 6 s late keeps both split brains, dated by their lines", () => {
    const f = threeNode();
    const run = (lagMs: number) => {
      const e = new DetectionEngine("hx");
      const facts = f.facts.map((x) => ({ ...x, rx: x.kind === "seen" || x.kind === "disconnected" || x.node !== "hx3" ? x.ts : x.ts + lagMs })).sort((a, b) => a.rx - b.rx);
      for (const x of facts) {
        e.push(x);
        e.tick(x.rx);
      }
      e.tick(f.end + 60_000);
      return e.incidents().filter((i) => i.kind === "DUAL_MASTER").map((i) => [i.nodes.join(), i.openedAt, i.closedAt, i.cause.code]).sort();
    };
    const onTime = run(0);
    assert.equal(onTime.length, 2, JSON.stringify(onTime));
    assert.deepEqual(run(6000), onTime, "hx3 6 s late (beyond the delivery allowance): the same incidents");
  });
});
