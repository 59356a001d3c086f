/**
 * Issue 19: socket.io message size by who is asking. The REAL server (child process, real database) serves
 * two socket.io servers on its one port: the default path (/socket.io/: browsers' /live and agents from
 * before the agent path) with 256 KiB messages, and the agent path (/agent.io/) with 4 MiB, whose engine
 * admits only an HTTP request carrying a valid agent token (Authorization: Bearer). Real socket.io clients
 * and raw HTTP upgrade requests on loopback.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import { upgradeRequest } from "../helpers/http";
import { io, type Socket } from "socket.io-client";
import { LIMITS, PROTOCOL_VERSION, SOCKET_PATHS, type ConfigRecordMsg } from "../../server/protocol";
import { startTestServer, type TestServer, queryDb, metricOf } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";
import { startFileAgent } from "../helpers/agent";
import fs from "node:fs";

let srv: TestServer;
const sockets: Socket[] = [];
const agents: FakeAgent[] = [];

before(async () => {
  // a small failure allowance: 2 per 10 s, bucket 4
  srv = await startTestServer({ env: { KAM_IP_HANDSHAKES_PER_10S: "2" } });
});
after(async () => {
  for (const s of sockets) s.close();
  for (const a of agents) a.close();
  await srv?.close();
});

/** a signed-in browser's /live socket */
async function liveSocket(): Promise<Socket> {
  const s = io(`${srv.url}/live`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { cookie: (await srv.session("viewer")).cookie } });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("connect_error", reject);
  });
  return s;
}

const upgrade = (path: string, headers: Record<string, string> = {}, localAddress = "127.0.0.1") => upgradeRequest(srv.url, path, headers, localAddress);
const agentHandshake = `${SOCKET_PATHS.agent}/?EIO=4&transport=websocket`;

/** a config snapshot of `instances` instances with `vips` addresses each (about 19 bytes an address) */
function bigConfig(instances: number, vips: number): Omit<ConfigRecordMsg, "seq"> {
  return {
    kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: randomBytes(32).toString("hex"), routerId: "big",
    netNamespace: null, errors: [],
    instances: Array.from({ length: instances }, (_, i) =>
      instance({ name: `VI_${i}`, vrid: (i % 255) + 1, vips: Array.from({ length: vips }, (_, j) => `198.18.${i % 256}.${j % 256}/32`) })),
  };
}
const sizeOf = (records: unknown[]) => Buffer.byteLength(JSON.stringify({ records }));

