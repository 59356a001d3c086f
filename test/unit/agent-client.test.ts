/** The agent's socket.io client against a stand-in /agent server (see agent-standin-server.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { AgentClient, MAX_IN_FLIGHT, MAX_IN_FLIGHT_BYTES, retryHint } from "../../agent/client";
import { retryDelay } from "../../agent/lines";
import { Outbox } from "../../agent/outbox";
import { silentLogger } from "../../agent/log";
import { PROTOCOL_VERSION } from "../../server/protocol";
import { startStandIn } from "./agent-standin-server";
import { waitFor } from "../helpers/wait";

const TOKEN = "kam_test-token-0123456789abcdef";

function capture() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: "debug" }, stream), lines };
}

function setup(t: { after: (fn: () => unknown) => void }, server: string, extra: Partial<ConstructorParameters<typeof AgentClient>[0]> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-client-"));
  const outbox = new Outbox({ dir, maxBytes: 1 << 24, log: silentLogger() });
  const agentId = randomUUID();
  let resyncs = 0;
  const client = new AgentClient({
    server,
    hello: { token: TOKEN, agentId, node: "node-1", hostname: "host-1", version: "test" },
    ca: null,
    outbox,
    log: silentLogger(),
    heartbeatMs: 100,
    sources: () => ({ journal: "ok", vips: "ok" }),
    onResync: () => resyncs++,
    reconnectMinMs: 50,
    reconnectMaxMs: 300,
    ackTimeoutMs: 500,
    ...extra,
  });
  t.after(async () => {
    await client.stop();
    await outbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { outbox, client, agentId, resyncs: () => resyncs };
}

const log = (i: number) => ({ kind: "log" as const, ts: Date.now(), source: "file" as const, line: `line ${i}` });

test("delivers every record exactly once in batches, acks empty the outbox, heartbeats report depth and sources", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  const { outbox, client, agentId } = setup(t, srv.url);
  for (let i = 0; i < 2500; i++) outbox.append(log(i));
  client.start();
  await waitFor("all records", () => srv.all().length === 2500 && outbox.depth() === 0, 10_000, 10);
  assert.deepEqual(srv.all().map((r) => r.seq), Array.from({ length: 2500 }, (_, i) => i + 1));
  assert.ok(srv.batches >= 3, "split into batches of at most 1000");
  assert.deepEqual(srv.hellos[0], { protocol: PROTOCOL_VERSION, token: TOKEN, agentId, node: "node-1", hostname: "host-1", version: "test", utcOffsetMinutes: 0 });
  // on the agent path, the token also in the header the server's gate checks before any engine.io session
  assert.equal(srv.authorizations[0], `Bearer ${TOKEN}`);
  // a heartbeat sent before the last acks arrived still counts those records: wait for one sent after them
  await waitFor("a heartbeat reporting the emptied outbox", () => srv.heartbeats.length >= 2 && srv.heartbeats.at(-1)!.outbox === 0, 5000, 10);
  assert.deepEqual(srv.heartbeats.at(-1)!.sources, { journal: "ok", vips: "ok" });
  assert.ok(srv.heartbeats.some((h) => h.outbox > 0) || srv.heartbeats.length >= 2, "heartbeats report the outbox depth");
  // records appended while connected go out promptly
  const t0 = Date.now();
  outbox.append(log(9999));
  await waitFor("a live record", () => srv.all().length === 2501, 2000, 10);
  assert.ok(Date.now() - t0 < 1000);
});

test("keeps records while the server is away and delivers them when it comes up; resync is passed on", async (t) => {
  const probe = await startStandIn(TOKEN);
  const port = probe.port;
  await probe.close(); // a free port with nobody listening
  const { outbox, client, resyncs } = setup(t, `http://127.0.0.1:${port}`);
  client.start();
  for (let i = 0; i < 30; i++) outbox.append(log(i));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(client.connected, false);
  assert.equal(outbox.depth(), 30);
  const srv = await startStandIn(TOKEN, port);
  t.after(() => srv.close());
  await waitFor("delivery after the server came up", () => srv.all().length === 30 && outbox.depth() === 0, 8000, 10);
  srv.resync();
  await waitFor("resync", () => resyncs() === 1, 2000, 10);
});

test("a refused token is logged naming the setting, retried, and accepted once the server knows it", async (t) => {
  const srv = await startStandIn("kam_some-other-token-000000000");
  t.after(() => srv.close());
  const cap = capture();
  const { outbox, client } = setup(t, srv.url, { log: cap.log });
  outbox.append(log(1));
  client.start();
  await waitFor("the refusal log", () => cap.lines.some((l) => l.level >= 50 && /--token \/ KAM_TOKEN/.test(l.msg)), 3000, 10);
  assert.ok(!JSON.stringify(cap.lines).includes(TOKEN), "the token is never logged");
  assert.equal(srv.all().length, 0);
  srv.token = TOKEN;
  await waitFor("connection after the token is accepted", () => srv.all().length === 1, 5000, 10);
});

test("a batch the server rejects is isolated: the bad record becomes a gap record, all others are delivered", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  srv.refuse = (r) => (r.kind === "log" && r.line === "line 7" ? "line 7 is not acceptable (stand-in rule)" : null);
  const { outbox, client } = setup(t, srv.url);
  for (let i = 0; i < 20; i++) outbox.append(log(i));
  client.start();
  await waitFor("isolation", () => outbox.depth() === 0 && srv.all().some((r) => r.kind === "gap"), 5000, 10);
  const all = srv.all();
  const lines = all.filter((r) => r.kind === "log").map((r) => (r.kind === "log" ? r.line : ""));
  assert.deepEqual(lines, Array.from({ length: 20 }, (_, i) => `line ${i}`).filter((l) => l !== "line 7"));
  const gap = all.find((r) => r.kind === "gap");
  assert.ok(gap && gap.kind === "gap");
  assert.equal(gap.fromSeq, 8);
  assert.equal(gap.toSeq, 8);
  assert.equal(gap.dropped, 1);
  assert.equal(gap.reason, "rejected by server: line 7 is not acceptable (stand-in rule)");
  assert.equal(client.stats.rejected, 1);
});

test("a batch without an answer is resent after the ack timeout; storage stays exactly-once", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  srv.swallow = 1;
  const { outbox, client } = setup(t, srv.url);
  for (let i = 0; i < 10; i++) outbox.append(log(i));
  client.start();
  await waitFor("delivery after the timeout", () => outbox.depth() === 0, 5000, 10);
  assert.equal(client.stats.timeouts, 1);
  assert.deepEqual(srv.all().map((r) => r.seq), Array.from({ length: 10 }, (_, i) => i + 1));
});

test("a protocol refusal names the versions to align; a server-side disconnect is followed by a reconnect", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  srv.handshakeError = "protocol_mismatch";
  const cap = capture();
  const { outbox, client } = setup(t, srv.url, { log: cap.log });
  client.start();
  await waitFor("the protocol log", () => cap.lines.some((l) => l.level >= 50 && /another protocol version \(this agent speaks \d+\)/.test(l.msg)), 3000, 10);
  srv.handshakeError = null;
  await waitFor("connection once the server accepts", () => client.connected, 5000, 10);
  srv.kick();
  await waitFor("the kick", () => !client.connected, 2000, 10);
  outbox.append(log(1));
  await waitFor("delivery after the server closed the socket", () => srv.all().length === 1, 5000, 10);
  assert.ok(srv.hellos.length >= 2, "a second handshake happened");
});

test("retryDelay: backoff with jitter, never sooner than the server's hint, capped at the maximum and still jittered there", () => {
  const seq = (vals: number[]) => {
    let i = 0;
    return () => vals[i++ % vals.length];
  };
  assert.equal(retryDelay(0, null, 1000, 30_000, () => 0.5), 1000);
  assert.equal(retryDelay(3, null, 1000, 30_000, () => 0.5), 8000);
  assert.equal(retryDelay(10, null, 1000, 30_000, () => 0.5), 30_000, "capped");
  // a hint above the backoff wins, jittered upwards by up to 20 %
  assert.equal(retryDelay(0, 4000, 1000, 30_000, seq([0.5, 0])), 4000);
  assert.equal(retryDelay(0, 4000, 1000, 30_000, seq([0.5, 1])), 4800);
  for (let k = 0; k < 200; k++) {
    const d = retryDelay(k % 5, 7000, 1000, 30_000);
    assert.ok(d >= 7000 && d <= 30_000 * 1.5, String(d));
  }
  // a hint beyond the cap: the cap, spread over its last 20 %
  const spread = new Set(Array.from({ length: 50 }, () => retryDelay(0, 10 * 60_000, 1000, 30_000)));
  for (const d of spread) assert.ok(d >= 24_000 && d <= 30_000, String(d));
  assert.ok(spread.size > 10, "agents told the same moment do not retry in lockstep");
  assert.equal(retryHint({ retryAfterMs: 1500 }), 1500);
  assert.equal(retryHint({ retryAfterMs: -1 }), null);
  assert.equal(retryHint({ retryAfterMs: "5" }), null);
  assert.equal(retryHint(null), null);
});

test("a handshake refused as rate_limited is logged with its code and the server's message (not 'check --server'), and retried no sooner than retryAfterMs", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  srv.handshakeError = "rate_limited";
  srv.handshakeRetryAfterMs = 700;
  const cap = capture();
  const { outbox, client } = setup(t, srv.url, { log: cap.log, reconnectMinMs: 50, reconnectMaxMs: 5000 });
  outbox.append(log(1));
  client.start();
  await waitFor("three attempts", () => srv.attempts.length >= 3, 8000, 10);
  const gaps = srv.attempts.slice(1).map((at, i) => at - srv.attempts[i]);
  for (const g of gaps) assert.ok(g >= 650, `retried after ${g} ms, sooner than the 700 ms hint`);
  const refusal = cap.lines.find((l) => l.level >= 50 && /refused the connection \(rate_limited\): stand-in refuses: rate_limited/.test(l.msg));
  assert.ok(refusal, JSON.stringify(cap.lines.filter((l) => l.level >= 40)));
  assert.equal(refusal.retryAfterMs, 700);
  assert.ok(!cap.lines.some((l) => /check --server/.test(l.msg)), "the URL is not blamed for a typed refusal");
  srv.handshakeError = null;
  await waitFor("delivery once the server accepts", () => srv.all().length === 1, 5000, 10);
});

test("a batch answered rate_limited with retryAfterMs is resent no sooner than the hint", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  srv.batchError = { code: "rate_limited", retryAfterMs: 800, count: 1 };
  const { outbox, client } = setup(t, srv.url);
  for (let i = 0; i < 5; i++) outbox.append(log(i));
  client.start();
  await waitFor("delivery after the pause", () => srv.all().length === 5 && outbox.depth() === 0, 8000, 10);
  assert.equal(srv.batchTimes.length, 2);
  assert.ok(srv.batchTimes[1] - srv.batchTimes[0] >= 780, `resent after ${srv.batchTimes[1] - srv.batchTimes[0]} ms`);
});

test("a record too big for one socket.io message becomes a gap record instead of being sent (the server would drop the connection for ever)", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  const { outbox, client } = setup(t, srv.url);
  outbox.append(log(1));
  const addresses = Array.from({ length: 4096 }, (_, i) => ({ address: `2001:db8:${"ffff:".repeat(5)}${i.toString(16)}`, prefixlen: 128, iface: "x".repeat(64) }));
  const huge = { kind: "config" as const, ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: "a".repeat(64), routerId: null, netNamespace: null, errors: [],
    instances: Array.from({ length: 40 }, (_, i) => ({ name: `VI_${i}`, vrid: null, interface: null, state: null, priority: null, advertInt: 1, authType: null, authPassHash: null,
      vips: addresses.map((a) => `${a.address}/128`), trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null })) };
  outbox.append(huge);
  outbox.append(log(3));
  client.start();
  await waitFor("delivery around the oversized record", () => outbox.depth() === 0 && srv.all().length === 3, 8000, 10);
  const all = srv.all();
  assert.deepEqual(all.map((r) => r.kind), ["log", "log", "gap"]);
  const gap = all[2];
  assert.ok(gap.kind === "gap" && gap.fromSeq === 2 && /too large to send/.test(gap.reason));
  assert.equal(client.stats.rejected, 1);
});

test("a record is sent while earlier batches are still unanswered (up to 8 in flight), so it can join the server's next commit", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  // acks never time out during the test: only the in-flight limit could hold a send back
  const { outbox, client } = setup(t, srv.url, { ackTimeoutMs: 60_000 });
  client.start();
  await waitFor("connected", () => client.connected, 5000, 10);
  srv.swallow = MAX_IN_FLIGHT - 1; // these batches stay unanswered (the commit is "slow")
  for (let i = 1; i <= MAX_IN_FLIGHT; i++) {
    outbox.append(log(i));
    await waitFor(`batch ${i} sent`, () => srv.batches === i, 5000, 10);
  }
  assert.equal(MAX_IN_FLIGHT, 8);
  assert.deepEqual(srv.all().map((r) => r.seq), [MAX_IN_FLIGHT], "the last one was sent and answered although 7 were still in flight");
  await waitFor("the last one acked, the unanswered ones still in the outbox", () => outbox.depth() === MAX_IN_FLIGHT - 1, 5000, 10);
  outbox.append(log(99));
  await waitFor("one more slot after the answer", () => srv.batches === MAX_IN_FLIGHT + 1, 5000, 10);
});

test("records in flight stay within MAX_IN_FLIGHT_BYTES over all batches (a catch-up holds at most that much in memory)", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  const { outbox, client } = setup(t, srv.url, { ackTimeoutMs: 60_000 });
  // ~4 MiB of 4 KiB records waiting, nothing answered: only the byte budget holds sends back
  const big = "y".repeat(4000);
  for (let i = 0; i < 1000; i++) outbox.append({ ...log(i), line: `${i} ${big}` });
  await outbox.flush();
  srv.swallow = 1000;
  client.start();
  await waitFor("connected", () => client.connected, 5000, 10);
  await waitFor("a batch sent", () => srv.batches > 0, 5000, 10);
  await new Promise((r) => setTimeout(r, 300));
  const sent = srv.batches;
  assert.ok(sent >= 2 && sent < MAX_IN_FLIGHT, `${sent} batches in flight: the byte budget, not the batch count, stopped the client`);
  const inFlight = (client as unknown as { inFlightBytes: number }).inFlightBytes;
  assert.ok(inFlight <= MAX_IN_FLIGHT_BYTES && inFlight > MAX_IN_FLIGHT_BYTES / 2, `${inFlight} bytes in flight`);
});

test("optional record kinds: unknown before the first heartbeat answer, then as the server lists them (none from an older server)", async (t) => {
  const srv = await startStandIn(TOKEN);
  t.after(() => srv.close());
  const { client } = setup(t, srv.url);
  assert.equal(client.accepts("dumps"), null);
  client.start();
  await waitFor("an answer without records (an older server)", () => client.accepts("dumps") === false, 5000, 10);
  srv.heartbeatRecords = ["dumps"];
  await waitFor("the server now lists dumps", () => client.accepts("dumps") === true, 5000, 10);
  assert.equal(client.accepts("something-else"), false);
});
