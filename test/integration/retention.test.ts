/**
 * Retention on a real database: pruneOnce() removes exactly what is older
 * than each kind's retention, keeps the newest config, VIP observation,
 * keepalived process record and state of every node (the picture rebuilt at start stays the same), keeps
 * incidents longer than raw lines and never an open incident; and the REAL
 * server's scheduled job prunes in small batches while ingest keeps being
 * acknowledged promptly, counting what it removed in /metrics.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { openDatabase, type Database } from "../../server/db/database";
import { findRunningEmbedded } from "../../server/db/embedded";
import { createLogger } from "../../server/log";
import { ClusterStore } from "../../server/state/cluster-state";
import { restoreState } from "../../server/state/restore";
import { DEFAULT_RETENTION, pruneOnce } from "../../server/retention/prune";
import { PROTOCOL_VERSION, type BatchAck } from "../../server/protocol";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { startTestServer, ROOT, type TestServer, metricOf } from "../helpers/server";
import { waitFor } from "../helpers/wait";

const DAY = 86_400_000;
const NOW = Date.parse("2026-11-23T12:00:00Z");
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();

async function count(db: Database, table: string): Promise<number> {
  const [r] = (await db.prisma.$queryRawUnsafe(`SELECT count(*)::int AS n FROM ${table}`)) as { n: number }[];
  return r.n;
}

describe(`retention (${testDbKind()})`, () => {
  let tdb: TestDb;
  let db: Database;
  before(async () => {
    tdb = await createTestDb();
    db = await openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir, cwd: ROOT, log: createLogger("warn") });
  });
  after(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it("prunes exactly what is past each kind's retention, in batches, and keeps what the rebuilt picture needs", { timeout: 120_000 }, async () => {
    const x = (sql: string, ...params: unknown[]) => db.prisma.$executeRawUnsafe(sql, ...params);
    await x(`INSERT INTO cluster (id, name) VALUES (1, 'r')`);
    await x(`INSERT INTO node (id, cluster_id, name) VALUES (1, 1, 'n1'), (2, 1, 'n2')`);
    const [a1, a2] = [randomUUID(), randomUUID()];
    await x(`INSERT INTO agent (id, cluster_id, node_id, token_id, first_seen_at) VALUES ($1::uuid, 1, 1, 0, $3::timestamptz), ($2::uuid, 1, 2, 0, $3::timestamptz)`, a1, a2, ago(600));
    let seq = 0;
    /** n rows of a record table, received `days` ago (inserted in arrival order, as ingest does) */
    const rec = async (table: string, node: number, n: number, days: number, cols = "", vals = "") => {
      const agent = node === 1 ? a1 : a2;
      await x(`INSERT INTO ${table} (cluster_id, node_id, agent_id, seq, ts, received_at${cols})
               SELECT 1, $1, $2::uuid, $3 + g, $4::timestamptz, $4::timestamptz${vals} FROM generate_series(1, $5) g`, node, agent, seq, ago(days), n);
      seq += n;
    };
    const log = (node: number, n: number, days: number) => rec("log_record", node, n, days, ", source, line", ", 'file', 'line ' || g");
    await log(1, 250, 40); await log(2, 30, 31); await log(2, 10, 29); await log(1, 120, 10);
    const gap = (n: number, days: number) => rec("agent_gap", 1, n, days, ", from_seq, to_seq, dropped, reason", ", 1, 2, 2, 'outbox full'");
    await gap(3, 40); await gap(2, 5);
    const vip = (node: number, n: number, days: number) => rec("vip_observation", node, n, days, ", addresses", `, '[{"address":"198.18.0.100","prefixlen":24,"iface":"eth0"}]'::jsonb`);
    await vip(2, 4, 40); await vip(1, 5, 40); await vip(1, 2, 1);
    const proc = (node: number, n: number, days: number) => rec("keepalived_process", node, n, days, ", running, event, via", ", true, 'observed', 'proc'");
    await proc(1, 4, 40); await proc(2, 2, 40); await proc(1, 1, 2);
    const dump = (node: number, n: number, days: number) => rec("keepalived_dump", node, n, days, ", source, pid, instances", ", 'json', 4242, '[]'::jsonb");
    await dump(1, 3, 40); await dump(2, 2, 40); await dump(1, 1, 2);
    const inst = (prio: number) => `'[{"name":"VI_1","vrid":51,"interface":"eth0","state":"BACKUP","priority":${prio},"advertInt":1,"authType":null,"authPassHash":null,"vips":["198.18.0.100/24"],"trackScripts":[],"trackInterfaces":[],"unicastSrcIp":null,"unicastPeers":[],"nopreempt":false,"vrrpVersion":2,"syncGroup":null}]'::jsonb`;
    const cfg = (node: number, n: number, days: number, prio: number) => rec("config_snapshot", node, n, days, ", path, hash, instances", `, '/etc/k.conf', md5(g::text), ${inst(prio)}`);
    await cfg(2, 2, 400, 90); await cfg(1, 3, 400, 100); await cfg(1, 1, 100, 150);
    // state changes: ts decides; log_record_id points at nothing (their lines are long gone)
    const sc = (node: number, instance: string, state: string, n: number, days: number) =>
      x(`INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id)
         SELECT 1, $1, $2, 51, $3, $4::timestamptz + g * interval '1 second', -(($5::bigint) * 1000 + g) FROM generate_series(1, $6) g`,
        node, instance, state, ago(days), ++seq, n);
    await sc(2, "*", "STOP", 1, 500); await sc(1, "VI_1", "BACKUP", 4, 400); await sc(1, "VI_2", "MASTER", 2, 400); await sc(1, "VI_1", "MASTER", 1, 10);
    const session = (n: number, days: number) =>
      x(`INSERT INTO agent_session (cluster_id, node_id, agent_id, connected_at, last_seen_at, disconnected_at)
         SELECT 1, 1, $1::uuid, $2::timestamptz, $2::timestamptz, $2::timestamptz FROM generate_series(1, $3)`, a1, ago(days), n);
    await session(6, 100); await session(2, 10);
    // enrolment codes: by their expiry (two long expired, one recently; all past the sessions' 90 days but one)
    const code = (name: string, days: number) =>
      x(`INSERT INTO enrolment_code (cluster_name, node_name, code_hash, prefix, created_by, created_at, expires_at)
         VALUES ('c', $1, md5($1), 'kam', 'admin', $2::timestamptz, $2::timestamptz)`, name, ago(days));
    await code("e-old1", 200); await code("e-old2", 91); await code("e-new", 10);
    const incident = (key: string, opened: number, closed: number | null) =>
      x(`INSERT INTO incident (cluster_id, kind, severity, nodes, opened_at, closed_at, cause_code, cause_summary, dedup_key, updated_at)
         VALUES (1, 'FAULT', 'critical', ARRAY['n1'], $1::timestamptz, $2::timestamptz, 'c', 's', $3, $1::timestamptz)`, ago(opened), closed === null ? null : ago(closed), key);
    await incident("old1", 801, 800); await incident("old2", 900, 850); await incident("kept", 101, 100); await incident("open", 1000, null);
    await x(`INSERT INTO webhook (id, cluster_id, url, created_at) VALUES (1, 1, 'http://127.0.0.1:9/x', now())`);
    await x(`INSERT INTO notification (incident_id, webhook_id, event, payload, next_at, created_at)
             SELECT id, 1, 'opened', '{}'::jsonb, now(), now() FROM incident WHERE dedup_key IN ('old1', 'kept')`);

    // the cluster feed: kept an hour (FEED_KEEP_MS) whatever the settings; 120 rows (bounded batches of 50) go
    const feed = (n: number, minutes: number) =>
      x(`INSERT INTO cluster_feed (cluster_id, pos, node_id, agent_id, received_at, seq_from, seq_to, origin)
         SELECT 1, ${++seq} * 1000 + g, 1, $1::uuid, $2::timestamptz, g, g, 'r' FROM generate_series(1, $3) g`, a1, new Date(NOW - minutes * 60_000).toISOString(), n);
    await feed(120, 61); await feed(7, 59);
    const picture = async () => {
      const store = new ClusterStore(15_000);
      await restoreState(db.prisma, store, (e) => assert.fail(`a stored row was rejected: ${e.message}`));
      return store.summaries(NOW).map((c) => c.nodes.map((n) => [n.name, n.instances.map((i) => [i.name, i.vrid, i.priority, i.vips, i.state])]));
    };
    const before = await picture();
    const r = await pruneOnce(db.prisma, DEFAULT_RETENTION, { now: NOW, batchSize: 50, pauseMs: 1 });
    assert.deepEqual(r, { log: 280, gap: 3, vip: 8, process: 5, dump: 4, config: 4, state: 5, session: 8, incident: 2, feed: 120, audit: 0 });
    assert.equal(await count(db, "cluster_feed"), 7, "the last hour of the feed is kept");
    const left: Record<string, number> = {};
    for (const t of ["log_record", "agent_gap", "vip_observation", "keepalived_process", "keepalived_dump", "config_snapshot", "state_change", "agent_session", "enrolment_code", "incident", "notification"]) left[t] = await count(db, t);
    assert.deepEqual(left, {
      log_record: 130, agent_gap: 2,
      vip_observation: 3, // n1's two recent ones, and n2's newest (the only one it has, however old)
      keepalived_process: 2, // the same policy: n1's recent one, n2's newest
      keepalived_dump: 2, // the same policy
      config_snapshot: 2, // the newest of each node
      state_change: 3, // n1 VI_1's recent MASTER, the newest of n1 VI_2, n2's node-wide STOP
      agent_session: 2,
      enrolment_code: 1,
      incident: 2, // closed 100 days ago (its raw lines of then are gone), and the open one
      notification: 1,
    });
    const [oldest] = (await db.prisma.$queryRawUnsafe(`SELECT min(received_at) AS m FROM log_record`)) as { m: Date }[];
    assert.ok(oldest.m.getTime() >= NOW - 30 * DAY);
    assert.deepEqual(await picture(), before, "the picture rebuilt from storage is unchanged");
    assert.deepEqual(await pruneOnce(db.prisma, DEFAULT_RETENTION, { now: NOW, batchSize: 50, pauseMs: 1 }),
      { log: 0, gap: 0, vip: 0, process: 0, dump: 0, config: 0, state: 0, session: 0, incident: 0, feed: 0, audit: 0 });
    // 0 days = kept for ever
    assert.equal((await pruneOnce(db.prisma, { ...DEFAULT_RETENTION, logDays: 0 }, { now: NOW + 100 * DAY })).log, 0);
    assert.equal(await count(db, "log_record"), 130);
  });
});

