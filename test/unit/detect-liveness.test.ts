import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay, type Incident } from "../../server/detect";
import type { Fact } from "../../server/detect/types";
import { T0, Timeline, confInstances, node2TakesOver, pair, threeNode } from "../helpers/facts";

const of = (xs: Incident[], kind: Incident["kind"]) => xs.filter((i) => i.kind === kind);

function feed(facts: Fact[], until: number) {
  const e = new DetectionEngine("c");
  const changes = facts.flatMap((f) => e.push(f));
  changes.push(...e.tick(until));
  return { e, changes };
}

describe("AGENT_OFFLINE and UNKNOWN state", () => {
  // node2's agent is heard from until T0 + 30 s, then again from T0 + 60 s
  const t = pair({ horizonMs: 0 });
  t.seen("node1", T0, T0 + 120_000).seen("node2", T0, T0 + 30_000).seen("node2", T0 + 60_000, T0 + 120_000);

  it("opens after the offline limit, dated from the last time the agent was heard from, and closes when it is back", () => {
    const { e, changes } = feed(t.facts(), T0 + 120_000);
    const off = of(e.incidents(), "AGENT_OFFLINE");
    assert.equal(off.length, 1);
    assert.equal(off[0].openedAt, T0 + 30_000);
    assert.equal(off[0].closedAt, T0 + 60_000);
    assert.deepEqual(off[0].nodes, ["node2"]);
    assert.equal(off[0].severity, "warning");
    assert.equal(off[0].cause.code, "no_heartbeat");
    assert.match(off[0].cause.summary, /unknown \(not necessarily down\)/);
    assert.deepEqual(changes.filter((c) => c.incident.kind === "AGENT_OFFLINE").map((c) => c.type), ["opened", "closed"]);
  });

  it("is not reported before the limit has passed", () => {
    const e = new DetectionEngine("c");
    for (const f of t.facts()) if (f.ts <= T0 + 44_000) e.push(f);
    e.tick(T0 + 44_999);
    assert.equal(of(e.openIncidents(), "AGENT_OFFLINE").length, 0);
    e.tick(T0 + 45_001);
    assert.equal(of(e.openIncidents(), "AGENT_OFFLINE").length, 1);
  });

  it("shows the node's instances as UNKNOWN while offline and its logged state again afterwards", () => {
    const e = new DetectionEngine("c");
    for (const f of t.facts()) if (f.ts <= T0 + 50_000) e.push(f);
    e.tick(T0 + 50_000);
    const node2 = () => e.nodeStates().find((n) => n.node === "node2")!;
    assert.equal(node2().online, false);
    assert.equal(node2().instances[0].state, "UNKNOWN");
    assert.equal(e.nodeStates().find((n) => n.node === "node1")!.instances[0].state, "MASTER");
    for (const f of t.facts()) if (f.ts > T0 + 50_000 && f.ts <= T0 + 61_000) e.push(f);
    assert.equal(node2().online, true);
    assert.equal(node2().instances[0].state, "BACKUP");
    // what it held while its agent was away is unknown until the agent's next VIP report
    assert.deepEqual(node2().instances[0].vips, [{ address: "192.0.2.100", held: null }]);
    e.push({ kind: "vips", node: "node2", ts: T0 + 61_500, id: "node2:v-back", addresses: ["192.0.2.2"] });
    assert.deepEqual(node2().instances[0].vips, [{ address: "192.0.2.100", held: false }]);
  });

  it("shows the effective priority from `Changing effective priority` lines, else the configured one", () => {
    const t4 = pair();
    t4.log("node1", T0 + 20_000, "(VI_1) Changing effective priority from 150 to 90");
    const e = new DetectionEngine("c");
    for (const f of t4.facts()) e.push(f);
    assert.deepEqual(e.nodeStates().map((n) => n.instances[0].priority), [90, 100]);
  });

  it("a clean disconnect makes the state UNKNOWN at once but raises AGENT_OFFLINE only after the limit", () => {
    const t2 = pair({ horizonMs: 0 }).seen("node1", T0, T0 + 60_000).seen("node2", T0, T0 + 20_000).disconnected("node2", T0 + 20_500);
    t2.seen("node2", T0 + 25_000, T0 + 30_000).disconnected("node2", T0 + 30_500);
    const e = new DetectionEngine("c");
    for (const f of t2.facts()) if (f.ts <= T0 + 21_000) e.push(f);
    assert.equal(e.nodeStates().find((n) => n.node === "node2")!.instances[0].state, "UNKNOWN");
    for (const f of t2.facts()) if (f.ts > T0 + 21_000) e.push(f);
    e.tick(T0 + 60_000);
    const off = of(e.incidents(), "AGENT_OFFLINE");
    assert.equal(off.length, 1, "the 4.5 s reconnect raised nothing; the final disconnect did");
    assert.equal(off[0].openedAt, T0 + 30_500);
    assert.equal(off[0].cause.code, "agent_disconnected");
  });

  it("a node that is offline is not counted as a MASTER for DUAL_MASTER", () => {
    const t3 = pair({ horizonMs: 0 }).seen("node1", T0, T0 + 90_000).seen("node2", T0, T0 + 10_000).seen("node2", T0 + 60_000, T0 + 90_000);
    node2TakesOver(t3, T0 + 30_000);
    const d = of(replay(t3.facts(), T0 + 90_000), "DUAL_MASTER");
    assert.equal(d.length, 1);
    assert.equal(d[0].openedAt, T0 + 60_000, "only once node2's agent was heard from again");
  });
});

