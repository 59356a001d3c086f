import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterStore, clusterStatus, vipAddress } from "../../server/state/cluster-state";
import { deriveStateChanges } from "../../server/state/derive";
import type { ConfigInstance, ConfigRecordMsg } from "../../server/protocol";
import type { StoredLog } from "../../server/ingest/store";
import { loadServerConfig, ConfigError } from "../../server/config";
import { VERSION, isOlderVersion } from "../../server/version";

const inst = (name: string, vrid: number, vips: string[] = []): ConfigInstance => ({
  name, vrid, interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: null, authPassHash: null, vips,
  trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null,
});

const cfg = (seq: number, instances: ConfigInstance[]): ConfigRecordMsg => ({
  kind: "config", seq, ts: seq, path: "/etc/keepalived/keepalived.conf", hash: "0".repeat(64), routerId: null,
  netNamespace: null, instances, errors: [],
});

const log = (id: number, event: StoredLog["event"], ts = id * 1000): StoredLog => ({ id: BigInt(id), seq: id, ts: new Date(ts), line: "", event });

describe("deriveStateChanges", () => {
  it("maps state lines to rows with the VRID from the config that came before them", () => {
    const view = { vrids: new Map(), instances: new Set<string>(), last: new Map<string, string>() };
    const rows = deriveStateChanges(view, [log(2, { type: "state", instance: "VI_1", state: "MASTER" })], [cfg(1, [inst("VI_1", 51)])]);
    assert.deepEqual(rows.map((r) => [r.instance, r.vrid, r.state]), [["VI_1", 51, "MASTER"]]);
  });

  it("keeps the VRID unknown (null) for an instance missing from the config", () => {
    const view = { vrids: new Map(), instances: new Set<string>(), last: new Map<string, string>() };
    const rows = deriveStateChanges(view, [log(1, { type: "state", instance: "VI_X", state: "BACKUP", init: true })], []);
    assert.equal(rows[0].vrid, null);
  });

  it("records one change when 1.x logs Transition to MASTER and then Entering MASTER", () => {
    const view = { vrids: new Map(), instances: new Set<string>(), last: new Map<string, string>() };
    const rows = deriveStateChanges(view, [
      log(1, { type: "state", instance: "VI_1", state: "MASTER" }),
      log(2, { type: "state", instance: "VI_1", state: "MASTER" }),
      log(3, { type: "state", instance: "VI_1", state: "BACKUP" }),
    ], []);
    assert.deepEqual(rows.map((r) => [Number(r.logRecordId), r.state]), [[1, "MASTER"], [3, "BACKUP"]]);
  });

  it("treats a startup FAULT reason line as entering FAULT", () => {
    const view = { vrids: new Map(), instances: new Set<string>(), last: new Map<string, string>() };
    const rows = deriveStateChanges(view, [log(1, { type: "fault_reason", instance: "VI_1", reason: "interface_down", detail: "eth0" })], []);
    assert.deepEqual(rows.map((r) => [r.instance, r.state]), [["VI_1", "FAULT"]]);
  });

  it("turns keepalived stopping into one node-wide STOP", () => {
    const view = { vrids: new Map(), instances: new Set(["VI_1", "VI_2"]), last: new Map<string, string>() };
    const rows = deriveStateChanges(view, [log(1, { type: "daemon", what: "stopping" }), log(2, null)], []);
    assert.deepEqual(rows.map((r) => [r.instance, r.state]), [["*", "STOP"]]);
  });
});