describe(`retention job in the running server (${testDbKind()})`, () => {
  let srv: TestServer;
  let sock: Socket | null = null;
  before(async () => {
    srv = await startTestServer({ env: { KAM_RETENTION_INTERVAL_SECONDS: "1", KAM_RETAIN_LOG_DAYS: "30" } });
  });
  after(async () => {
    sock?.close();
    await srv?.close();
  });

  it("prunes old lines on its schedule in small batches while batches keep being acknowledged promptly", { timeout: 180_000 }, async () => {
    const token = await srv.token("prune");
    const agentId = randomUUID();
    sock = io(`${srv.url}/agent`, { auth: { protocol: PROTOCOL_VERSION, token, agentId, node: "p1", hostname: "p1", version: "t" }, transports: ["websocket"], reconnection: false });
    await new Promise<void>((r) => sock!.once("connect", () => r()));
    const url = srv.db.databaseUrl || findRunningEmbedded(srv.db.dataDir)!;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const OLD = srv.db.kind === "postgres" ? 60_000 : 20_000;
    const deleted = () => metricOf(srv, "kam_retention_deleted_total", { kind: "log" });
    const d0 = await deleted(); // before the old rows exist: the job runs every second
    const q = async (sql: string, p: unknown[] = []) => (await c.query(sql, p)).rows;
    try {
      // history from 40 days ago, as an earlier life of this agent stored it (seqs far below the new ones)
      await q(`INSERT INTO log_record (cluster_id, node_id, agent_id, seq, ts, received_at, source, line)
               SELECT a.cluster_id, a.node_id, a.id, g, now() - interval '40 days', now() - interval '40 days', 'file', 'old ' || g
               FROM agent a, generate_series(1, $2) g WHERE a.id = $1::uuid`, [agentId, OLD]);
    } finally {
      await c.end();
    }
    let seq = 1_000_000;
    const lat: number[] = [];
    const samples: number[] = [];
    while ((await deleted()) - d0 < OLD) {
      const t = performance.now();
      const a = (await sock.timeout(10_000).emitWithAck("batch", { records: [{ kind: "log", seq: ++seq, ts: Date.now(), source: "file", line: `new ${seq}` }] })) as BatchAck;
      lat.push(performance.now() - t);
      assert.equal(a.ok, true, JSON.stringify(a));
      samples.push((await deleted()) - d0);
      assert.ok(lat.length < 3000, "pruning did not finish");
      await new Promise((r) => setTimeout(r, 20));
    }
    const during = samples.filter((s) => s > 0 && s < OLD).length;
    assert.ok(during >= 3, `acks arrived while the job was half-way (${during} samples; ${JSON.stringify([...new Set(samples)].slice(0, 30))})`);
    const max = Math.max(...lat);
    assert.ok(max < 2000, `slowest ack while pruning: ${max.toFixed(0)} ms`);
    assert.equal((await deleted()) - d0, OLD, "counted in /metrics exactly");
    const rows = await (async () => {
      const c2 = new pg.Client({ connectionString: url });
      await c2.connect();
      try {
        return (await c2.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE line LIKE 'old %')::int AS old FROM log_record WHERE agent_id = $1`, [agentId])).rows[0];
      } finally {
        await c2.end();
      }
    })();
    assert.deepEqual(rows, { n: seq - 1_000_000, old: 0 }, "every new line kept, every old one gone");
    await waitFor("the pass logged", () => /retention: removed \d+ old rows/.test(srv.output()), 10_000);
    console.log(`# ${lat.length} acks while pruning ${OLD} rows, ${during} of them half-way; slowest ${max.toFixed(0)} ms`);
  });
});
