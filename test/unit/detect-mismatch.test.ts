import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { replay, type Incident } from "../../server/detect";
import { T0, pair, threeNode, Timeline } from "../helpers/facts";

const mismatches = (xs: Incident[]) => xs.filter((i) => i.kind === "STATE_MISMATCH");

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
