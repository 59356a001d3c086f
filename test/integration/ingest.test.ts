/**
 * The /agent namespace against the real server and database, spoken to by a
 * real socket.io client: authentication, validation, idempotent storage and
 * the resulting /api/clusters picture.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { io, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, type AgentRecord, type BatchAck, type ClusterSummary } from "../../server/protocol";
import { startTestServer, type TestServer, queryDb } from "../helpers/server";
import { testDbKind } from "../helpers/db";

let srv: TestServer;

function connectAgent(url: string, auth: Record<string, unknown>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${url}/agent`, { auth, transports: ["websocket"], reconnection: false, timeout: 5000 });
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => {
      s.close();
      reject(e);
    });
  });
}

function hello(token: string, node = "lb1", agentId = randomUUID()) {
  return { protocol: PROTOCOL_VERSION, token, agentId, node, hostname: node, version: "test" };
}

const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDb<T>(srv, sql, params);

const logRec = (seq: number, line: string, ts = Date.parse("2026-11-23T18:53:53Z")): AgentRecord => ({
  kind: "log",
  seq,
  ts,
  source: "file",
  line,
  inode: "1234",
  offset: seq * 100,
});

before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv?.close();
});

describe(`agent ingest (${testDbKind()})`, () => {
  it("answers /api/health with the database kind", async () => {
    const r = await fetch(`${srv.url}/api/health`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, db: testDbKind() });
  });

  it("refuses a connection with a wrong token, with a typed error", async () => {
    await assert.rejects(connectAgent(srv.url, hello("kam_this-token-does-not-exist-at-all")), (e: Error & { data?: { code: string } }) => {
      assert.equal(e.data?.code, "unauthorized");
      assert.match(e.message, /token/);
      return true;
    });
  });

  it("refuses an agent speaking another protocol version", async () => {
    const token = await srv.token("proto");
    await assert.rejects(connectAgent(srv.url, { ...hello(token), protocol: 999 }), (e: Error & { data?: { code: string } }) => {
      assert.equal(e.data?.code, "protocol_mismatch");
      return true;
    });
  });

  it("answers a malformed batch with a typed error and stores none of it", async () => {
    const token = await srv.token("malformed");
    const s = await connectAgent(srv.url, hello(token, "m1"));
    try {
      // first record valid, second type-confused: the whole batch must be refused
      const bad = { records: [logRec(1, "(VI_1) Entering MASTER STATE"), { kind: "log", seq: "two", ts: -1, source: "x", line: 5 }] };
      const ack = (await s.timeout(5000).emitWithAck("batch", bad)) as BatchAck;
      assert.equal(ack.ok, false);
      assert.equal(!ack.ok && ack.code, "invalid_message");
      const notObject = (await s.timeout(5000).emitWithAck("batch", "garbage")) as BatchAck;
      assert.equal(notObject.ok, false);
      const rows = await query<{ n: string }>(
        `SELECT count(*) AS n FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = 'malformed'`,
      );
      assert.equal(Number(rows[0].n), 0);
      // the connection keeps serving valid batches afterwards
      const ok = (await s.timeout(5000).emitWithAck("batch", { records: [logRec(1, "(VI_1) Entering BACKUP STATE")] })) as BatchAck;
      assert.equal(ok.ok, true);
    } finally {
      s.close();
    }
  });

  it("stores a redelivered batch exactly once and acknowledges it again", async () => {
    const token = await srv.token("dedup");
    const agentId = randomUUID();
    const s = await connectAgent(srv.url, hello(token, "d1", agentId));
    try {
      const batch = { records: [1, 2, 3].map((i) => logRec(i, `(VI_1) Entering BACKUP STATE line ${i}`)) };
      const a1 = (await s.timeout(5000).emitWithAck("batch", batch)) as BatchAck;
      const a2 = (await s.timeout(5000).emitWithAck("batch", batch)) as BatchAck;
      assert.deepEqual(a1, { ok: true, acked: [1, 2, 3], stored: 3, duplicates: 0 });
      assert.deepEqual(a2, { ok: true, acked: [1, 2, 3], stored: 0, duplicates: 3 });
      const rows = await query<{ n: string }>(`SELECT count(*) AS n FROM log_record WHERE agent_id = $1`, [agentId]);
      assert.equal(Number(rows[0].n), 3);
    } finally {
      s.close();
    }
  });

  it("stores a seq repeated inside one batch once and counts the repeat as a duplicate", async () => {
    const token = await srv.token("dedup-inside");
    const agentId = randomUUID();
    const s = await connectAgent(srv.url, hello(token, "d2", agentId));
    try {
      const records = [logRec(1, "(VI_1) Entering BACKUP STATE"), logRec(2, "(VI_1) Entering MASTER STATE"), logRec(2, "(VI_1) Entering MASTER STATE"), logRec(3, "noise")];
      const a = (await s.timeout(5000).emitWithAck("batch", { records })) as BatchAck;
      assert.deepEqual(a, { ok: true, acked: [1, 2, 2, 3], stored: 3, duplicates: 1 });
      const rows = await query<{ seq: string }>(`SELECT seq FROM log_record WHERE agent_id = $1 ORDER BY seq`, [agentId]);
      assert.deepEqual(rows.map((r) => Number(r.seq)), [1, 2, 3]);
      const changes = await query<{ state: string; seq: string }>(
        `SELECT sc.state, l.seq FROM state_change sc JOIN log_record l ON l.id = sc.log_record_id WHERE l.agent_id = $1 ORDER BY l.seq`,
        [agentId],
      );
      assert.deepEqual(changes.map((c) => [c.state, Number(c.seq)]), [["BACKUP", 1], ["MASTER", 2]]);
    } finally {
      s.close();
    }
  });

  it("derives state changes from the new lines only when a batch partly repeats stored ones", async () => {
    const token = await srv.token("dedup-partial");
    const agentId = randomUUID();
    const s = await connectAgent(srv.url, hello(token, "d3", agentId));
    try {
      const first = [logRec(1, "(VI_1) Entering BACKUP STATE"), logRec(2, "(VI_1) Entering MASTER STATE")];
      const a1 = (await s.timeout(5000).emitWithAck("batch", { records: first })) as BatchAck;
      assert.deepEqual(a1, { ok: true, acked: [1, 2], stored: 2, duplicates: 0 });
      // seq 2 again (its ack was lost), then new lines: MASTER again (no change), BACKUP, MASTER
      const second = [first[1], logRec(3, "(VI_1) Entering MASTER STATE"), logRec(4, "(VI_1) Entering BACKUP STATE"), logRec(5, "(VI_1) Entering MASTER STATE")];
      const a2 = (await s.timeout(5000).emitWithAck("batch", { records: second })) as BatchAck;
      assert.deepEqual(a2, { ok: true, acked: [2, 3, 4, 5], stored: 3, duplicates: 1 });
      const changes = await query<{ state: string; seq: string }>(
        `SELECT sc.state, l.seq FROM state_change sc JOIN log_record l ON l.id = sc.log_record_id WHERE l.agent_id = $1 ORDER BY l.seq`,
        [agentId],
      );
      assert.deepEqual(changes.map((c) => [c.state, Number(c.seq)]), [["BACKUP", 1], ["MASTER", 2], ["BACKUP", 4], ["MASTER", 5]]);
      const clusters = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
      const node = clusters.find((c) => c.name === "dedup-partial")?.nodes.find((n) => n.name === "d3");
      assert.equal(node?.instances.find((i) => i.name === "VI_1")?.state, "MASTER");
    } finally {
      s.close();
    }
  });

  it("batches sent at once on one socket (stored together behind a commit) are each acked with their own seqs, stored once, states in order", async () => {
    const token = await srv.token("group-commit");
    const agentId = randomUUID();
    const s = await connectAgent(srv.url, hello(token, "g1", agentId));
    try {
      const states = ["BACKUP", "MASTER", "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "BACKUP"];
      const batches = states.map((st, i) => ({ records: [logRec(i + 1, `(VI_1) Entering ${st} STATE`)] }));
      // seq 4 again in another batch (a resend whose ack was lost): stored once, counted once as stored
      batches.push({ records: [logRec(4, "(VI_1) Entering MASTER STATE"), logRec(9, "(VI_1) Entering MASTER STATE")] });
      // all emitted before any answer: those arriving during the first commit wait and share the next one
      const acks = (await Promise.all(batches.map((b) => s.timeout(10_000).emitWithAck("batch", b)))) as BatchAck[];
      acks.forEach((a, i) => {
        assert.ok(a.ok, JSON.stringify(a));
        assert.deepEqual(a.acked, batches[i].records.map((r) => r.seq));
      });
      const stored = acks.reduce((n, a) => n + (a.ok ? a.stored : 0), 0);
      const dups = acks.reduce((n, a) => n + (a.ok ? a.duplicates : 0), 0);
      assert.deepEqual([stored, dups], [9, 1], "nine records stored, the repeated seq counted once as a duplicate");
      assert.deepEqual(acks.at(-1), { ok: true, acked: [4, 9], stored: 1, duplicates: 1 });
      const rows = await query<{ seq: string }>(`SELECT seq FROM log_record WHERE agent_id = $1 ORDER BY seq`, [agentId]);
      assert.deepEqual(rows.map((r) => Number(r.seq)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const changes = await query<{ state: string; seq: string }>(
        `SELECT sc.state, l.seq FROM state_change sc JOIN log_record l ON l.id = sc.log_record_id WHERE l.agent_id = $1 ORDER BY l.seq`,
        [agentId],
      );
      assert.deepEqual(changes.map((c) => [c.state, Number(c.seq)]), [...states.map((st, i) => [st, i + 1]), ["MASTER", 9]]);
      const clusters = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
      const node = clusters.find((c) => c.name === "group-commit")?.nodes.find((n) => n.name === "g1");
      assert.equal(node?.instances.find((i) => i.name === "VI_1")?.state, "MASTER");
    } finally {
      s.close();
    }
  });

  it("stores a VIP report only when the set changed (first of each connection always), acknowledging the repeats as duplicates", async () => {
    const token = await srv.token("vip-dedup");
    const agentId = randomUUID();
    const v = (seq: number, ...addresses: string[]): AgentRecord => ({
      kind: "vips", seq, ts: Date.now(), addresses: addresses.map((address) => ({ address, prefixlen: 24, iface: "eth0" })),
    });
    const count = async () => Number((await query<{ n: string }>(`SELECT count(*) AS n FROM vip_observation WHERE agent_id = $1`, [agentId]))[0].n);
    let s = await connectAgent(srv.url, hello(token, "v1", agentId));
    try {
      assert.deepEqual(await s.timeout(5000).emitWithAck("batch", { records: [v(1, "198.18.0.10")] }), { ok: true, acked: [1], stored: 1, duplicates: 0 });
      assert.deepEqual(await s.timeout(5000).emitWithAck("batch", { records: [v(2, "198.18.0.10")] }), { ok: true, acked: [2], stored: 0, duplicates: 1 });
      // a change, then its repeats in the same batch; order of addresses does not matter
      assert.deepEqual(await s.timeout(5000).emitWithAck("batch", { records: [v(3, "198.18.0.10", "198.18.0.100"), v(4, "198.18.0.100", "198.18.0.10"), logRec(5, "noise"), v(6, "198.18.0.10", "198.18.0.100")] }),
        { ok: true, acked: [3, 4, 5, 6], stored: 2, duplicates: 2 });
      // a redelivered stored report stays a duplicate
      assert.deepEqual(await s.timeout(5000).emitWithAck("batch", { records: [v(3, "198.18.0.10", "198.18.0.100")] }), { ok: true, acked: [3], stored: 0, duplicates: 1 });
      assert.equal(await count(), 2);
    } finally {
      s.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    s = await connectAgent(srv.url, hello(token, "v1", agentId));
    try {
      assert.deepEqual(await s.timeout(5000).emitWithAck("batch", { records: [v(7, "198.18.0.10", "198.18.0.100")] }), { ok: true, acked: [7], stored: 1, duplicates: 0 });
      assert.deepEqual(await s.timeout(5000).emitWithAck("batch", { records: [v(8, "198.18.0.10", "198.18.0.100")] }), { ok: true, acked: [8], stored: 0, duplicates: 1 });
      assert.equal(await count(), 3);
      const clusters = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
      assert.ok(clusters.find((c) => c.name === "vip-dedup")?.nodes.find((n) => n.name === "v1"), "node listed");
    } finally {
      s.close();
    }
  });

  it("refuses a node name already bound to another token of the cluster", async () => {
    const t1 = await srv.token("bound");
    const t2 = await srv.token("bound");
    const s = await connectAgent(srv.url, hello(t1, "owner"));
    s.close();
    await assert.rejects(connectAgent(srv.url, hello(t2, "owner")), (e: Error & { data?: { code: string } }) => {
      assert.equal(e.data?.code, "forbidden");
      return true;
    });
  });

  it("shows the state, VRID, priority and VIP holder from config, VIP and log records", async () => {
    const token = await srv.token("shop");
    const s = await connectAgent(srv.url, hello(token, "lb1"));
    try {
      const cfg: AgentRecord = {
        kind: "config",
        seq: 1,
        ts: Date.now(),
        path: "/etc/keepalived/keepalived.conf",
        hash: "a".repeat(64),
        routerId: "lb1",
        netNamespace: null,
        errors: [],
        instances: [
          {
            name: "VI_1", vrid: 51, interface: "eth0", state: "BACKUP", priority: 150, advertInt: 1, authType: "PASS",
            authPassHash: "b".repeat(64), vips: ["198.18.0.100/24"], trackScripts: [], trackInterfaces: [],
            unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null,
          },
        ],
      };
      const vips: AgentRecord = { kind: "vips", seq: 2, ts: Date.now(), addresses: [{ address: "198.18.0.100", prefixlen: 24, iface: "eth0" }] };
      const ack = (await s.timeout(5000).emitWithAck("batch", {
        records: [cfg, vips, logRec(3, "Mon Nov 23 18:53:53 2026: (VI_1) Entering BACKUP STATE (init)"),
          logRec(4, "Mon Nov 23 18:53:56 2026: (VI_1) Entering MASTER STATE")],
      })) as BatchAck;
      assert.equal(ack.ok, true);
      const clusters = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
      const shop = clusters.find((c) => c.name === "shop");
      assert.ok(shop, "cluster listed");
      assert.equal(shop.nodes.length, 1);
      assert.equal(shop.nodes[0].online, true);
      assert.deepEqual(shop.nodes[0].instances, [
        { name: "VI_1", vrid: 51, state: "MASTER", priority: 150, configuredPriority: 150, vips: [{ address: "198.18.0.100", held: true }] },
      ]);
      const changes = await query<{ state: string; vrid: number }>(
        `SELECT state, vrid FROM state_change sc JOIN cluster c ON c.id = sc.cluster_id WHERE c.name = 'shop' ORDER BY ts`,
      );
      assert.deepEqual(changes, [{ state: "BACKUP", vrid: 51 }, { state: "MASTER", vrid: 51 }]);
    } finally {
      s.close();
    }
  });
});
