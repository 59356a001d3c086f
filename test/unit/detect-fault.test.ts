import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay, type Incident } from "../../server/detect";
import { T0, confInstances, fixtureText, pair, twoNode, withConf } from "../helpers/facts";

const faults = (xs: Incident[]) => xs.filter((i) => i.kind === "FAULT");
const lines = (i: Incident) => i.evidence.map((e) => e.line);

/** node2 (BACKUP) logs `pre` then enters FAULT at T0 + 20 s */
function faultAfter(pre: string[], opts: Parameters<typeof pair>[0] = {}, post: string[] = []): Incident[] {
  const t = pair(opts);
  t.lines("node2", T0 + 19_000, pre, 10);
  t.log("node2", T0 + 20_000, "(VI_1) Entering FAULT STATE");
  t.lines("node2", T0 + 20_100, post, 100);
  return faults(replay(t.facts(), T0 + 40_000));
}

describe("FAULT from the real two-node capture", () => {
  const fx = twoNode();
  const found = faults(replay(fx.facts, fx.end + 1000));

  it("opens one FAULT per link-down episode, at the FAULT line, and closes it when the instance leaves FAULT", () => {
    assert.deepEqual(found.map((f) => [f.nodes[0], f.instances, new Date(f.openedAt).toISOString(), new Date(f.closedAt!).toISOString()]), [
      ["node2", { node2: "VI_1" }, "2026-11-23T18:54:11.000Z", "2026-11-23T18:54:16.000Z"],
      ["node1", { node1: "VI_1" }, "2026-11-23T18:54:20.000Z", "2026-11-23T18:54:23.000Z"],
    ]);
    for (const f of found) assert.equal(f.vrid, 51);
    // definitions: critical when the faulted node was MASTER (node1) or the router is left without one;
    // node2 faulted as BACKUP while node1 stayed MASTER: warning
    assert.deepEqual(found.map((f) => [f.nodes[0], f.severity]), [["node2", "warning"], ["node1", "critical"]]);
  });

  it("names the interface that went down, with the Netlink line as evidence", () => {
    for (const f of found) {
      assert.equal(f.cause.code, "interface_down");
      assert.match(f.cause.summary, /interface eth0 went down/);
      assert.ok(lines(f).some((l) => l.endsWith("Netlink reports eth0 down")));
      assert.ok(lines(f).some((l) => l.endsWith("(VI_1) Entering FAULT STATE")));
      assert.ok(lines(f).some((l) => l.endsWith("(VI_1) Entering BACKUP STATE")), "the line that closed it");
    }
  });
});

