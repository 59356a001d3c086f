/**
 * The live series of /metrics (server/metrics-live.ts): one sample of the picture per scrape, our kam_*
 * series and the keepalived exporters' (docs/METRICS.md), with their labels and values.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counters } from "../../server/metrics";
import { LiveMetrics, exporterAddress } from "../../server/metrics-live";
import { ClusterStore } from "../../server/state/cluster-state";
import type { ConfigInstance } from "../../server/protocol";
import { parsePromText, samplesOf } from "../helpers/prom-text";

const inst = (name: string, vrid: number, vips: string[], iface = "eth0"): ConfigInstance => ({
  name, vrid, interface: iface, state: "BACKUP", priority: 100, advertInt: 1, authType: null, authPassHash: null, vips,
  trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null,
});
const cfg = (instances: ConfigInstance[]) => ({ hash: "0".repeat(64), ts: 1, instances });
const ord = (seq: number) => ({ agentId: "a1", seq });

/**
 * Cluster "shop": lb1 (agent 1.4.0, keepalived watched and running) MASTER of VI_1 (two VIPs) and BACKUP of
 * VI_2 (no VIP); lb2 (agent offline). Times: node lastSeen 10 s, the scrape at 20 s (lb2 last seen at 1 s).
 */
function shop() {
  const store = new ClusterStore(15_000);
  const c = store.cluster(1, "shop");
  const lb1 = store.node(c, 1, "lb1");
  const lb2 = store.node(c, 2, "lb2");
  store.applyConfig(lb1, cfg([inst("VI_1", 51, ["198.18.0.100/24", "198.18.0.101/32"], "ens3"), inst("VI_2", 52, [])]));
  store.applyConfig(lb2, cfg([inst("VI_1", 51, ["198.18.0.100/24", "198.18.0.101/32"], "ens3")]));
  store.applyProcess(lb1, { running: true, event: "observed" }, 1000, ord(1));
  lb1.agentVersion = "1.4.0";
  lb2.agentVersion = "";
  store.applyVips(lb1, [{ address: "198.18.0.100", prefixlen: 24, iface: "ens3" }]);
  store.touch(lb1, Date.now() - 1000);
  store.touch(lb2, Date.now() - 60_000);
  lb1.skewMs = 1500;
  return { store, c, lb1, lb2 };
}

async function scrape(store: ClusterStore, open: { cluster: string; kind: string; count: number }[] = []) {
  const counters = new Counters();
  const live = new LiveMetrics(counters.registry, { store }, { openByKind: () => open });
  const text = await live.metrics();
  return { live, text, families: parsePromText(text) };
}

describe("MASTER transitions counted from the node's log (keepalived's become_master / release_master)", () => {
  it("counts every entry into MASTER and every MASTER -> BACKUP or FAULT; not a shutdown, not history, not a late older line", () => {
    const { store, lb1 } = shop();
    const t = () => lb1.transitions.get("VI_1");
    // history restored at start is not counted
    store.applyState(lb1, "VI_1", "MASTER", 1000, ord(2));
    assert.equal(t(), undefined);
    store.applyState(lb1, "VI_1", "BACKUP", 2000, ord(3), true);
    store.applyState(lb1, "VI_1", "MASTER", 3000, ord(4), true);
    store.applyState(lb1, "VI_1", "FAULT", 4000, ord(5), true);
    store.applyState(lb1, "VI_1", "BACKUP", 5000, ord(6), true); // FAULT -> BACKUP: neither
    store.applyState(lb1, "VI_1", "MASTER", 6000, ord(7), true);
    assert.deepEqual(t(), { become: 2, release: 2 });
    // keepalived stopping (one node-wide STOP row) releases nothing (keepalived does not count it either)
    store.applyState(lb1, "*", "STOP", 7000, ord(8), true);
    assert.deepEqual(t(), { become: 2, release: 2 });
    // restarted: its first election is an entry into MASTER
    store.applyState(lb1, "VI_1", "BACKUP", 8000, ord(9), true);
    store.applyState(lb1, "VI_1", "MASTER", 9000, ord(10), true);
    // a late line older than the state shown is not applied, and not counted
    store.applyState(lb1, "VI_1", "BACKUP", 8500, ord(9), true);
    assert.deepEqual(t(), { become: 3, release: 2 });
  });
});