describe("NO_MASTER", () => {
  /**
   * Two nodes, VI_A (VRID 10, advert_int 1) and VI_B (VRID 11, advert_int 2), in sync group G when `synced`;
   * both start BACKUP at T0 and node1 takes both over at T0 + 6.7 s: what keepalived 2.2.7 did in the truth lab
   * (seed 411): the group moves together, so VI_A waits for VI_B's master-down interval (3 x 2 s + skew).
   */
  function firstElection(synced: boolean) {
    const conf = (prio: number) => confInstances(`
${synced ? "vrrp_sync_group G {\n  group {\n    VI_A\n    VI_B\n  }\n}" : ""}
vrrp_instance VI_A {
  state BACKUP
  interface eth0
  virtual_router_id 10
  priority ${prio}
  advert_int 1
  virtual_ipaddress {
    192.0.2.10/24
  }
}
vrrp_instance VI_B {
  state BACKUP
  interface eth0
  virtual_router_id 11
  priority ${prio}
  advert_int 2
  virtual_ipaddress {
    192.0.2.11/24
  }
}`);
    const t = new Timeline();
    t.config("node1", T0, conf(150)).config("node2", T0, conf(100));
    t.seen("node1", T0, T0 + 60_000).seen("node2", T0, T0 + 60_000);
    for (const n of ["node1", "node2"]) t.lines(n, T0 + 10, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_A) Entering BACKUP STATE (init)", "(VI_B) Entering BACKUP STATE (init)"]);
    // node1 takes over 12.5 s after the start: past the election window (3 x 1 s + 1 s) and the 4 s grace of an
    // advert_int of 1 s (8 s), within those of VI_B's 2 s (7 s + 8 s)
    t.lines("node1", T0 + 12_500, ["(VI_B) Receive advertisement timeout", "(VI_A) Entering MASTER STATE", "(VI_B) Entering MASTER STATE", "(VI_A) setting VIPs.", "(VI_B) setting VIPs."]);
    return replay(t.facts(), T0 + 60_000);
  }

  it("the first election of a sync group waits for its slowest member: no NO_MASTER within 4 x that member's advert_int", () => {
    assert.deepEqual(of(firstElection(true), "NO_MASTER").map((i) => i.vrid), [], "VRID 10 waited for VI_B (advert_int 2) of its group");
    // the control: without the group VRID 10 had no MASTER for 12.5 s, past its election and grace (advert_int 1)
    assert.deepEqual(of(firstElection(false), "NO_MASTER").map((i) => i.vrid), [10]);
  });

  /** both nodes go FAULT (node1 at T0 + 20 s), node2 recovers and takes over at T0 + 20 s + gap */
  function bothFault(gapMs: number, node2Seen?: [number, number][]) {
    const t = pair({ horizonMs: node2Seen ? 0 : 120_000 });
    if (node2Seen) {
      t.seen("node1", T0, T0 + 120_000);
      for (const [a, b] of node2Seen) t.seen("node2", a, b);
    }
    t.lines("node2", T0 + 15_000, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE"]);
    t.lines("node1", T0 + 20_000, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE", "(VI_1) removing VIPs."]);
    t.lines("node2", T0 + 20_000 + gapMs, ["Netlink reports eth0 up", "(VI_1) Entering BACKUP STATE", "(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    return t.facts();
  }

  it("opens when no node is MASTER and the VIP is held nowhere past the grace, from when the last MASTER left", () => {
    const [n] = of(replay(bothFault(30_000), T0 + 120_000), "NO_MASTER");
    assert.equal(n.openedAt, T0 + 20_002, "node1 released the VIP (removing VIPs.) right after its FAULT line");
    assert.equal(n.closedAt, T0 + 50_003, "node2's MASTER line");
    assert.equal(n.cause.code, "all_fault");
    assert.match(n.cause.summary, /192\.0\.2\.100 is held nowhere/);
    assert.ok(n.evidence.some((e) => e.node === "node1" && e.line === "(VI_1) Entering FAULT STATE"));
    assert.ok(n.evidence.some((e) => e.kind === "vips" && e.line === "ip addr on node2: does not hold 192.0.2.100"));
    assert.equal(n.severity, "critical");
  });

  /**
   * A cluster restarted while its agents were away (both keepalived stopped at T0 + 5/6 s, started again at
   * T0 + 8 s, node1 MASTER at T0 + 11.5 s when `masterAgain`), then the agents' backlogs arrive at T0 + 20 s,
   * node2's before node1's: the engine sees node2's newer BACKUP before node1's older "Stopping".
   */
  function restartedWhileAway(masterAgain: boolean): Incident[] {
    const conf = pair({ horizonMs: 0 });
    const cfgs = conf.facts().filter((f) => f.kind === "config");
    const backlog = (node: string, lines: [number, string][]): Fact[] =>
      lines.map(([dt, line], i) => ({ ...new Timeline().log(node, T0 + dt, line).facts()[0], id: `${node}:b${i}`, rx: T0 + 20_000 }));
    const node2 = backlog("node2", [[0, "(VI_1) Entering BACKUP STATE (init)"], [6000, "Stopping"], [6500, "Stopped Keepalived v2.2.7 (01/16,2022)"],
      [8000, "Starting Keepalived v2.2.7 (01/16,2022)"], [8001, "(VI_1) Entering BACKUP STATE (init)"]]);
    const node1 = backlog("node1", [[0, "(VI_1) Entering BACKUP STATE (init)"], [5000, "Stopping"], [5500, "Stopped Keepalived v2.2.7 (01/16,2022)"],
      [8000, "Starting Keepalived v2.2.7 (01/16,2022)"], [8001, "(VI_1) Entering BACKUP STATE (init)"],
      ...(masterAgain ? ([[11_500, "(VI_1) Entering MASTER STATE"]] as [number, string][]) : [])]);
    const e = new DetectionEngine("c");
    for (const f of [...cfgs.map((c) => ({ ...c, ts: T0 + 20_000, rx: T0 + 20_000 })), ...node2, ...node1]) e.push(f);
    for (let t = T0 + 20_000; t <= T0 + 60_000; t += 1000) {
      e.push({ kind: "seen", node: "node1", ts: t });
      e.push({ kind: "seen", node: "node2", ts: t });
      e.tick(t);
    }
    return e.incidents();
  }

  it("a backlog of a cluster restart, node by node, raises nothing when a MASTER came back in time", () => {
    assert.deepEqual(of(restartedWhileAway(true), "NO_MASTER"), []);
  });

  it("a real one found in backlogs starts at the newest member state it is made of, not at an older line of another node", () => {
    const [n] = of(restartedWhileAway(false), "NO_MASTER");
    assert.ok(n, "no MASTER after the restart: NO_MASTER");
    assert.equal(n.openedAt, T0 + 8001 + 4000, "from the end of the election the restart began (the newest state of its members + 3 x 1 s + 1 s), not node1's Stopping at T0 + 5 s");
  });

  /**
   * node1 (MASTER) is killed at T0 + 20 s and leaves its VIP behind (held: not MASTER-less); node2 does not take
   * over; node1's keepalived starts again at T0 + 25 s, removes the VIP and elects: MASTER `after` ms later
   */
  function restartBegins(after: number): Incident[] {
    const t = pair();
    t.process("node1", T0 + 20_000, false, "vanished");
    t.process("node1", T0 + 25_000, true, "started");
    t.lines("node1", T0 + 25_000, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) removing VIPs.", "(VI_1) Entering BACKUP STATE (init)"]);
    t.lines("node1", T0 + 25_000 + after, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    return replay(t.facts(), T0 + 120_000);
  }

  it("an absence that begins with a keepalived start counts from the end of its election (truth lab seed 3306)", () => {
    // 5.4 s without a MASTER after the start: within the election window (3 x 1 s + 1 s) + the 4 s grace
    assert.deepEqual(of(restartBegins(5_400), "NO_MASTER"), []);
    const [n, ...more] = of(restartBegins(9_000), "NO_MASTER");
    assert.equal(more.length, 0);
    assert.equal(n.openedAt, T0 + 25_002 + 4000, "the (init) line + the election window (3 x 1 s + 1 s)");
    assert.equal(n.closedAt, T0 + 34_001);
  });

  it("an absence that began before a start goes on through the election that start begins", () => {
    // node1 MASTER goes FAULT at T0 + 20 s (the absence begins), node2 restarts at T0 + 22 s, nobody MASTER until T0 + 27 s
    const t = pair();
    t.lines("node1", T0 + 20_000, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE", "(VI_1) removing VIPs."]);
    t.lines("node2", T0 + 22_000, ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)", "Starting Keepalived v2.2.7 (01/16,2022)", "(VI_1) Entering BACKUP STATE (init)"]);
    t.lines("node2", T0 + 27_000, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    const [n] = of(replay(t.facts(), T0 + 120_000), "NO_MASTER");
    assert.ok(n, "NO_MASTER");
    assert.equal(n.openedAt, T0 + 20_002, "when node1 released the VIP, not after node2's election");
  });

  it("a gap shorter than the master-down interval raises nothing", () => {
    assert.deepEqual(of(replay(bothFault(3000), T0 + 120_000), "NO_MASTER"), []);
  });

  it("is not raised while an agent of the VRID is offline (its node might be MASTER)", () => {
    // node2's agent is silent from T0 + 2 s (unknown from T0 + 17 s) until T0 + 60 s, when node2 is MASTER again
    const out = replay(bothFault(30_000, [[T0, T0 + 2000], [T0 + 60_000, T0 + 120_000]]), T0 + 120_000);
    assert.equal(of(out, "AGENT_OFFLINE").length, 1);
    assert.deepEqual(of(out, "NO_MASTER"), []);
  });

  it("closes when an agent goes offline, since the state is no longer known", () => {
    const [n] = of(replay(bothFault(60_000, [[T0, T0 + 30_000], [T0 + 100_000, T0 + 120_000]]), T0 + 120_000), "NO_MASTER");
    assert.equal(n.openedAt, T0 + 20_002);
    assert.equal(n.closedAt, T0 + 45_000, "node2 became unknown 15 s after it was last heard from");
  });

  it("is not raised while logs say BACKUP everywhere but a node still holds the VIP", () => {
    const t = pair();
    t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE"]);
    const out = replay(t.facts(), T0 + 60_000);
    assert.deepEqual(of(out, "NO_MASTER"), []);
    assert.equal(of(out, "STATE_MISMATCH").length, 1);
  });

  it("keepalived stopped everywhere (planned) is not NO_MASTER: keepalived runs on no configured host", () => {
    const t = pair();
    t.lines("node1", T0 + 20_000, ["Stopping", "(VI_1) sent 0 priority", "(VI_1) removing VIPs.", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
    t.lines("node2", T0 + 20_000, ["(VI_1) Backup received priority 0 advertisement", "Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]);
    assert.deepEqual(replay(t.facts(), T0 + 60_000).map((i) => i.kind), []);
  });

  /**
   * Truth lab seed 3002: sync group G (VI_A VRID 20, VI_B VRID 21, advert_int 1) on three nodes; n2, MASTER of
   * both, goes FAULT at T0 + 20 s. n1 prefers VI_A (150 vs 110), n3 prefers VI_B: every master-down interval
   * both take the group over, and within 150 ms each meets the other's higher priority on one member and the
   * group steps back to BACKUP (the lines keepalived 2.2.7 logged). From T0 + 20 s + stableAfterMs n3 stays
   * MASTER. `masterMs`: how long each of those MASTERs lasts.
   */
  function collapsingElections(masterMs: number, cycles: number) {
    const conf = (a: number, b: number) => confInstances(`
vrrp_sync_group G {
  group {
    VI_A
    VI_B
  }
}
vrrp_instance VI_A {
  state BACKUP
  interface eth0
  virtual_router_id 20
  priority ${a}
  advert_int 1
  virtual_ipaddress {
    192.0.2.20/24
  }
}
vrrp_instance VI_B {
  state BACKUP
  interface eth0
  virtual_router_id 21
  priority ${b}
  advert_int 1
  virtual_ipaddress {
    192.0.2.21/24
  }
}`);
    const t = new Timeline();
    t.config("n1", T0, conf(150, 110)).config("n2", T0, conf(200, 200)).config("n3", T0, conf(110, 150));
    for (const n of ["n1", "n2", "n3"]) {
      t.seen(n, T0, T0 + 90_000);
      t.lines(n, T0 + 10, ["Starting Keepalived v2.2.7 (01/16,2022)", "(VI_A) Entering BACKUP STATE (init)", "(VI_B) Entering BACKUP STATE (init)"]);
    }
    t.lines("n2", T0 + 3500, ["(VI_A) Receive advertisement timeout", "(VI_A) Entering MASTER STATE", "(VI_A) setting VIPs.", "VRRP_Group(G) Syncing instances to MASTER state", "(VI_B) Entering MASTER STATE", "(VI_B) setting VIPs."]);
    t.lines("n2", T0 + 20_000, ["Netlink reports eth0 down", "(VI_A) Entering FAULT STATE", "(VI_A) removing VIPs.", "VRRP_Group(G) Syncing instances to FAULT state", "(VI_B) Entering FAULT STATE", "(VI_B) removing VIPs."]);
    let at = T0 + 20_000;
    for (let i = 0; i < cycles; i++) {
      at += 3600;
      t.lines("n1", at, ["(VI_A) Receive advertisement timeout", "(VI_A) Entering MASTER STATE", "(VI_A) setting VIPs.", "VRRP_Group(G) Syncing instances to MASTER state", "(VI_B) Entering MASTER STATE", "(VI_B) setting VIPs."]);
      t.lines("n3", at + 5, ["(VI_B) Receive advertisement timeout", "(VI_B) Entering MASTER STATE", "(VI_B) setting VIPs.", "VRRP_Group(G) Syncing instances to MASTER state", "(VI_A) Entering MASTER STATE", "(VI_A) setting VIPs."]);
      at += masterMs;
      t.lines("n1", at, ["(VI_A) Received advert from 192.0.2.3 with lower priority 110, ours 150, forcing new election", "(VI_B) Master received advert from 192.0.2.3 with higher priority 150, ours 110", "(VI_B) Entering BACKUP STATE", "(VI_B) removing VIPs.", "VRRP_Group(G) Syncing instances to BACKUP state", "(VI_A) Entering BACKUP STATE", "(VI_A) removing VIPs."]);
      t.lines("n3", at + 5, ["(VI_B) Received advert from 192.0.2.1 with lower priority 110, ours 150, forcing new election", "(VI_A) Master received advert from 192.0.2.1 with higher priority 150, ours 110", "(VI_A) Entering BACKUP STATE", "(VI_A) removing VIPs.", "VRRP_Group(G) Syncing instances to BACKUP state", "(VI_B) Entering BACKUP STATE", "(VI_B) removing VIPs."]);
    }
    const stable = at + 3600;
    t.lines("n3", stable, ["(VI_B) Receive advertisement timeout", "(VI_B) Entering MASTER STATE", "(VI_B) setting VIPs.", "VRRP_Group(G) Syncing instances to MASTER state", "(VI_A) Entering MASTER STATE", "(VI_A) setting VIPs."]);
    return { incidents: replay(t.facts(), T0 + 90_000), stable };
  }

  it("elections that keep collapsing (MASTERs stepping down within an advert interval) are NO_MASTER from when the last MASTER left until one lasts", () => {
    const { incidents, stable } = collapsingElections(150, 4);
    const n = of(incidents, "NO_MASTER");
    assert.deepEqual(n.map((i) => i.vrid).sort(), [20, 21]);
    for (const i of n) {
      assert.equal(i.openedAt, T0 + 20_002 + (i.vrid === 20 ? 0 : 3), "when n2 released the VIP");
      assert.ok(i.closedAt !== null && i.closedAt >= stable && i.closedAt <= stable + 10, `closed at the lasting MASTER (${i.closedAt! - stable})`);
      assert.equal(i.cause.code, "no_takeover");
      // summed up when it opened (after the first collapse, T0 + 24 s)
      assert.match(i.cause.summary, /1 election\(s\) collapsed, n1 and n3 became MASTER and stepped down within an advert interval \(in a sync group/);
      assert.ok(i.evidence.some((e) => e.node === "n1" && /Entering MASTER STATE/.test(e.line)), "the momentary MASTER lines are evidence");
    }
    // nothing else critical: each both-MASTER moment (150 ms) is far under the DUAL_MASTER grace
    assert.deepEqual(incidents.filter((i) => i.severity === "critical" && i.kind !== "NO_MASTER" && i.kind !== "FAULT").map((i) => i.kind), []);
  });

  it("a MASTER that lasts longer than an advert interval ends the absence: elections that hold 1.5 s raise no NO_MASTER", () => {
    assert.deepEqual(of(collapsingElections(1500, 4).incidents, "NO_MASTER"), []);
  });

  it("a MASTER that leaves for FAULT within an advert interval was the MASTER: the takeover after it gets its own grace (e2e scenario 5)", () => {
    // node1 wins the first election at T0 + 3.5 s and its link goes down 164 ms later; node2 takes over 3.4 s after that
    const t = pair();
    t.lines("node1", T0 + 3664, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE", "(VI_1) removing VIPs."]);
    t.lines("node2", T0 + 7100, ["(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."]);
    assert.deepEqual(of(replay(t.facts(), T0 + 60_000), "NO_MASTER"), []);
  });

  it("the startup election of the three-node capture raises nothing", () => {
    const fx = threeNode();
    assert.deepEqual(of(replay(fx.facts, fx.end + 1000, { graceAdverts: 1.5 }), "NO_MASTER"), []);
  });

  it("with no agent ever heard from, a node is taken as online (liveness untracked)", () => {
    const facts = pair({ horizonMs: 0 }).facts();
    const e = new DetectionEngine("c");
    for (const f of facts) e.push(f);
    e.tick(T0 + 600_000);
    assert.deepEqual(e.nodeStates().map((n) => [n.node, n.online, n.instances[0].state]), [["node1", true, "MASTER"], ["node2", true, "BACKUP"]]);
    assert.deepEqual(of(e.incidents(), "AGENT_OFFLINE"), []);
  });
});

describe("AGENT_OFFLINE across a restart of the server", () => {
  /** both agents heard until T0 + 30 s (node2 only until T0 + 5 s when `node2Silent`), the server down until T0 + 60 s */
  function restarted(node2Silent: boolean) {
    const t = pair({ horizonMs: 0 });
    t.seen("node1", T0, T0 + 30_000).seen("node2", T0, node2Silent ? T0 + 5_000 : T0 + 30_000);
    const e = new DetectionEngine("c");
    for (const f of t.facts()) e.push(f);
    e.push({ kind: "server_started", node: "", ts: T0 + 60_000 }); // the history replayed at start, then this
    e.tick(T0 + 60_000);
    return e;
  }

  it("the time the server was down does not count: agents alive when it stopped get the offline limit from its start", () => {
    const e = restarted(false);
    assert.deepEqual(of(e.incidents(), "AGENT_OFFLINE"), [], "nothing at the start");
    e.tick(T0 + 74_000);
    assert.deepEqual(of(e.incidents(), "AGENT_OFFLINE"), [], "still within 15 s of the start");
    e.push({ kind: "seen", node: "node1", ts: T0 + 64_000 });
    e.tick(T0 + 76_000);
    const off = of(e.incidents(), "AGENT_OFFLINE");
    assert.deepEqual(off.map((i) => i.nodes), [["node2"]], "node2 did not reconnect within the limit after the start");
    assert.equal(off[0].openedAt, T0 + 30_000, "dated from when it was last heard");
  });

  it("a replay of stored history with two restarts raises nothing: the server's starts are facts of that history", () => {
    // agents heard every 5 s; the server down 30..45 s (agents back at 55 s, within 15 s of its start) and
    // again 80..84 s; a replay after the second start (the restore) must not count the first downtime
    const t = pair({ horizonMs: 0 });
    t.seen("node1", T0, T0 + 30_000).seen("node2", T0, T0 + 29_000);
    t.seen("node1", T0 + 55_000, T0 + 80_000).seen("node2", T0 + 56_000, T0 + 80_000);
    const withStarts = [...t.facts(), { kind: "server_started" as const, node: "" as const, ts: T0 + 45_000 }, { kind: "server_started" as const, node: "" as const, ts: T0 + 84_000 }]
      .sort((a, b) => a.ts - b.ts);
    assert.deepEqual(of(replay(withStarts, T0 + 90_000), "AGENT_OFFLINE"), []);
    // the same history without the stored starts: the first downtime reads as 25 s of silence (the failure before the fix)
    const without = withStarts.filter((f) => f.kind !== "server_started");
    assert.deepEqual(of(replay(without, T0 + 90_000), "AGENT_OFFLINE").map((i) => i.nodes).sort(), [["node1"], ["node2"]]);
  });

  it("an agent already silent before the server stopped is offline at once", () => {
    const e = restarted(true);
    const off = of(e.incidents(), "AGENT_OFFLINE");
    assert.deepEqual(off.map((i) => [i.nodes, i.openedAt]), [[["node2"], T0 + 5_000]]);
  });
});

