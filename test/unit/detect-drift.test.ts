import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, compareConfigs, replay, type Incident } from "../../server/detect";
import type { ConfigInstance } from "../../server/protocol";
import { T0, confInstances, fixtureText, node2TakesOver, node2Yields, pair, threeNode, twoNode, withConf } from "../helpers/facts";

const drifts = (xs: Incident[]) => xs.filter((i) => i.kind === "CONFIG_DRIFT");
const base1 = confInstances(fixtureText("two-node-console/node1.conf"));
const base2 = confInstances(fixtureText("two-node-console/node2.conf"));

function driftWith(conf2: ConfigInstance[], conf1 = base1): Incident[] {
  return drifts(replay(pair({ conf1, conf2 }).facts(), T0 + 30_000));
}

describe("CONFIG_DRIFT between peers of one VRID", () => {
  it("the captured fixtures have no drift", () => {
    const three = threeNode();
    const two = twoNode();
    assert.deepEqual(drifts(replay(three.facts, three.end)), []);
    assert.deepEqual(drifts(replay(two.facts, two.end)), []);
  });

  it("a different auth_pass is auth_mismatch, shown without the password or its hash", () => {
    const text = fixtureText("two-node-console/node2.conf").replace("auth_pass s3cret", "auth_pass other");
    const [d] = driftWith(confInstances(text));
    assert.equal(d.cause.code, "auth_mismatch");
    assert.equal(d.severity, "warning");
    assert.equal(d.vrid, 51);
    assert.equal(d.openedAt, T0, "opened by the config snapshot");
    assert.deepEqual(d.evidence.map((e) => `${e.node}|${e.kind}|${e.line}`), [
      "node1|config|VI_1: auth_type PASS, auth_pass password #1",
      "node2|config|VI_1: auth_type PASS, auth_pass password #2",
    ]);
  });

  it("passwords equal in their first 8 bytes (all keepalived sends) are not drift", () => {
    const a = fixtureText("two-node-console/node1.conf").replace("auth_pass s3cret", "auth_pass abcdefgh-one");
    const b = fixtureText("two-node-console/node2.conf").replace("auth_pass s3cret", "auth_pass abcdefgh-two");
    assert.deepEqual(driftWith(confInstances(b), confInstances(a)), []);
  });

  it("advert_int, VIP set and VRRP version differences each have their code", () => {
    assert.equal(driftWith(withConf(base2, { advertInt: 3 }))[0].cause.code, "advert_interval_mismatch");
    assert.equal(driftWith(withConf(base2, { vips: ["192.0.2.100/24", "192.0.2.200/24"] }))[0].cause.code, "vip_mismatch");
    assert.equal(driftWith(withConf(base2, { vrrpVersion: 3 }))[0].cause.code, "version_mismatch");
  });

  it("the same VIPs under another virtual_router_id are vrid_mismatch, reported once on the VRID most nodes use, closed when it matches again", () => {
    const t = pair({ conf2: withConf(base2, { vrid: 52 }) });
    t.config("node3", T0 + 1000, withConf(base1, { name: "VI_3" })); // a third node agrees with node1: VRID 51 is the router
    t.config("node2", T0 + 20_000, base2); // node2 is fixed
    const ds = drifts(replay(t.facts(), T0 + 30_000)).filter((d) => d.severity === "warning");
    assert.equal(ds.length, 1, JSON.stringify(ds.map((d) => [d.vrid, d.cause.code])));
    const [d] = ds;
    assert.equal(d.vrid, 51);
    assert.equal(d.cause.code, "vrid_mismatch");
    assert.match(d.cause.summary, /node2 configures addresses of VRID 51 under virtual_router_id 52/);
    assert.deepEqual(d.nodes, ["node1", "node2", "node3"]);
    assert.ok(d.evidence.some((e) => e.node === "node2" && /virtual_router_id 52, virtual_ipaddress 192.0.2.100/.test(e.line)));
    assert.equal(d.closedAt, T0 + 20_000, "closed by the snapshot that puts node2 back on VRID 51");
  });

  it("a VIP prefix length alone is not drift (only addresses are in the advert)", () => {
    assert.deepEqual(driftWith(withConf(base2, { vips: ["192.0.2.100/32"] })), []);
  });

  it("unicast on one side only, or a peer list missing the other's source address, is unicast_peers_mismatch", () => {
    assert.equal(driftWith(withConf(base2, { unicastPeers: ["192.0.2.1"] }))[0].cause.code, "unicast_peers_mismatch");
    const c1 = withConf(base1, { unicastSrcIp: "192.0.2.1", unicastPeers: ["192.0.2.2"] });
    const c2 = withConf(base2, { unicastSrcIp: "192.0.2.2", unicastPeers: ["192.0.2.9"] });
    assert.equal(driftWith(c2, c1)[0].cause.code, "unicast_peers_mismatch");
    const ok2 = withConf(base2, { unicastSrcIp: "192.0.2.2", unicastPeers: ["192.0.2.1"] });
    assert.deepEqual(driftWith(ok2, c1), []);
  });

  it("equal priorities and two `state MASTER` + `nopreempt` nodes are information, never a warning (priority is not a must-match field)", () => {
    const [eq] = driftWith(withConf(base2, { priority: 150 }));
    assert.equal(eq.cause.code, "equal_priority");
    assert.equal(eq.severity, "info");
    const [d] = driftWith(withConf(base2, { state: "MASTER", nopreempt: true }), withConf(base1, { state: "MASTER", nopreempt: true }));
    assert.equal(d.cause.code, "master_nopreempt");
    assert.equal(d.severity, "info");
  });

  it("several differences: the most important is the cause, all are evidence", () => {
    const [d] = driftWith(withConf(base2, { advertInt: 2, vrrpVersion: 3 }));
    assert.equal(d.cause.code, "advert_interval_mismatch");
    assert.match(d.cause.summary, /and 1 more difference/);
    assert.ok(d.evidence.some((e) => e.line === "VI_1: vrrp_version 3"), JSON.stringify(d.evidence));
  });

  it("closes when a new snapshot fixes it, and re-opens the same incident within the hold-down", () => {
    const t = pair({ conf2: withConf(base2, { advertInt: 2 }) });
    t.config("node2", T0 + 20_000, base2);
    t.config("node2", T0 + 40_000, withConf(base2, { advertInt: 2 }));
    const e = new DetectionEngine("c");
    const changes = t.facts().flatMap((f) => e.push(f)).filter((c) => c.incident.kind === "CONFIG_DRIFT");
    assert.deepEqual(changes.map((c) => c.type), ["opened", "closed", "updated"]);
    const [d] = drifts(e.incidents());
    assert.equal(d.openedAt, T0);
    assert.equal(d.closedAt, null);
  });
});

