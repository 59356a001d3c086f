/**
 * keepalived dump samples (protocol "dumps" records, agent --dumps-interval) against the real server and
 * database: the heartbeat answer lists the kind, samples are stored as change points (one that changes only
 * the advert counters is acknowledged, not stored), the newest one feeds /metrics (the exporters' names) and
 * /api/clusters (configured vs effective priority), and a malformed sample is refused with a typed error and
 * counted.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DUMP_COUNTERS, type ClusterSummary, type DumpInstance, type HeartbeatAck } from "../../server/protocol";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import { metricOf, queryDb, startTestServer, type TestServer } from "../helpers/server";
import { testDbKind } from "../helpers/db";

let srv: TestServer;
let fa: FakeAgent;

before(async () => {
  srv = await startTestServer();
});
after(async () => {
  fa?.close();
  await srv?.close();
});

const stats = (over: Partial<DumpInstance["stats"]> = {}) => ({ ...Object.fromEntries(DUMP_COUNTERS.map((k) => [k, 0])), ...over }) as DumpInstance["stats"];
const sample = (over: Partial<DumpInstance["stats"]>, effectivePriority = 140) => ({
  kind: "dumps" as const, ts: Date.now(), source: "json" as const, pid: 4242,
  instances: [{ name: "VI_1", vrid: 51, state: "MASTER" as const, basePriority: 150, effectivePriority, stats: stats(over) }],
});

describe(`keepalived dump samples (${testDbKind()})`, () => {
  it("the heartbeat answer lists the optional record kinds the server takes", async () => {
    fa = await connectFakeAgent(srv.url, await srv.token("dumps", "d1"), "d1");
    const ack = (await fa.socket.timeout(5000).emitWithAck("heartbeat", { ts: Date.now(), outbox: 0, sources: {} })) as HeartbeatAck;
    assert.equal(ack.ok, true);
    assert.deepEqual(ack.ok ? ack.records : null, ["dumps"]);
  });

  it("stores change points, keeps the newest sample for /metrics and /api/clusters", async () => {
    await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: "2".repeat(64), routerId: "d1",
      netNamespace: null, errors: [], instances: [instance({ name: "VI_1", vrid: 51, priority: 150 })] }]);
    await fa.log("(VI_1) Entering MASTER STATE");
    const a1 = await fa.send([sample({ advert_sent: 10, become_master: 1 })]);
    assert.deepEqual(a1.ok ? [a1.stored, a1.duplicates] : a1, [1, 0]);
    // only the advert counters moved: acknowledged, not stored
    const a2 = await fa.send([sample({ advert_sent: 20, advert_rcvd: 3, become_master: 1 })]);
    assert.deepEqual(a2.ok ? [a2.stored, a2.duplicates] : a2, [0, 1]);
    // an authentication error counter moved: a change point
    const a3 = await fa.send([sample({ advert_sent: 30, advert_rcvd: 3, become_master: 1, auth_failure: 2 })]);
    assert.deepEqual(a3.ok ? [a3.stored, a3.duplicates] : a3, [1, 0]);
    const rows = await queryDb<{ seq: string; source: string; pid: number; instances: DumpInstance[] }>(srv,
      `SELECT k.seq::text, k.source, k.pid, k.instances FROM keepalived_dump k JOIN node n ON n.id = k.node_id WHERE n.name = 'd1' ORDER BY k.seq`);
    assert.deepEqual(rows.map((r) => [r.source, r.pid, r.instances[0].stats.advert_sent, r.instances[0].stats.auth_failure]), [["json", 4242, 10, 0], ["json", 4242, 30, 2]]);

    const base = { cluster: "dumps", node: "d1" };
    assert.equal(await metricOf(srv, "keepalived_advertisements_sent_total", { ...base, iname: "VI_1", intf: "eth0", vrid: "51" }), 30);
    assert.equal(await metricOf(srv, "keepalived_advertisements_received_total", { ...base, iname: "VI_1", intf: "eth0", vrid: "51" }), 3);
    assert.equal(await metricOf(srv, "keepalived_authentication_failure_total", { ...base, iname: "VI_1", intf: "eth0", vrid: "51" }), 2);
    assert.equal(await metricOf(srv, "keepalived_vrrp_advert_sent", { ...base, name: "VI_1", intf: "eth0", vrid: "51", state: "MASTER" }), 30);
    assert.equal(await metricOf(srv, "keepalived_vrrp_auth_failure", { ...base, name: "VI_1", intf: "eth0", vrid: "51", state: "MASTER" }), 2);
    assert.equal(await metricOf(srv, "kam_instance_effective_priority", { ...base, instance: "VI_1", vrid: "51" }), 140);
    assert.equal(await metricOf(srv, "kam_ingest_dumps_unchanged_total"), 1);

    const clusters = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
    const vi = clusters.find((c) => c.name === "dumps")!.nodes.find((n) => n.name === "d1")!.instances.find((i) => i.name === "VI_1")!;
    assert.equal(vi.configuredPriority, 150);
    assert.equal(vi.dump?.effectivePriority, 140);
    assert.ok(vi.dump && Date.parse(vi.dump.at) > Date.now() - 60_000);
  });

  it("refuses a malformed sample with a typed error, counted, and stays connected", async () => {
    const before = await metricOf(srv, "kam_ingest_rejected_total", { code: "invalid_message" });
    const bad = sample({ advert_sent: -1 });
    const ack = await fa.send([bad]);
    assert.equal(ack.ok, false);
    assert.equal(ack.ok ? "" : ack.code, "invalid_message");
    assert.match(ack.ok ? "" : ack.message, /advert_sent/);
    const tooHigh = await fa.send([sample({}, 300)]);
    assert.equal(tooHigh.ok ? "" : tooHigh.code, "invalid_message");
    assert.equal(await metricOf(srv, "kam_ingest_rejected_total", { code: "invalid_message" }), before + 2);
    assert.ok(fa.socket.connected);
    // the newest good sample is still the one shown
    assert.equal(await metricOf(srv, "keepalived_advertisements_sent_total", { cluster: "dumps", node: "d1", iname: "VI_1", intf: "eth0", vrid: "51" }), 30);
  });
});
