/**
 * Hostile and broken input at the REAL server (child process, real database,
 * real socket.io clients): malformed, type-confused, oversized and
 * unstorable payloads, floods over the rate limits, garbage handshakes. Each
 * is answered with a typed error (or, for a message over the size limit, the
 * socket is dropped), counted in /metrics, nothing of it is stored, and a
 * well-behaved agent on another socket keeps getting its batches stored.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { io, type Socket } from "socket.io-client";
import { Batch, LIMITS, PROTOCOL_VERSION, type AgentRecord, type BatchAck, type LogRecordMsg } from "../../server/protocol";
import { unstorable } from "../../server/ingest/limits";
import { startTestServer, type TestServer, queryDb, metricOf } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import fs from "node:fs";
import { startFileAgent } from "../helpers/agent";
import { waitFor } from "../helpers/wait";
import { prng } from "../helpers/prng";
import { agentSocketOptions } from "../helpers/fake-agent";

let srv: TestServer;
const sockets: Socket[] = [];

/** rate limits of the server under test (KAM_*): small enough to reach in a test */
const RECORDS_PER_S = 500; // bucket: max(1000, 4 x 500) = 2000 records
const MESSAGES_PER_S = 1000; // bucket: 4000 messages
const HANDSHAKES_PER_10S = 10; // bucket: 20 attempts, refilled at 1/s