describe("ClusterStore", () => {
  it("reports UNKNOWN, not the last state, for a node whose agent is offline", () => {
    const store = new ClusterStore(15_000);
    const c = store.cluster(1, "c");
    const n = store.node(c, 1, "lb1");
    store.applyConfig(n, cfg(1, [inst("VI_1", 51, ["198.18.0.100/24 dev eth0"])]));
    store.applyState(n, "VI_1", "MASTER", 1000);
    store.applyVips(n, [{ address: "198.18.0.100", prefixlen: 24, iface: "eth0" }]);
    store.touch(n, 10_000);
    const online = store.summary(c, 20_000);
    assert.equal(online.nodes[0].instances[0].state, "MASTER");
    assert.deepEqual(online.nodes[0].instances[0].vips, [{ address: "198.18.0.100", held: true }]);
    const offline = store.summary(c, 30_001);
    assert.equal(offline.nodes[0].online, false);
    assert.equal(offline.nodes[0].instances[0].state, "UNKNOWN");
    assert.equal(offline.status, "warning");
  });

  it("says per node which version its agent announced and whether it is older than the server's", () => {
    const store = new ClusterStore(15_000);
    const c = store.cluster(1, "c");
    const [old, same, , odd] = ["lb1", "lb2", "lb3", "lb4"].map((name, i) => store.node(c, i + 1, name));
    old.agentVersion = "0.0.9";
    same.agentVersion = VERSION;
    odd.agentVersion = "";
    const agents = store.summary(c, 0).nodes.map((n) => [n.name, n.agent]);
    assert.deepEqual(agents, [["lb1", { version: "0.0.9", outdated: true }], ["lb2", { version: VERSION, outdated: false }], ["lb3", null], ["lb4", { version: "", outdated: false }]]);
  });

  it("compares x.y.z versions numerically; anything else is never older", () => {
    assert.equal(isOlderVersion("0.9.12", "0.10.0"), true);
    assert.equal(isOlderVersion("1.2.3", "1.2.3"), false);
    assert.equal(isOlderVersion("1.10.0", "1.9.9"), false);
    assert.equal(isOlderVersion("v1.2.2-dirty", "1.2.3"), true);
    assert.equal(isOlderVersion("fake", "1.2.3"), false);
    assert.equal(isOlderVersion("1.2.3", "dev"), false);
  });

  it("does not let a late, older line overwrite a newer state", () => {
    const store = new ClusterStore(15_000);
    const n = store.node(store.cluster(1, "c"), 1, "lb1");
    store.applyState(n, "VI_1", "MASTER", 2000);
    store.applyState(n, "VI_1", "BACKUP", 1000);
    assert.equal(n.instances.get("VI_1")?.state, "MASTER");
  });

  it("applies a node-wide STOP to every known instance", () => {
    const store = new ClusterStore(15_000);
    const n = store.node(store.cluster(1, "c"), 1, "lb1");
    store.applyConfig(n, cfg(1, [inst("VI_1", 51), inst("VI_2", 52)]));
    store.applyState(n, "VI_1", "MASTER", 1000);
    store.applyState(n, "*", "STOP", 2000);
    assert.deepEqual([...n.instances].map(([k, v]) => [k, v.state]), [["VI_1", "STOP"], ["VI_2", "STOP"]]);
  });
});

describe("the live picture follows keepalived's process", () => {
  const ord = (seq: number) => ({ agentId: "a1", seq });
  /** two online nodes configured with VI_1 (VRID 51); `watched`: their process watch saw keepalived running */
  const twoNodes = (watched: boolean) => {
    const store = new ClusterStore(15_000);
    const c = store.cluster(1, "c");
    const a = store.node(c, 1, "lb1");
    const b = store.node(c, 2, "lb2");
    for (const n of [a, b]) {
      store.applyConfig(n, cfg(1, [inst("VI_1", 51)]));
      if (watched) store.applyProcess(n, { running: true, event: "observed" }, 1500, ord(2));
      store.touch(n, 10_000);
    }
    return { store, c, a, b };
  };
  it("shows a SIGKILLed keepalived's instances STOP (it logs nothing) until a newer state line, and says keepalived is down", () => {
    const { store, c, a, b } = twoNodes(true);
    store.applyState(a, "VI_1", "MASTER", 2000, ord(3));
    store.applyState(b, "VI_1", "BACKUP", 2000, ord(3));
    let s = store.summary(c, 10_000);
    assert.deepEqual(s.nodes.map((n) => [n.name, n.keepalived, n.instances[0].state]), [["lb1", "running", "MASTER"], ["lb2", "running", "BACKUP"]]);
    assert.equal(s.status, "ok");
    store.applyProcess(a, { running: false, event: "vanished" }, 3000, ord(4));
    s = store.summary(c, 10_000);
    assert.deepEqual(s.nodes.map((n) => [n.name, n.keepalived, n.instances[0].state]), [["lb1", "down", "STOP"], ["lb2", "running", "BACKUP"]]);
    assert.equal(s.status, "critical", "no MASTER left for VRID 51");
    // the peer takes over: the down node still counts as a warning
    store.applyState(b, "VI_1", "MASTER", 6000, ord(4));
    assert.equal(store.summary(c, 10_000).status, "warning");
    // a late, older process record does not bring it back; a restart and a newer state line do
    store.applyProcess(a, { running: true, event: "observed" }, 2500, ord(1));
    assert.equal(store.summary(c, 10_000).nodes[0].keepalived, "down");
    store.applyProcess(a, { running: true, event: "started" }, 8000, ord(5));
    store.applyState(a, "VI_1", "BACKUP", 8100, ord(6));
    s = store.summary(c, 10_000);
    assert.deepEqual(s.nodes.map((n) => [n.name, n.keepalived, n.instances[0].state]), [["lb1", "running", "BACKUP"], ["lb2", "running", "MASTER"]]);
    assert.equal(s.status, "ok");
  });

  it("treats a vanished VRRP child as down, and a node without a process watch as unknown (null), not down", () => {
    const { store, c, a, b } = twoNodes(false);
    store.applyState(a, "VI_1", "MASTER", 2000, ord(3));
    store.applyProcess(a, { running: true, event: "child_vanished" }, 3000, ord(4));
    store.applyState(b, "VI_1", "BACKUP", 2000, ord(3));
    const s = store.summary(c, 10_000);
    assert.deepEqual(s.nodes.map((n) => [n.name, n.keepalived, n.instances[0].state]), [["lb1", "down", "STOP"], ["lb2", null, "BACKUP"]]);
  });
});