describe("FAULT causes", () => {
  it("1.x `Kernel is reporting: interface eth0 DOWN` is interface_down", () => {
    const t = pair();
    t.log("node2", T0 + 20_000, "Kernel is reporting: interface eth0 DOWN");
    t.log("node2", T0 + 20_001, "VRRP_Instance(VI_1) Entering FAULT STATE");
    assert.equal(faults(replay(t.facts(), T0 + 30_000))[0].cause.code, "interface_down");
  });

  it("a link that came back up before the FAULT is not blamed", () => {
    const [f] = faultAfter(["Netlink reports eth0 down", "Netlink reports eth0 up"]);
    assert.equal(f.cause.code, "unknown");
  });

  it("a failing tracked script with weight 0 is script_failed", () => {
    const text = fixtureText("two-node-console/node2.conf").replace("weight -60", "weight 0");
    const [f] = faultAfter(["Script `chk_app` now returning 1", "VRRP_Script(chk_app) failed (exited with status 1)"], { conf2: confInstances(text) });
    assert.equal(f.cause.code, "script_failed");
    assert.match(f.cause.summary, /tracked script chk_app failed/);
    assert.ok(lines(f).includes("VRRP_Script(chk_app) failed (exited with status 1)"));
  });

  it("a weighted script (its failure changed the priority) is not blamed: the cause stays unknown, honestly", () => {
    const [f] = faultAfter(["Script `chk_app` now returning 1", "VRRP_Script(chk_app) failed (exited with status 1)", "(VI_1) Changing effective priority from 100 to 40"]);
    assert.equal(f.cause.code, "unknown");
    assert.match(f.cause.summary, /no reason was logged/);
  });

  it("a script the instance does not track is not blamed", () => {
    const [f] = faultAfter(["VRRP_Script(chk_other) failed (exited with status 1)"]);
    assert.equal(f.cause.code, "unknown");
  });

  it("an unknown cause attaches the 5 lines before the FAULT line", () => {
    const pre = ["Registering gratuitous ARP shared channel", "VRRP sockpool: [ifindex(  2), family(IPv4), proto(112), fd(14,15) multicast, address(224.0.0.18)]",
      "Assigned address 192.0.2.2 for interface eth0", "Deassigned address fe80::4893:54ff:fe06:6ed1 from interface eth0", "NOTICE: something else", "(VI_1) received lower priority (90) advert from 192.0.2.1 - discarding"];
    const [f] = faultAfter(pre);
    assert.equal(f.cause.code, "unknown");
    assert.deepEqual(lines(f), [...pre.slice(1), "(VI_1) Entering FAULT STATE"]);
  });

  it("keepalived's own startup reason line opens the FAULT and gives the cause", () => {
    const t = pair();
    t.log("node2", T0 + 20_000, "(VI_1) entering FAULT state (interface eth0 down)");
    const [f] = faults(replay(t.facts(), T0 + 30_000));
    assert.equal(f.openedAt, T0 + 20_000);
    assert.equal(f.cause.code, "interface_down");
  });

  it("no IP address and unicast without peers", () => {
    const t = pair();
    t.log("node2", T0 + 20_000, "(VI_1) entering FAULT state (no IPv4 address for interface)");
    assert.equal(faults(replay(t.facts(), T0 + 30_000))[0].cause.code, "no_ip_address");
    const [u] = faultAfter(["(VI_1) Cannot use unicast without any peers - going to fault state"]);
    assert.equal(u.cause.code, "unicast_no_peers");
  });

  it("a tracked process losing its quorum", () => {
    const [f] = faultAfter(["Quorum lost for tracked process nginx"]);
    assert.equal(f.cause.code, "tracked_process");
    assert.match(f.cause.summary, /nginx/);
  });

  it("a sync-group member going FAULT", () => {
    const [f] = faultAfter(["VRRP_Group(VG_1) Syncing instances to FAULT state"], { conf2: withConf(confInstances(fixtureText("two-node-console/node2.conf")), { syncGroup: "VG_1" }) });
    assert.equal(f.cause.code, "sync_group");
    assert.match(f.cause.summary, /VG_1/);
  });

  it("a reason logged right after the FAULT line upgrades an unknown cause (1.x polls the link)", () => {
    const t = pair();
    t.log("node2", T0 + 20_000, "VRRP_Instance(VI_1) Entering FAULT STATE");
    t.log("node2", T0 + 20_900, "Kernel is reporting: interface eth0 DOWN");
    const e = new DetectionEngine("c");
    const changes = t.facts().flatMap((f) => e.push(f)).filter((c) => c.incident.kind === "FAULT");
    assert.deepEqual(changes.map((c) => [c.type, c.incident.cause.code]), [["opened", "unknown"], ["updated", "interface_down"]]);
  });

  it("an instance without configuration is reported with vrid null and says so", () => {
    const t = pair({ conf2: [] });
    t.lines("node2", T0 + 20_000, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE"]);
    const [f] = faults(replay(t.facts(), T0 + 30_000));
    assert.deepEqual([f.vrid, f.scope, f.cause.code], [null, "VI_1", "interface_down"]);
    assert.match(f.cause.summary, /VRID unknown: no configuration received/);
  });

  it("a reason logged later than the look-ahead does not rewrite the cause", () => {
    const t = pair();
    t.log("node2", T0 + 20_000, "VRRP_Instance(VI_1) Entering FAULT STATE");
    t.log("node2", T0 + 25_000, "Kernel is reporting: interface eth0 DOWN");
    assert.equal(faults(replay(t.facts(), T0 + 30_000))[0].cause.code, "unknown");
  });
});

describe("FAULT hold-down", () => {
  function episodes(gapMs: number) {
    const t = pair();
    const downUp = (at: number) => {
      t.lines("node2", at, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE"]);
      t.lines("node2", at + 3000, ["Netlink reports eth0 up", "(VI_1) Entering BACKUP STATE"]);
    };
    downUp(T0 + 20_000);
    downUp(T0 + 23_000 + gapMs);
    const e = new DetectionEngine("c");
    const changes = t.facts().flatMap((f) => e.push(f)).filter((c) => c.incident.kind === "FAULT");
    return { changes, incidents: faults(e.incidents()) };
  }

  it("a FAULT again within the hold-down re-opens the same incident (updated, not opened)", () => {
    const { changes, incidents } = episodes(10_000);
    assert.deepEqual(changes.map((c) => c.type), ["opened", "closed", "updated", "closed"]);
    assert.equal(new Set(changes.map((c) => c.incident.key)).size, 1);
    assert.equal(incidents.length, 1);
    assert.equal(changes[2].incident.closedAt, null);
    assert.equal(incidents[0].openedAt, T0 + 20_001, "the first FAULT line");
    assert.equal(incidents[0].closedAt, T0 + 36_001, "the BACKUP line ending the second episode");
    assert.equal(incidents[0].evidence.filter((e) => e.line === "(VI_1) Entering FAULT STATE").length, 2);
  });

  it("a FAULT after the hold-down is a new incident", () => {
    const { changes, incidents } = episodes(61_000);
    assert.deepEqual(changes.map((c) => c.type), ["opened", "closed", "opened", "closed"]);
    assert.equal(incidents.length, 2);
    assert.notEqual(incidents[0].key, incidents[1].key);
  });

  it("the key is deterministic: cluster, kind, VRID, node and opening time", () => {
    const { incidents } = episodes(61_000);
    assert.equal(incidents[0].key, `c:FAULT:51:node2:${T0 + 20_001}`);
  });
});
