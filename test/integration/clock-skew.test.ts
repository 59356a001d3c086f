/**
 * Nodes whose clocks are wrong, against the REAL server and database: the
 * node's time is stored as sent, beside the server's receive time; the skew
 * is measured from heartbeats and shown per node in /api/clusters; a node
 * whose clock jumps keeps the state it reported last (by the agent's own
 * order, not by its clock), live and after a server restart; and a clock off
 * by weeks does not make a heartbeating node look offline.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { io, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, type AgentRecord, type BatchAck, type ClusterSummary, type IncidentMsg } from "../../server/protocol";
import { startTestServer, type TestServer, queryDb, metricOf } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { instance } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";

let srv: TestServer;
const OFFLINE_S = 4;
const MIN = 60_000;

/** An agent on a node whose clock is `offsetMs` off; the offset can change (the clock jumps). */
class SkewedAgent {
  seq = 0;
  socket!: Socket;
  private hb: NodeJS.Timeout | null = null;
  constructor(
    readonly node: string,
    public offsetMs: number,
  ) {}
  nodeNow = () => Date.now() + this.offsetMs;
  async connect(token: string, agentId = randomUUID()) {
    this.socket = io(`${srv.url}/agent`, {
      auth: { protocol: PROTOCOL_VERSION, token, agentId, node: this.node, hostname: this.node, version: "skew" },
      transports: ["websocket"], reconnection: false,
    });
    await new Promise<void>((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("connect_error", reject);
    });
    const beat = () => this.socket.emit("heartbeat", { ts: this.nodeNow(), outbox: 0, sources: {} }, () => {});
    beat();
    this.hb = setInterval(beat, 500);
    return this;
  }
  async send(records: DistributiveOmit<AgentRecord, "seq" | "ts">[]): Promise<BatchAck> {
    const recs = records.map((r) => ({ ...r, seq: ++this.seq, ts: this.nodeNow() }));
    return (await this.socket.timeout(10_000).emitWithAck("batch", { records: recs })) as BatchAck;
  }
  /** journald lines: the record's ts is the node's clock */
  log(...messages: string[]) {
    return this.send(messages.map((m) => ({ kind: "log" as const, source: "journal" as const, line: m, cursor: `c${this.seq}`, ident: "Keepalived_vrrp" })));
  }
  config(priority: number) {
    return this.send([{
      kind: "config", path: "/etc/keepalived/keepalived.conf", hash: String(priority).padStart(64, "0"), routerId: this.node, netNamespace: null,
      errors: [], instances: [instance({ name: "VI_1", vrid: 51, priority })],
    }]);
  }
  close() {
    if (this.hb) clearInterval(this.hb);
    this.socket?.close();
  }
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const agents: SkewedAgent[] = [];
async function agent(node: string, offsetMs: number, token: string) {
  const a = await new SkewedAgent(node, offsetMs).connect(token);
  agents.push(a);
  return a;
}

const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDb<T>(srv, sql, params);

async function cluster(name: string): Promise<ClusterSummary | undefined> {
  return ((await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[]).find((c) => c.name === name);
}
type NodeWithSkew = ClusterSummary["nodes"][number] & { skewMs?: number | null };
const nodeOf = async (c: string, n: string) => (await cluster(c))?.nodes.find((x) => x.name === n) as NodeWithSkew | undefined;

before(async () => {
  srv = await startTestServer({ env: { KAM_AGENT_OFFLINE_SECONDS: String(OFFLINE_S) } });
});
after(async () => {
  for (const a of agents) a.close();
  await srv?.close();
});

describe(`clock skew (${testDbKind()})`, () => {
  it("keeps node time beside the server's receive time, orders history by arrival, and shows each node's measured skew", { timeout: 60_000 }, async () => {
    const token = await srv.token("skew");
    const ahead = await agent("ahead", 5 * MIN, token);
    const right = await agent("right", 0, token);
    const t0 = Date.now();
    assert.equal((await ahead.log("(VI_1) Entering BACKUP STATE")).ok, true);
    assert.equal((await right.log("(VI_1) Entering MASTER STATE")).ok, true);
    assert.equal((await ahead.log("(VI_1) Entering MASTER STATE")).ok, true);
    const t1 = Date.now();
    const rows = await query<{ node: string; line: string; ts: Date; received_at: Date }>(
      `SELECT n.name AS node, l.line, l.ts, l.received_at FROM log_record l JOIN node n ON n.id = l.node_id
       JOIN cluster c ON c.id = l.cluster_id WHERE c.name = 'skew' ORDER BY l.received_at, l.seq`,
    );
    // arrival order is the order things happened, whatever the node clocks say
    assert.deepEqual(rows.map((r) => [r.node, r.line]), [
      ["ahead", "(VI_1) Entering BACKUP STATE"], ["right", "(VI_1) Entering MASTER STATE"], ["ahead", "(VI_1) Entering MASTER STATE"],
    ]);
    for (const r of rows) {
      const skew = r.node === "ahead" ? 5 * MIN : 0;
      assert.ok(r.received_at.getTime() >= t0 - 5 && r.received_at.getTime() <= t1 + 5, "received_at is the server's clock");
      assert.ok(Math.abs(r.ts.getTime() - r.received_at.getTime() - skew) < 2000, `${r.node}: ts keeps the node's clock`);
    }
    // by node time alone the skewed node's first line would wrongly come after the other node's
    const byTs = [...rows].sort((a, b) => a.ts.getTime() - b.ts.getTime()).map((r) => r.node);
    assert.deepEqual(byTs, ["right", "ahead", "ahead"]);
    const a = await waitFor("skew of 'ahead' measured", async () => {
      const n = await nodeOf("skew", "ahead");
      return typeof n?.skewMs === "number" ? n : null;
    });
    assert.ok(Math.abs(a.skewMs! - 5 * MIN) < 2000, `ahead: skewMs ${a.skewMs}`);
    const r = await nodeOf("skew", "right");
    assert.ok(typeof r?.skewMs === "number" && Math.abs(r.skewMs) < 2000, `right: skewMs ${r?.skewMs}`);
    // and in /metrics, per node
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const gauge = (node: string) => Number(new RegExp(`^kam_agent_clock_skew_seconds\\{cluster="skew",node="${node}"\\} (\\S+)$`, "m").exec(text)?.[1]);
    assert.ok(Math.abs(gauge("ahead") - 300) < 2, `ahead in /metrics: ${gauge("ahead")}`);
    assert.ok(Math.abs(gauge("right")) < 2, `right in /metrics: ${gauge("right")}`);
    assert.match(text, /^# TYPE kam_agent_clock_skew_seconds gauge$/m);
    // and on the agent row (per agent), persisted with liveness
    await waitFor("skew stored per agent", async () => {
      const [row] = await query<{ skew_ms: number | null }>(`SELECT a.skew_ms FROM agent a JOIN node n ON n.id = a.node_id WHERE n.name = 'ahead'`);
      return row?.skew_ms != null && Math.abs(row.skew_ms - 5 * MIN) < 2000;
    }, 15_000);
  });

  it("counts records stamped beyond futureSkewMs (5 min) ahead of their receipt in /metrics, per cluster, and names the node in the log", { timeout: 60_000 }, async () => {
    const token = await srv.token("skew-far");
    const far = await agent("far", 20 * MIN, token);
    const ok = await agent("ok", 30_000, token); // 30 s ahead: within futureSkewMs, not counted
    const metric = () => metricOf(srv, "kam_detector_future_stamps_total", { cluster: "skew-far" });
    assert.equal(await metric(), 0);
    assert.equal((await ok.log("(VI_1) Entering BACKUP STATE", "(VI_1) Entering MASTER STATE")).ok, true);
    assert.equal((await far.log("(VI_1) Entering BACKUP STATE", "(VI_1) Entering MASTER STATE", "(VI_1) Entering BACKUP STATE")).ok, true);
    await waitFor("the far node's three records counted", async () => (await metric()) === 3);
    await waitFor("the log names the node", () => /"node":"far"[^\n]*stamped in the future by the node's clock/.test(srv.output()));
    assert.equal(await metric(), 3, "the node 30 s ahead is not counted");
  });

  it("keeps the newest state by the agent's order when the node's clock jumps back, live and after a restart", { timeout: 120_000 }, async () => {
    const token = await srv.token("jump", "jumper"); // a per-node token: a new agent id of the same node is that node (issue 19)
    const n = await agent("jumper", 5 * MIN, token);
    assert.equal((await n.config(100)).ok, true);
    assert.equal((await n.log("(VI_1) Entering BACKUP STATE", "(VI_1) Entering MASTER STATE")).ok, true);
    await waitFor("MASTER shown", async () => (await nodeOf("jump", "jumper"))?.instances[0]?.state === "MASTER");
    // NTP corrects the clock: 5 minutes back. What the node reports now is newer, though stamped earlier.
    n.offsetMs = 0;
    assert.equal((await n.config(150)).ok, true);
    assert.equal((await n.log("(VI_1) Entering BACKUP STATE")).ok, true);
    const live = await waitFor("state after the jump", async () => {
      const x = await nodeOf("jump", "jumper");
      return x?.instances[0]?.state === "BACKUP" && Math.abs(x.skewMs ?? Infinity) < 2000 ? x : null;
    }, 10_000).catch(async (e) => assert.fail(`${(e as Error).message}: ${JSON.stringify(await nodeOf("jump", "jumper"))}`));
    assert.deepEqual(live.instances.map((i) => [i.name, i.state, i.priority]), [["VI_1", "BACKUP", 150]]);
    const changes = await query<{ state: string }>(
      `SELECT sc.state FROM state_change sc JOIN log_record l ON l.id = sc.log_record_id JOIN node n ON n.id = sc.node_id
       WHERE n.name = 'jumper' ORDER BY l.received_at, l.seq`,
    );
    assert.deepEqual(changes.map((c) => c.state), ["BACKUP", "MASTER", "BACKUP"], "every change stored, in arrival order");
    n.close();
    await srv.restart();
    const re = await agent("jumper", 0, token).catch(() => null);
    assert.ok(re, "reconnected"); // a new connection of the same node (another agent id), to keep it online
    const restored = await waitFor("picture after restart", async () => {
      const x = await nodeOf("jump", "jumper");
      return x?.online && x.instances.length ? x : null;
    });
    assert.deepEqual(restored.instances.map((i) => [i.name, i.state, i.priority]), [["VI_1", "BACKUP", 150]]);
  });

  it("keeps a heartbeating node online and without AGENT_OFFLINE when its clock is weeks off", { timeout: 60_000 }, async () => {
    const token = await srv.token("weeks");
    const behind = await agent("behind", -40 * 24 * 60 * MIN, token);
    assert.equal((await behind.log("(VI_1) Entering MASTER STATE")).ok, true);
    // liveness is persisted (and fed to the detectors) every 5 s; AGENT_OFFLINE would open after 15 s without it
    await new Promise((r) => setTimeout(r, 18_000));
    const node = await nodeOf("weeks", "behind");
    assert.equal(node?.online, true);
    assert.ok(Math.abs(node!.skewMs! + 40 * 24 * 60 * MIN) < 2000, `skewMs ${node?.skewMs}`);
    const incidents = (await (await fetch(`${srv.url}/api/incidents?cluster=weeks&kind=AGENT_OFFLINE`)).json()) as IncidentMsg[];
    assert.deepEqual(incidents.map((i) => [i.kind, i.nodes, i.cause.summary]), []);
    assert.doesNotMatch(srv.output(), /could not record agent liveness/);
  });
});