describe(`socket.io message limits (issue 19, ${testDbKind()})`, () => {
  it("drops a browser's /live socket sending a 1 MiB message, counts it, and keeps serving the other browsers", { timeout: 60_000 }, async () => {
    const hostile = await liveSocket();
    const other = await liveSocket();
    const before = await metricOf(srv, "kam_live_disconnects_total", { reason: "transport error" });
    const closed = new Promise<string>((r) => hostile.once("disconnect", (reason) => r(reason)));
    const huge = { clusters: ["x".repeat(1024 * 1024)] };
    assert.ok(JSON.stringify(huge).length > LIMITS.maxBrowserMessageBytes);
    hostile.emit("subscribe", huge, () => assert.fail("a message over the browsers' limit must not be answered"));
    assert.match(await closed, /transport close|transport error/);
    const ok = (await other.timeout(5000).emitWithAck("subscribe", { clusters: ["*"] })) as { ok: boolean };
    assert.equal(ok.ok, true, "another browser is still served");
    await waitFor("the drop counted", async () => (await metricOf(srv, "kam_live_disconnects_total", { reason: "transport error" })) === before + 1, 5000);
    // a message under the limit is still answered (here: refused for its content, not dropped)
    const small = (await other.timeout(5000).emitWithAck("subscribe", { clusters: ["y".repeat(200 * 1024)] })) as { ok: boolean; code?: string };
    assert.deepEqual([small.ok, small.code], [false, "invalid_message"]);
  });

  it("refuses the agent path's handshake without a valid agent token with HTTP 400, before any engine.io session, counted and limited per address", { timeout: 60_000 }, async () => {
    const token = await srv.token("gate", "g1");
    const before = await metricOf(srv, "kam_agent_handshake_rejected_total", { code: "unauthorized" });
    const limitedBefore = await metricOf(srv, "kam_agent_handshake_rejected_total", { code: "rate_limited" });
    // no header, another scheme, an unknown token: each refused on the HTTP request, with no engine.io session
    const refused = [
      await upgrade(agentHandshake, {}, "127.0.0.21"),
      await upgrade(agentHandshake, { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` }, "127.0.0.21"),
      await upgrade(agentHandshake, { authorization: `Bearer kam_${"z".repeat(43)}` }, "127.0.0.21"),
    ];
    for (const r of refused) {
      assert.equal(r.status, 400, r.body);
      assert.match(r.body, /^unauthorized: /);
    }
    // the failure allowance of that address (bucket 4) is spent: then rate_limited, while another address still gets in
    const fourth = await upgrade(agentHandshake, {}, "127.0.0.21");
    const fifth = await upgrade(agentHandshake, {}, "127.0.0.21");
    assert.deepEqual([fourth.status, fifth.status], [400, 400]);
    assert.match(fourth.body, /^unauthorized: /);
    assert.match(fifth.body, /^rate_limited: too many failed connection attempts from 127\.0\.0\.21/);
    assert.equal((await upgrade(agentHandshake, { authorization: `Bearer ${token}` }, "127.0.0.22")).status, 101, "a valid token from another address");
    assert.equal(await metricOf(srv, "kam_agent_handshake_rejected_total", { code: "unauthorized" }), before + 4);
    assert.equal(await metricOf(srv, "kam_agent_handshake_rejected_total", { code: "rate_limited" }), limitedBefore + 1);
    // no long-polling on the agent path (its request bodies are not bounded by a session either)
    const polling = await new Promise<number>((resolve, reject) => {
      http.get(`${srv.url}${SOCKET_PATHS.agent}/?EIO=4&transport=polling`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).once("error", reject);
    });
    assert.equal(polling, 400);
  });

  it("an unauthenticated socket.io client on the agent path never connects, so never sends its 4 MiB", { timeout: 60_000 }, async () => {
    for (const extraHeaders of [{}, { authorization: `Bearer kam_${"q".repeat(43)}` }]) {
      const s = io(`${srv.url}/agent`, {
        path: SOCKET_PATHS.agent, transports: ["websocket"], reconnection: false, timeout: 5000, extraHeaders, localAddress: "127.0.0.23",
        auth: { protocol: PROTOCOL_VERSION, token: `kam_${"q".repeat(43)}`, agentId: randomUUID(), node: "n", hostname: "n", version: "t" },
      } as Parameters<typeof io>[1]);
      sockets.push(s);
      const outcome = await new Promise<string>((resolve) => {
        s.once("connect", () => resolve("connected"));
        s.once("connect_error", (e: Error & { description?: { message?: string } }) => resolve(String(e.description?.message ?? e.message)));
      });
      assert.match(outcome, /Unexpected server response: 400/, JSON.stringify(extraHeaders));
      s.emit("batch", { records: ["z".repeat(3 * 1024 * 1024)] });
      assert.equal(s.connected, false);
    }
  });

  it("a real agent with a valid token sends a config snapshot over 256 KiB (up to 4 MiB) on the agent path", { timeout: 60_000 }, async () => {
    const token = await srv.token("big-config", "bc1");
    const a = await connectFakeAgent(srv.url, token, "bc1");
    agents.push(a);
    const config = bigConfig(200, 300);
    const bytes = sizeOf([{ ...config, seq: 1 }]);
    assert.ok(bytes > 4 * LIMITS.maxBrowserMessageBytes && bytes < LIMITS.maxMessageBytes, `${bytes} bytes`);
    const ack = await a.send([config]);
    assert.deepEqual(ack, { ok: true, acked: [1], stored: 1, duplicates: 0 });
    const [row] = await queryDb<{ n: number }>(srv, "SELECT jsonb_array_length(instances) AS n FROM config_snapshot c JOIN node n ON n.id = c.node_id WHERE n.name = 'bc1'");
    assert.equal(Number(row.n), 200);
  });

  it("serves an agent from before the agent path on /socket.io/ /agent for small messages, counted and logged once per node, under the browsers' limit", { timeout: 60_000 }, async () => {
    const token = await srv.token("legacy", "old1");
    const before = await metricOf(srv, "kam_agent_legacy_path_total", { cluster: "legacy" });
    const old = await connectFakeAgent(srv.url, token, "old1", 1000, "0.9", { legacy: true });
    agents.push(old);
    assert.deepEqual(await old.log("(VI_1) Entering BACKUP STATE (init)"), { ok: true, acked: [1], stored: 1, duplicates: 0 });
    old.close();
    const again = await connectFakeAgent(srv.url, token, "old1", 1000, "0.9", { legacy: true });
    agents.push(again);
    assert.equal((await again.log("(VI_1) Entering MASTER STATE")).ok, true);
    assert.equal(await metricOf(srv, "kam_agent_legacy_path_total", { cluster: "legacy" }), before + 2);
    const warnings = srv.output().split("\n").filter((l) => l.includes("legacy path") && l.includes('"node":"old1"'));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    // the same big snapshot as on the agent path: over the default path's limit, the connection is dropped
    const closed = new Promise<string>((r) => again.socket.once("disconnect", (reason) => r(reason)));
    again.socket.emit("batch", { records: [{ ...bigConfig(200, 300), seq: 99 }] });
    assert.match(await closed, /transport close|transport error/);
  });

  it("the real agent connects on the agent path; with a revoked token it is refused by the gate and says what to check", { timeout: 60_000 }, async (t) => {
    const token = await srv.token("real", "r1");
    const good = startFileAgent(t, { server: srv.url, token, node: "r1", args: ["--heartbeat-interval", "1"] });
    fs.appendFileSync(good.log, "Sat Dec  5 21:00:00 2026: (VI_1) Entering BACKUP STATE (init)\n");
    await waitFor("the line stored", async () => (await queryDb<{ n: number }>(srv, "SELECT count(*)::int AS n FROM log_record l JOIN node n ON n.id = l.node_id WHERE n.name = 'r1'"))[0].n === 1);
    assert.equal(await metricOf(srv, "kam_agent_legacy_path_total", { cluster: "real" }), 0, "not on the legacy path");
    await queryDb(srv, "UPDATE agent_token SET revoked_at = now() WHERE id = (SELECT token_id FROM node WHERE name = 'r1')");
    // the sweep closes its socket within 1 s; its reconnection is refused by the gate
    const bad = startFileAgent(t, { server: srv.url, token, node: "r1" });
    await waitFor("the refusal logged", () => bad.agent.output().includes("the server refused the connection before the handshake: check --token / KAM_TOKEN"), 20_000);
    assert.equal((await upgrade(agentHandshake, { authorization: `Bearer ${token}` }, "127.0.0.25")).status, 400, "a revoked token");
  });

  it("serves nothing on the main namespace \"/\" of either path", { timeout: 30_000 }, async () => {
    const token = await srv.token("main-nsp", "m1");
    for (const opts of [{}, { path: SOCKET_PATHS.agent, extraHeaders: { authorization: `Bearer ${token}` } }]) {
      const s = io(`${srv.url}/`, { ...opts, transports: ["websocket"], reconnection: false, forceNew: true, timeout: 5000 });
      sockets.push(s);
      const outcome = await new Promise<string>((resolve) => {
        s.once("connect", () => resolve("connected"));
        s.once("connect_error", (e: Error & { data?: { code?: string } }) => resolve(e.data?.code ?? e.message));
      });
      assert.equal(outcome, "forbidden", JSON.stringify(opts));
    }
    assert.equal(await metricOf(srv, "kam_socket_main_namespace_refused_total", { path: "/socket.io" }), 1);
    assert.equal(await metricOf(srv, "kam_socket_main_namespace_refused_total", { path: SOCKET_PATHS.agent }), 1);
  });
});

describe(`KAM_AGENT_LEGACY_PATH=off (issue 19, ${testDbKind()})`, () => {
  let off: TestServer;
  before(async () => {
    off = await startTestServer({ env: { KAM_AGENT_LEGACY_PATH: "off" } });
  });
  after(async () => {
    await off?.close();
  });

  it("refuses agents on the default path with forbidden, naming the agent path, and still serves the agent path", { timeout: 60_000 }, async () => {
    const token = await off.token("off", "o1");
    await assert.rejects(connectFakeAgent(off.url, token, "o1", 1000, "0.9", { legacy: true }), (e: Error & { data?: { code?: string } }) => {
      assert.equal(e.data?.code, "forbidden");
      assert.match(e.message, /agents connect on \/agent\.io\//);
      return true;
    });
    const a = await connectFakeAgent(off.url, token, "o1");
    agents.push(a);
    assert.equal((await a.log("(VI_1) Entering BACKUP STATE (init)")).ok, true);
    assert.equal(await metricOf(off, "kam_agent_legacy_path_total", { cluster: "off" }), 0);
  });
});