describe("different instance names for one VRID", () => {
  const renamed = withConf(base2, { name: "VI_OTHER" });

  function renamedPair() {
    const t = pair({ conf2: renamed });
    // node2's lines use its own instance name
    t.lines("node2", T0 + 20_000, ["(VI_OTHER) Receive advertisement timeout", "(VI_OTHER) Entering MASTER STATE", "(VI_OTHER) setting VIPs."]);
    t.lines("node1", T0 + 20_000, ["(VI_1) Master received advert from 192.0.2.2 with higher priority 200, ours 150", "(VI_1) Entering BACKUP STATE", "(VI_1) removing VIPs."]);
    return t;
  }

  it("are peers of one VRID: a clean failover raises no fault, only an information drift", () => {
    const t = renamedPair();
    t.lines("node1", T0 + 30_000, ["(VI_1) Entering FAULT STATE"]);
    const out = replay(t.facts(), T0 + 60_000);
    const kinds = out.map((i) => `${i.kind}/${i.severity}/${i.cause.code}`);
    assert.deepEqual(kinds.filter((k) => !k.startsWith("FAULT")), ["CONFIG_DRIFT/info/instance_names_differ"]);
    const [info] = drifts(out);
    assert.deepEqual(info.instances, { node1: "VI_1", node2: "VI_OTHER" });
    assert.match(info.key, /:CONFIG_DRIFT:51:names:/);
    assert.notEqual(out.find((i) => i.kind === "FAULT")!.cause.code, "instance_names_differ");
  });

  it("are never given as the cause of a DUAL_MASTER", () => {
    const t = pair({ conf2: renamed });
    t.lines("node2", T0 + 20_000, ["(VI_OTHER) Receive advertisement timeout", "(VI_OTHER) Entering MASTER STATE", "(VI_OTHER) setting VIPs."]);
    const [d] = replay(t.facts(), T0 + 40_000).filter((i) => i.kind === "DUAL_MASTER");
    assert.equal(d.cause.code, "adverts_not_received");
    assert.deepEqual(d.instances, { node1: "VI_1", node2: "VI_OTHER" });
    assert.ok(d.evidence.every((e) => e.kind !== "config"));
  });

  it("compareConfigs marks only the name difference as information", () => {
    const items = compareConfigs([
      { node: "a", cfg: base1[0], at: 0, ref: null },
      { node: "b", cfg: { ...base1[0], name: "X", priority: 100 }, at: 0, ref: null },
    ], "VRID 51");
    assert.deepEqual(items.map((i) => [i.code, i.severity, i.wire]), [["instance_names_differ", "info", false]]);
  });
});

describe("instances without a configuration", () => {
  it("are grouped by instance name and their incidents say the VRID is unknown", () => {
    const t = pair({ conf1: [], conf2: [] });
    node2Yields(node2TakesOver(t, T0 + 20_000), T0 + 30_000);
    const [d] = replay(t.facts(), T0 + 40_000).filter((i) => i.kind === "DUAL_MASTER");
    assert.equal(d.vrid, null);
    assert.equal(d.scope, "VI_1");
    assert.deepEqual(d.nodes, ["node1", "node2"]);
    assert.match(d.cause.summary, /VRID unknown: no configuration received, grouped by instance name/);
  });

  it("an instance without config is not a peer of a configured VRID (no cross-matching by name)", () => {
    const t = pair({ conf2: [] });
    node2Yields(node2TakesOver(t, T0 + 20_000), T0 + 30_000);
    assert.deepEqual(replay(t.facts(), T0 + 40_000).filter((i) => i.kind === "DUAL_MASTER"), []);
  });
});