describe("clusterStatus", () => {
  const node = (name: string, states: [number, string][], online = true) => ({
    name, online, lastSeen: null,
    instances: states.map(([vrid, state]) => ({ name: `VI_${vrid}`, vrid, state: state as "MASTER", vips: [] })),
  });
  it("is ok with one MASTER per VRID and every node online", () => {
    assert.equal(clusterStatus([node("a", [[51, "MASTER"]]), node("b", [[51, "BACKUP"]])], 0), "ok");
  });
  it("is critical for two MASTERs of one VRID", () => {
    assert.equal(clusterStatus([node("a", [[51, "MASTER"]]), node("b", [[51, "MASTER"]])], 0), "critical");
  });
  it("is critical for FAULT and for a VRID without MASTER", () => {
    assert.equal(clusterStatus([node("a", [[51, "FAULT"]]), node("b", [[51, "MASTER"]])], 0), "critical");
    assert.equal(clusterStatus([node("a", [[51, "BACKUP"]]), node("b", [[51, "BACKUP"]])], 0), "critical");
  });
  it("is a warning for an offline node or an open incident", () => {
    assert.equal(clusterStatus([node("a", [[51, "MASTER"]]), node("b", [[51, "UNKNOWN"]], false)], 0), "warning");
    assert.equal(clusterStatus([node("a", [[51, "MASTER"]])], 1), "warning");
  });
});

describe("vipAddress", () => {
  it("keeps only the address of a keepalived VIP entry", () => {
    assert.equal(vipAddress("192.0.2.100/24 dev eth0 label eth0:1"), "192.0.2.100");
    assert.equal(vipAddress("2001:DB8::1/64"), "2001:db8::1");
  });
});

describe("server configuration", () => {
  it("names the setting to fix when a value is bad", () => {
    assert.throws(() => loadServerConfig(["--port", "99999"], {}), (e: Error) => e instanceof ConfigError && /--port \/ PORT/.test(e.message));
    assert.throws(() => loadServerConfig([], { DATABASE_URL: "mysql://x" }), (e: Error) => /DATABASE_URL/.test(e.message));
  });
  it("takes flags over environment over defaults", () => {
    assert.equal(loadServerConfig(["--port", "4000"], { PORT: "5000" }).port, 4000);
    assert.equal(loadServerConfig([], { PORT: "5000" }).port, 5000);
    assert.equal(loadServerConfig([], {}).port, 3000);
  });
});

describe("the live picture retires instances with their configuration", () => {
  it("an instance renamed in the node's current config disappears, and later lines of the old name are history", () => {
    const store = new ClusterStore(15_000);
    const n = store.node(store.cluster(1, "c"), 1, "lb1");
    store.applyConfig(n, cfg(1, [inst("VI_1", 51)]));
    store.applyState(n, "VI_1", "MASTER", 2000);
    store.applyConfig(n, cfg(3, [inst("VI_X", 51)]));
    store.applyState(n, "VI_X", "BACKUP", 4000);
    store.applyState(n, "VI_1", "FAULT", 5000); // a backlog line of the old name
    assert.deepEqual([...n.instances.keys()], ["VI_X"]);
  });
});
