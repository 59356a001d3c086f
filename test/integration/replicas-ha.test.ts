/**
 * Issue 13: active/active replicas over one PostgreSQL database (real server
 * processes, real socket.io clients and agents' protocol; the PostgreSQL pass
 * only: the embedded PGlite is one process by design).
 *
 * Two replicas, A and B. The agent of node a speaks to A, the agent of node b
 * to B, both of one cluster:
 * - every browser socket, on A and on B, sees both nodes (each replica follows
 *   the whole cluster feed);
 * - a split brain is detected once (one DUAL_MASTER row, one "opened"
 *   webhook), pushed to the browsers of both replicas;
 * - the replica holding the cluster's detection lease is SIGKILLed while the
 *   DUAL_MASTER is open: the other takes the lease within 5 s (measured), the
 *   node's agent reconnects to it, and the split brain's end closes the SAME
 *   incident there: one "resolved", no second incident, every log line
 *   stored once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { io, type Socket } from "socket.io-client";
import type { ClusterSummary, IncidentMsg } from "../../server/protocol";
import { metricOf, queryDb, type TestServer } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { startReplicas, startWebhookReceiver, type Replicas, type WebhookReceiver } from "../helpers/replicas";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";

const skip = testDbKind() !== "postgres" ? "runs in the PostgreSQL pass: replicas share a PostgreSQL server" : false;
const CLUSTER = "ha";
const sockets: Socket[] = [];
const agents: FakeAgent[] = [];
let replicas: Replicas | null = null;
let hook: WebhookReceiver<{ event: string; incident: IncidentMsg }> | null = null;
let servers: TestServer[] = [];

before(async () => {
  if (skip) return;
  hook = await startWebhookReceiver();
  replicas = await startReplicas(2);
  servers = replicas.servers;
});

after(async () => {
  for (const a of agents) a.close();
  for (const s of sockets) s.close();
  await replicas?.close();
  await hook?.close();
});

interface Browser {
  socket: Socket;
  clusters: Map<string, ClusterSummary>;
  incidents: { change: string; incident: IncidentMsg }[];
}

async function browser(srv: TestServer): Promise<Browser> {
  const socket = io(`${srv.url}/live`, { transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: { cookie: (await srv.session("viewer")).cookie } });
  sockets.push(socket);
  const b: Browser = { socket, clusters: new Map(), incidents: [] };
  socket.on("cluster", (s: ClusterSummary) => b.clusters.set(s.name, s));
  socket.on("incident", (m: { change: string; incident: IncidentMsg }) => b.incidents.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  await socket.timeout(5000).emitWithAck("subscribe", { clusters: ["*"] });
  return b;
}

const stateOf = (b: Browser, node: string) => b.clusters.get(CLUSTER)?.nodes.find((n) => n.name === node)?.instances.find((i) => i.name === "VI_1")?.state;

/** node -> its agent token (a node name is bound to the token that first announced it) */
const tokens = new Map<string, string>();

async function agentOn(srv: TestServer, node: string, priority: number): Promise<FakeAgent> {
  if (!tokens.has(node)) tokens.set(node, await srv.token(CLUSTER, node));
  const a = await connectFakeAgent(srv.url, tokens.get(node)!, node, 500);
  agents.push(a);
  const ack = await a.send([{
    kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: createHash("sha256").update(node).digest("hex"),
    routerId: null, netNamespace: null, instances: [instance({ name: "VI_1", vrid: 51, priority })], errors: [],
  }]);
  assert.equal(ack.ok, true, JSON.stringify(ack));
  return a;
}