/** an agent's connection on the agent path; `bearer`: the token its gate checks (default: the handshake's) */
function connect(auth: unknown, localAddress?: string, bearer = (auth as { token?: unknown } | null)?.token): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${srv.url}/agent`, {
      ...agentSocketOptions(String(bearer)),
      auth: auth as Record<string, unknown>, reconnection: false, timeout: 5000,
      ...(localAddress ? { localAddress } : {}),
    } as Parameters<typeof io>[1]);
    s.once("connect", () => {
      sockets.push(s);
      resolve(s);
    });
    s.once("connect_error", (e) => {
      s.close();
      reject(e);
    });
  });
}

const hello = (token: string, node: string, agentId = randomUUID()) => ({ protocol: PROTOCOL_VERSION, token, agentId, node, hostname: node, version: "t" });
const send = async (s: Socket, payload: unknown) => (await s.timeout(10_000).emitWithAck("batch", payload)) as BatchAck;
const logRec = (seq: number, line = `(VI_1) Entering BACKUP STATE ${seq}`): LogRecordMsg =>
  ({ kind: "log", seq, ts: Date.now(), source: "file", line, inode: "7", offset: seq });

const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDb<T>(srv, sql, params);

/** rows of every record table written by one agent */
async function storedBy(agentId: string): Promise<number> {
  const [r] = await query<{ n: number }>(
    `SELECT (SELECT count(*) FROM log_record WHERE agent_id = $1) + (SELECT count(*) FROM vip_observation WHERE agent_id = $1)
          + (SELECT count(*) FROM config_snapshot WHERE agent_id = $1) + (SELECT count(*) FROM agent_gap WHERE agent_id = $1) AS n`,
    [agentId],
  );
  return Number(r.n);
}

/** a well-behaved agent that keeps sending one valid record every `everyMs` and checks each ack */
function steadyAgent(s: Socket, everyMs: number) {
  let seq = 0;
  let stop = false;
  const acks: BatchAck[] = [];
  const done = (async () => {
    while (!stop) {
      acks.push(await send(s, { records: [logRec(++seq)] }));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { acks, stop: async () => ((stop = true), await done) };
}

before(async () => {
  srv = await startTestServer({
    env: {
      KAM_AGENT_RECORDS_PER_SECOND: String(RECORDS_PER_S),
      KAM_AGENT_MESSAGES_PER_SECOND: String(MESSAGES_PER_S),
      KAM_IP_HANDSHAKES_PER_10S: String(HANDSHAKES_PER_10S),
    },
  });
});
after(async () => {
  for (const s of sockets) s.close();
  await srv?.close();
});

/** type-confused values: every JSON type, edge numbers, long strings */
const CONFUSED: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, "", "x", "1", "a".repeat(9000), [], [1], {}, { a: 1 }, [[[]]]];

/** A payload that must be refused: a random way of breaking a valid batch. */
function badPayload(rnd: () => number, seq: number): unknown {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const good = (): Record<string, unknown> => ({ ...logRec(seq) });
  switch (Math.floor(rnd() * 9)) {
    case 0: return pick(CONFUSED); // not a batch at all
    case 1: return { records: pick(CONFUSED.filter((v) => !Array.isArray(v) || v.length > 0)) };
    case 2: { // one field of one record type-confused
      const r = good();
      const key = pick(["kind", "seq", "ts", "source", "line", "inode", "offset", "pid", "truncated", "cursor"]);
      r[key] = pick(CONFUSED.filter((v) => typeof v !== typeof r[key] || key === "kind" || key === "source"));
      return { records: [good(), r] };
    }
    case 3: { // a required field missing
      const r = good();
      delete r[pick(["kind", "seq", "ts", "source", "line"])];
      return { records: [r] };
    }
    case 4: return { records: [{ ...good(), kind: pick(["vips", "config", "gap", "LOG", "heartbeat", "__proto__"]) }] };
    case 5: return { records: Array.from({ length: LIMITS.maxBatchRecords + 1 + Math.floor(rnd() * 5) }, (_, i) => logRec(seq + i)) };
    case 6: return { records: [logRec(seq, "x".repeat(LIMITS.maxLineLength + 1 + Math.floor(rnd() * 1000)))] };
    case 7: { // deep nesting
      let v: unknown = 1;
      for (let i = 0, n = 10 + Math.floor(rnd() * 500); i < n; i++) v = rnd() < 0.5 ? [v] : { records: v };
      return v;
    }
    default: return { records: [{ kind: "vips", seq, ts: Date.now(), addresses: [{ address: pick(CONFUSED), prefixlen: 999, iface: "eth0" }] }] };
  }
}

describe(`hostile input at the agent endpoint (${testDbKind()})`, () => {
  it("answers 1500 malformed and type-confused batches with invalid_message, stores none, counts each, and keeps serving another agent", { timeout: 120_000 }, async () => {
    const token = await srv.token("hostile");
    const badId = randomUUID();
    const bad = await connect(hello(token, "bad", badId));
    const good = await connect(hello(token, "good"));
    const before = await metricOf(srv, "kam_ingest_rejected_total", { code: "invalid_message" });
    const steady = steadyAgent(good, 20);
    const seed = Date.now() % 100_000;
    const rnd = prng(seed);
    const payloads: unknown[] = [];
    while (payloads.length < 1500) {
      const p = badPayload(rnd, payloads.length + 1);
      const parsed = Batch.safeParse(p);
      if (!parsed.success || unstorable(parsed.data.records)) payloads.push(p); // a mutation that stays valid is not a bad payload
    }
    for (let i = 0; i < payloads.length; i += 10) {
      const acks = await Promise.all(payloads.slice(i, i + 10).map((p) => send(bad, p)));
      for (const [k, a] of acks.entries()) {
        assert.ok(!a.ok && a.code === "invalid_message" && a.message.length > 0, `seed ${seed}, payload ${i + k}: ${JSON.stringify(a)}`);
      }
    }
    await steady.stop();
    assert.ok(steady.acks.length >= 5, "the good agent kept sending meanwhile");
    for (const a of steady.acks) assert.equal(a.ok, true, JSON.stringify(a));
    assert.equal(await storedBy(badId), 0, "nothing of the bad payloads stored");
    const [g] = await query<{ n: number }>(`SELECT count(*)::int AS n FROM log_record l JOIN node n ON n.id = l.node_id WHERE n.name = 'good'`);
    assert.equal(g.n, steady.acks.length, "every batch of the good agent stored once");
    assert.equal(await metricOf(srv, "kam_ingest_rejected_total", { code: "invalid_message" }), before + payloads.length);
    // the bad agent's connection still works for a valid batch
    assert.deepEqual(await send(bad, { records: [logRec(1)] }), { ok: true, acked: [1], stored: 1, duplicates: 0 });
  });

  it("refuses schema-valid values the database cannot store as invalid_message naming the field, and the stream goes on", { timeout: 60_000 }, async () => {
    const token = await srv.token("unstorable");
    const agentId = randomUUID();
    const s = await connect(hello(token, "u1", agentId));
    const cases: [AgentRecord, RegExp][] = [
      [logRec(1, "before\u0000after"), /records\.0\.line: contains a NUL/],
      [{ ...logRec(1), ts: Date.UTC(10000, 0, 1) }, /records\.0\.ts: .*9999/],
      [{ ...logRec(1), ts: 1e300 }, /records\.0\.ts/],
      [{ ...logRec(1), pid: 2 ** 31 }, /records\.0\.pid/],
      [{ ...logRec(1), inode: "18446744073709551615" }, /records\.0\.inode/],
      [{ kind: "gap", seq: 1, ts: Date.now(), fromSeq: 1, toSeq: 2, dropped: 2 ** 40, reason: "x" }, /records\.0\.dropped/],
      [{ kind: "gap", seq: 1, ts: Date.now(), fromSeq: 1, toSeq: 2, dropped: 1, reason: "nul \u0000" }, /records\.0\.reason: contains a NUL/],
      [{ kind: "vips", seq: 1, ts: Date.now(), addresses: [{ address: "10.0.0.1", prefixlen: 8, iface: "eth\ud800" }] }, /records\.0\.addresses\.0\.iface: .*surrogate/],
      [{ kind: "config", seq: 1, ts: Date.now(), path: "/etc/k\u0000", hash: "a".repeat(64), routerId: null, netNamespace: null, instances: [], errors: [] }, /records\.0\.path/],
    ];
    const before = await metricOf(srv, "kam_ingest_rejected_total", { code: "invalid_message" });
    for (const [rec, re] of cases) {
      assert.equal(Batch.safeParse({ records: [rec] }).success, true, "the protocol schema accepts it");
      const a = await send(s, { records: [rec] });
      assert.ok(!a.ok && a.code === "invalid_message", `${JSON.stringify(rec).slice(0, 120)} -> ${JSON.stringify(a)}`);
      assert.match(a.message, re);
    }
    assert.equal(await metricOf(srv, "kam_ingest_rejected_total", { code: "invalid_message" }), before + cases.length);
    assert.equal(await storedBy(agentId), 0);
    // the same seq, now storable: accepted (nothing half-stored blocks it)
    assert.deepEqual(await send(s, { records: [logRec(1, "before after")] }), { ok: true, acked: [1], stored: 1, duplicates: 0 });
  });

  it("drops a socket whose message is over the size limit, stores nothing of it, and keeps serving another agent", { timeout: 60_000 }, async () => {
    const token = await srv.token("oversize");
    const bigId = randomUUID();
    const big = await connect(hello(token, "big", bigId));
    const good = await connect(hello(token, "small"));
    const before = await metricOf(srv, "kam_agent_disconnects_total", { reason: "transport error" });
    const closed = new Promise<string>((r) => big.once("disconnect", (reason) => r(reason)));
    const records = Array.from({ length: 600 }, (_, i) => logRec(i + 1, "y".repeat(LIMITS.maxLineLength)));
    assert.ok(JSON.stringify({ records }).length > LIMITS.maxMessageBytes);
    big.emit("batch", { records }, () => assert.fail("an oversized batch must not be answered"));
    assert.match(await closed, /transport close|transport error/);
    assert.deepEqual(await send(good, { records: [logRec(1)] }), { ok: true, acked: [1], stored: 1, duplicates: 0 });
    assert.equal(await storedBy(bigId), 0);
    await waitFor("the drop counted", async () => (await metricOf(srv, "kam_agent_disconnects_total", { reason: "transport error" })) === before + 1, 5000);
    assert.equal((await fetch(`${srv.url}/api/health`)).status, 200);
  });

  it("answers records over the per-agent rate with rate_limited, stores exactly what it acknowledged, and accepts again after a pause", { timeout: 60_000 }, async () => {
    const token = await srv.token("ratelimit");
    const agentId = randomUUID();
    const s = await connect(hello(token, "r1", agentId));
    const before = await metricOf(srv, "kam_ingest_rejected_total", { code: "rate_limited" });
    const batch = (n: number) => ({ records: Array.from({ length: 1000 }, (_, i) => logRec(n * 1000 + i + 1)) });
    const acks = await Promise.all([0, 1, 2, 3].map((n) => send(s, batch(n))));
    const ok = acks.filter((a) => a.ok);
    const limited = acks.filter((a) => !a.ok && a.code === "rate_limited");
    // the bucket holds 2000 records: two full batches pass at once, the rest waits for the refill (500/s)
    assert.equal(ok.length, 2, JSON.stringify(acks.map((a) => (a.ok ? "ok" : a.code))));
    assert.equal(limited.length, 2);
    assert.match((limited[0] as { message: string }).message, /records\/s/);
    const hint = (limited[0] as { retryAfterMs?: number }).retryAfterMs;
    assert.ok(typeof hint === "number" && hint > 0 && hint <= 2000, `retry hint ${hint} ms: 1000 records at 500/s`);
    assert.equal(await storedBy(agentId), 2000);
    assert.equal(await metricOf(srv, "kam_ingest_rejected_total", { code: "rate_limited" }), before + 2);
    await new Promise((r) => setTimeout(r, 2100)); // 1000 tokens again
    const again = acks.findIndex((a) => !a.ok);
    assert.equal((await send(s, batch(again))).ok, true);
    assert.equal(await storedBy(agentId), 3000);
  });

  it("the real agent keeps its outbox on rate_limited, backs off and delivers every line exactly once", { timeout: 120_000 }, async (t) => {
    const token = await srv.token("ratelimit-agent");
    const { agent, log } = startFileAgent(t, { server: srv.url, token, node: "rl-agent", args: ["--heartbeat-interval", "1"] });
    await waitFor("agent following its file", () => /following log file/.test(agent.output()));
    const before = await metricOf(srv, "kam_ingest_rejected_total", { code: "rate_limited" });
    const total = 4000; // twice the bucket: half of it has to wait for the refill
    fs.appendFileSync(log, Array.from({ length: total }, (_, i) => `Mon Nov 23 18:53:53 2026: rl line ${i}\n`).join(""));
    const counts = async () => (await query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT line)::int AS d FROM log_record l JOIN node n ON n.id = l.node_id WHERE n.name = 'rl-agent'`))[0];
    await waitFor("every line stored", async () => (await counts()).n >= total, 90_000).catch((e) => assert.fail(`${(e as Error).message}\n${agent.output().slice(-2000)}`));
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await counts(), { n: total, d: total });
    assert.ok((await metricOf(srv, "kam_ingest_rejected_total", { code: "rate_limited" })) > before, "the agent was rate limited on the way");
    assert.match(agent.output(), /"code":"rate_limited"[^\n]*did not take a batch; retrying later/);
  });

  it("refuses batches beyond a bounded queue per connection with 'unavailable' and stores exactly the accepted ones", { timeout: 60_000 }, async () => {
    const token = await srv.token("queue");
    const agentId = randomUUID();
    const s = await connect(hello(token, "q1", agentId));
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => send(s, { records: [logRec(i + 1)] })));
    const ok = acks.filter((a) => a.ok).length;
    const busy = acks.filter((a) => !a.ok && a.code === "unavailable" && /batches wait for storage/.test(a.message)).length;
    assert.equal(ok + busy, 200, JSON.stringify(acks.find((a) => !a.ok)));
    assert.ok(busy > 0 && ok >= 16, `ok ${ok}, refused ${busy}`);
    assert.equal(await storedBy(agentId), ok, "stored exactly what was acknowledged");
  });

  it("answers a message flood over the per-agent rate with rate_limited at once, without queueing it", { timeout: 60_000 }, async () => {
    const token = await srv.token("flood");
    const s = await connect(hello(token, "f1"));
    // bursts of 5000 until the bucket (4000) and its refill (1000/s) are outrun: one burst on an idle machine;
    // a loaded one may answer the first burst slower than the refill, so more follow (at most 30 s of them)
    const t0 = Date.now();
    let n = 0;
    let limited = 0;
    let ok = 0;
    while (limited === 0 && Date.now() - t0 < 30_000) {
      const burst = 4 * MESSAGES_PER_S + 1000;
      const replies = await Promise.all(
        Array.from({ length: burst }, () => s.timeout(20_000).emitWithAck("heartbeat", { ts: Date.now(), outbox: 0, sources: {} }) as Promise<{ ok: boolean; code?: string }>),
      );
      n += burst;
      limited += replies.filter((r) => !r.ok && r.code === "rate_limited").length;
      ok += replies.filter((r) => r.ok).length;
    }
    assert.equal(ok + limited, n, "every message answered, ok or rate_limited");
    // never more accepted than the bucket (4000) plus 1000/s refilled while the flood ran
    const maxOk = 4 * MESSAGES_PER_S + Math.ceil(((Date.now() - t0) / 1000) * MESSAGES_PER_S) + 1;
    assert.ok(ok <= maxOk && limited > 0, `limited ${limited} of ${n} in ${Date.now() - t0} ms (at most ${maxOk} could pass)`);
  });

  it("refuses handshakes over the per-address rate with rate_limited, while other addresses still connect", { timeout: 60_000 }, async () => {
    const token = await srv.token("handshakes");
    const before = await metricOf(srv, "kam_agent_handshake_rejected_total", { code: "rate_limited" });
    const codes: string[] = [];
    const hints: unknown[] = [];
    for (let i = 0; i < 2 * 2 * HANDSHAKES_PER_10S; i++) {
      try {
        (await connect(hello(token, `h${i}`), "127.0.0.9")).close();
        codes.push("ok");
      } catch (e) {
        const data = (e as { data?: { code?: string; retryAfterMs?: unknown } }).data;
        codes.push(data?.code ?? String(e));
        if (data?.code === "rate_limited") hints.push(data.retryAfterMs);
      }
    }
    // refilled at 1 attempt per second: the hint says when the next one is allowed
    assert.ok(hints.length > 0 && hints.every((h) => typeof h === "number" && h > 0 && h <= 1000), JSON.stringify(hints));
    const limited = codes.filter((c) => c === "rate_limited").length;
    assert.deepEqual(new Set(codes), new Set(["ok", "rate_limited"]), codes.join(","));
    assert.ok(codes.indexOf("rate_limited") >= 2 * HANDSHAKES_PER_10S, "the burst passes first");
    assert.equal(await metricOf(srv, "kam_agent_handshake_rejected_total", { code: "rate_limited" }), before + limited);
    const other = await connect(hello(token, "elsewhere"), "127.0.0.1");
    assert.equal((await send(other, { records: [logRec(1)] })).ok, true);
  });

  it("refuses garbage handshakes with typed errors and keeps serving", { timeout: 60_000 }, async () => {
    const token = await srv.token("garbage-hs");
    const garbage: [unknown, string][] = [
      [null, "protocol_mismatch"],
      [{ protocol: "1" }, "protocol_mismatch"],
      [{ ...hello(token, "g"), agentId: "not-a-uuid" }, "invalid_message"],
      [{ ...hello(token, "g"), node: "../../etc" }, "invalid_message"],
      [{ ...hello(token, "g"), token: 12345678901234567890 }, "invalid_message"],
      [{ ...hello(token, "g"), hostname: "h".repeat(100_000) }, "invalid_message"],
      [{ ...hello(token, "g"), utcOffsetMinutes: 1e9 }, "invalid_message"],
      [{ ...hello("kam_" + "z".repeat(40), "g") }, "forbidden"], // not the header's token
    ];
    // past the agent path's gate (a valid token in the header), the handshake itself is checked
    for (const [auth, code] of garbage) {
      await assert.rejects(connect(auth, "127.0.0.3", token), (e: { data?: { code?: string } }) => (assert.equal(e.data?.code, code, JSON.stringify(auth).slice(0, 80)), true));
    }
    // not an object: socket.io itself refuses the CONNECT packet and closes the transport
    const outcome = await new Promise<string>((resolve) => {
      const raw = io(`${srv.url}/agent`, { ...agentSocketOptions(token), auth: "hello" as unknown as Record<string, unknown>, reconnection: false });
      raw.once("connect", () => resolve("connected"));
      raw.io.once("close", (reason) => resolve(`closed: ${reason}`));
      setTimeout(() => resolve("no answer"), 10_000);
      sockets.push(raw);
    });
    assert.equal(outcome, "closed: transport close");
    const s = await connect(hello(token, "g"), "127.0.0.3");
    const hb = (await s.timeout(5000).emitWithAck("heartbeat", { ts: "now", outbox: -1 })) as { ok: boolean; code?: string };
    assert.deepEqual([hb.ok, hb.code], [false, "invalid_message"]);
    assert.equal((await send(s, { records: [logRec(1)] })).ok, true);
  });

  it("validates and rate-limits browser subscriptions on /live", { timeout: 60_000 }, async () => {
    const live = io(`${srv.url}/live`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { cookie: (await srv.session("viewer")).cookie } });
    sockets.push(live);
    await new Promise<void>((r) => live.once("connect", () => r()));
    const sub = (m: unknown) => live.timeout(5000).emitWithAck("subscribe", m) as Promise<{ ok: boolean; code?: string }>;
    for (const m of [null, { clusters: [] }, { clusters: "x" }, { clusters: ["a".repeat(200)] }, { clusters: Array(1001).fill("a") }]) {
      const r = await sub(m);
      assert.deepEqual([r.ok, r.code], [false, "invalid_message"], JSON.stringify(m).slice(0, 60));
    }
    const flood = await Promise.all(Array.from({ length: 60 }, () => sub({ clusters: ["hostile"] })));
    assert.ok(flood.some((r) => !r.ok && r.code === "rate_limited"), "a flood of subscribes is refused");
    assert.ok(flood.filter((r) => r.ok).length <= 20);
  });
});