describe("the live series of /metrics", () => {
  it("reports one node's instances with the exporters' names, labels and values, and our kam_* series beside them", async () => {
    const { store, lb1 } = shop();
    store.applyState(lb1, "VI_1", "BACKUP", 1000, ord(2), true);
    store.applyState(lb1, "VI_1", "MASTER", 2000, ord(3), true);
    store.applyState(lb1, "VI_2", "BACKUP", 2000, ord(4), true);
    const { families: f } = await scrape(store, [{ cluster: "shop", kind: "AGENT_OFFLINE", count: 1 }]);

    // mehdy/keepalived-exporter: state as keepalived numbers it, one series per VIP as keepalived prints it
    assert.deepEqual(samplesOf(f, "keepalived_vrrp_state").map((s) => [s.labels, s.value]), [
      [{ cluster: "shop", node: "lb1", iname: "VI_1", intf: "ens3", vrid: "51", ip_address: "198.18.0.100/24" }, 2],
      [{ cluster: "shop", node: "lb1", iname: "VI_1", intf: "ens3", vrid: "51", ip_address: "198.18.0.101" }, 2],
      [{ cluster: "shop", node: "lb1", iname: "VI_2", intf: "eth0", vrid: "52", ip_address: "" }, 1],
    ]);
    assert.equal(f.get("keepalived_vrrp_state")?.type, "gauge");
    assert.deepEqual(samplesOf(f, "keepalived_become_master_total").map((s) => [s.labels, s.value]), [
      [{ cluster: "shop", node: "lb1", iname: "VI_1", intf: "ens3", vrid: "51" }, 1],
      [{ cluster: "shop", node: "lb1", iname: "VI_2", intf: "eth0", vrid: "52" }, 0],
    ]);
    assert.equal(f.get("keepalived_become_master_total")?.type, "counter");
    assert.deepEqual(samplesOf(f, "keepalived_release_master_total", { iname: "VI_1" }).map((s) => s.value), [0]);
    // gen2brain/keepalived_exporter: name, intf, vrid and the state now
    assert.deepEqual(samplesOf(f, "keepalived_vrrp_become_master").map((s) => [s.labels, s.value]), [
      [{ cluster: "shop", node: "lb1", name: "VI_1", intf: "ens3", vrid: "51", state: "MASTER" }, 1],
      [{ cluster: "shop", node: "lb1", name: "VI_2", intf: "eth0", vrid: "52", state: "BACKUP" }, 0],
    ]);
    assert.equal(f.get("keepalived_vrrp_release_master")?.type, "counter");
    // keepalived_up: lb1's process watch says running; lb2 is offline: no series (an exporter there would not answer)
    assert.deepEqual(samplesOf(f, "keepalived_up").map((s) => [s.labels, s.value]), [[{ cluster: "shop", node: "lb1" }, 1]]);

    // ours
    assert.deepEqual(samplesOf(f, "kam_instance_become_master_total").map((s) => [s.labels, s.value]), [
      [{ cluster: "shop", node: "lb1", instance: "VI_1", vrid: "51" }, 1],
      [{ cluster: "shop", node: "lb1", instance: "VI_2", vrid: "52" }, 0],
      [{ cluster: "shop", node: "lb2", instance: "VI_1", vrid: "51" }, 0],
    ]);
    assert.deepEqual(samplesOf(f, "kam_agent_info").map((s) => [s.labels, s.value]), [
      [{ cluster: "shop", node: "lb1", version: "1.4.0" }, 1],
      [{ cluster: "shop", node: "lb2", version: "unknown" }, 1],
    ]);
    assert.deepEqual(samplesOf(f, "kam_vip_held", { node: "lb1" }).map((s) => [s.labels.address, s.value]), [["198.18.0.100", 1], ["198.18.0.101", 0]]);
    assert.deepEqual(samplesOf(f, "kam_agent_clock_skew_seconds").map((s) => [s.labels.node, s.value]), [["lb1", 1.5]]);
    assert.deepEqual(samplesOf(f, "kam_open_incidents").map((s) => [s.labels, s.value]), [[{ cluster: "shop", kind: "AGENT_OFFLINE" }, 1]]);
    // the deprecated name of the last-seen time carries the same values
    assert.deepEqual(samplesOf(f, "kam_agent_last_seen_seconds").map((s) => s.value), samplesOf(f, "kam_agent_last_seen_timestamp_seconds").map((s) => s.value));
    assert.equal(samplesOf(f, "kam_agent_last_seen_seconds").length, 2);
  });

  it("leaves a node's keepalived_* series out while its keepalived is down or unwatched, keeps ours", async () => {
    const { store, lb1 } = shop();
    store.applyState(lb1, "VI_1", "MASTER", 2000, ord(3), true);
    store.applyProcess(lb1, { running: false, event: "vanished" }, 3000, ord(4));
    let f = (await scrape(store)).families;
    assert.deepEqual(samplesOf(f, "keepalived_up").map((s) => [s.labels.node, s.value]), [["lb1", 0]]);
    assert.equal(samplesOf(f, "keepalived_vrrp_state").length, 0, "keepalived down: no VRRP state (an exporter reads none)");
    assert.equal(samplesOf(f, "keepalived_become_master_total").length, 0);
    assert.equal(samplesOf(f, "kam_instance_state", { node: "lb1", instance: "VI_1", state: "STOP" })[0].value, 1);
    assert.equal(samplesOf(f, "kam_instance_become_master_total", { node: "lb1", instance: "VI_1" })[0].value, 1, "our counter stays");
    // an agent without a process watch: keepalived_up unknown, absent
    lb1.keepalived = null;
    f = (await scrape(store)).families;
    assert.equal(samplesOf(f, "keepalived_up").length, 0);
    assert.equal(samplesOf(f, "keepalived_vrrp_state", { iname: "VI_1" })[0].value, 2);
  });

  it("takes one sample of the picture per scrape, so all families agree", async () => {
    const { store, lb1, lb2 } = shop();
    store.applyState(lb1, "VI_1", "MASTER", 2000, ord(3), true);
    store.applyState(lb1, "VI_2", "BACKUP", 2000, ord(4), true);
    store.applyState(lb2, "VI_1", "BACKUP", 2000, { agentId: "b", seq: 1 }, true);
    const counters = new Counters();
    const live = new LiveMetrics(counters.registry, { store }, null);
    /** the nodes online in this scrape, checked against every family that depends on it */
    const scrapeOnline = async () => {
      const f = parsePromText(await live.metrics());
      const online: string[] = [];
      for (const s of samplesOf(f, "kam_node_online")) {
        const node = s.labels.node;
        if (s.value === 1) online.push(node);
        const unknown = samplesOf(f, "kam_instance_state", { node, state: "UNKNOWN" }).map((x) => x.value);
        assert.ok(unknown.length > 0, node);
        assert.deepEqual(unknown, unknown.map(() => 1 - s.value), `${node}: UNKNOWN exactly while offline`);
        assert.equal(samplesOf(f, "keepalived_vrrp_state", { node }).length > 0, s.value === 1, `${node}: exporter series only while online`);
      }
      return online;
    };
    assert.deepEqual(await scrapeOnline(), ["lb1"]);
    assert.equal(live.samples, 1, "one sample per scrape");
    lb1.lastSeen = Date.now() - 16_000;
    assert.deepEqual(await scrapeOnline(), []);
    lb1.lastSeen = lb2.lastSeen = Date.now();
    assert.deepEqual(await scrapeOnline(), ["lb1", "lb2"]);
    assert.equal(live.samples, 3);
  });
});

describe("exporterAddress: a VIP as keepalived's data dump prints it", () => {
  it("drops the host prefix, keeps another, writes IPv6 compressed", () => {
    assert.equal(exporterAddress("192.0.2.1/32"), "192.0.2.1");
    assert.equal(exporterAddress("192.0.2.1/24"), "192.0.2.1/24");
    assert.equal(exporterAddress("192.0.2.1"), "192.0.2.1");
    assert.equal(exporterAddress("192.0.2.1/24 dev eth0"), "192.0.2.1/24");
    assert.equal(exporterAddress("2001:DB8:0:0:0:0:0:1/128"), "2001:db8::1");
    assert.equal(exporterAddress("2001:db8:0:0:1:0:0:1/64"), "2001:db8::1:0:0:1/64");
    assert.equal(exporterAddress("fe80::1%eth0/64"), "fe80::1%eth0/64");
  });
});