describe("active/active replicas over PostgreSQL", { skip }, () => {
  it("every browser sees every agent; a split brain is detected once and survives the death of the replica that detected it", { timeout: 120_000 }, async (t) => {
    const [a, b] = servers;
    const onA = await browser(a);
    const onB = await browser(b);
    const agentA = await agentOn(a, "a", 150);
    const agentB = await agentOn(b, "b", 100);
    await agentA.log("(VI_1) Entering BACKUP STATE");
    await agentB.log("(VI_1) Entering BACKUP STATE");
    await agentA.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
    for (const [name, br] of [["A", onA], ["B", onB]] as const) {
      await waitFor(`browser on ${name} sees a MASTER and b BACKUP`, () => stateOf(br, "a") === "MASTER" && stateOf(br, "b") === "BACKUP", 10_000);
    }
    // the webhook once the cluster exists (its id from the shared database)
    const [{ id: clusterId }] = await queryDb<{ id: number }>(a, "SELECT id FROM cluster WHERE name = $1", [CLUSTER]);
    await queryDb(a, "INSERT INTO webhook (cluster_id, url, created_at) VALUES ($1, $2, now())", [clusterId, hook!.url]);

    // exactly one replica holds the cluster's detection lease
    const held = [await metricOf(a, "kam_leases_acquired_total"), await metricOf(b, "kam_leases_acquired_total")];
    assert.deepEqual([...held].sort(), [0, 1], `one replica took the one lease (A ${held[0]}, B ${held[1]})`);
    const [owner, other, ownerAgent, otherAgent, ownerNode] = held[0] === 1 ? [a, b, agentA, agentB, "a"] : [b, a, agentB, agentA, "b"];

    // split brain: b becomes MASTER too
    await agentB.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
    for (const [name, br] of [["A", onA], ["B", onB]] as const) {
      await waitFor(`DUAL_MASTER pushed to the browser on ${name}`, () => br.incidents.find((p) => p.incident.kind === "DUAL_MASTER" && p.change === "opened"), 15_000);
    }
    const opened = onA.incidents.find((p) => p.incident.kind === "DUAL_MASTER")!.incident;
    await waitFor("webhook got the opening", () => hook!.received.find((r) => r.event === "opened" && r.incident.id === opened.id), 15_000);

    // the lease holder dies; its node's agent reconnects to the other replica
    ownerAgent.close();
    const killedAt = Date.now();
    await owner.kill("SIGKILL");
    await waitFor("the other replica takes the lease", async () => (await metricOf(other, "kam_leases_acquired_total")) >= 1, 10_000, 50);
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`lease taken over ${takeoverMs} ms after the SIGKILL`);
    assert.ok(takeoverMs <= 5000, `lease takeover within 5 s (took ${takeoverMs} ms)`);
    const moved = await agentOn(other, ownerNode, ownerNode === "a" ? 150 : 100);
    void otherAgent;

    // the split brain ends: b goes back to BACKUP (through whichever replica its agent now speaks to)
    const bAgent = ownerNode === "b" ? moved : agentB;
    await bAgent.log("(VI_1) Master received advert from 198.18.0.1 with higher priority 150, ours 100", "(VI_1) Entering BACKUP STATE");
    const survivor = owner === a ? onB : onA;
    await waitFor("the SAME incident closed, pushed by the survivor", () => survivor.incidents.find((p) => p.incident.id === opened.id && p.change === "closed"), 20_000);
    await waitFor("webhook got the resolution", () => hook!.received.find((r) => r.event === "resolved" && r.incident.id === opened.id), 15_000);

    // exact counts: one DUAL_MASTER, one opened and one resolved notification, every log line stored once
    const duals = await queryDb<{ n: number }>(other, "SELECT count(*)::int AS n FROM incident WHERE kind = 'DUAL_MASTER'");
    assert.equal(duals[0].n, 1, "one DUAL_MASTER incident");
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate notification would be due by now
    assert.deepEqual(hook!.received.filter((r) => r.incident.id === opened.id).map((r) => r.event).sort(), ["opened", "resolved"]);
    const lines = await queryDb<{ n: number }>(other, "SELECT count(*)::int AS n FROM log_record");
    assert.equal(lines[0].n, 1 + 1 + 3 + 3 + 2, "every log line sent was stored once");
    const dup = await queryDb<{ n: number }>(other, "SELECT count(*)::int AS n FROM (SELECT line, agent_id FROM log_record GROUP BY 1, 2 HAVING count(*) > 1) d");
    assert.equal(dup[0].n, 0);
  });
});
