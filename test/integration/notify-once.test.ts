/**
 * Issue 13: notifications exactly once when several processes drain the same
 * webhook outbox (replicas). Two real Notifiers drain at the same time (on
 * PostgreSQL each with its own connection pool, as two replicas would; on the
 * embedded PGlite, one process by design, over its one connection) towards a
 * real HTTP receiver on loopback that answers slowly, so their passes
 * overlap. Every notification arrives once, with its Idempotency-Key. Before
 * the claim (FOR UPDATE SKIP LOCKED and a lease) both processes read the same
 * due rows and sent each of them twice. An Alertmanager alert row, re-pushed
 * while its incident is open, is likewise pushed by one process at a time,
 * and its resolution is pushed last even when it comes during a push.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { openDatabase, type Database } from "../../server/db/database";
import { CLAIM_LEASE_MS, Notifier, idempotencyKey } from "../../server/incidents/notifier";
import { getIncident } from "../../server/incidents/incident-store";
import { ClusterScope } from "../../server/auth/scope";
import { Counters } from "../../server/metrics";
import { createLogger } from "../../server/log";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { ROOT } from "../helpers/server";
import { sleep, waitFor } from "../helpers/wait";

const N = 40;
let tdb: TestDb;
const dbs: Database[] = [];
let receiver: http.Server;
const got: { key: string | undefined; body: string }[] = [];

before(async () => {
  tdb = await createTestDb();
  const open = () => openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir, cwd: ROOT, log: createLogger("warn") });
  dbs.push(await open());
  if (tdb.kind === "postgres") dbs.push(await open()); // a second replica: its own pool
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ key: req.headers["idempotency-key"] as string | undefined, body });
      setTimeout(() => res.writeHead(204).end(), 30); // slow enough for the two passes to overlap
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
});
after(async () => {
  receiver?.close();
  for (const d of dbs) await d.close();
  await tdb?.drop();
});

it(`two processes draining one outbox deliver each notification once, with its Idempotency-Key (${testDbKind()})`, { timeout: 60_000 }, async () => {
  const db = dbs[0].prisma;
  const x = (sql: string, ...params: unknown[]) => db.$executeRawUnsafe(sql, ...params);
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await x(`INSERT INTO cluster (id, name) VALUES (1, 'once')`);
  await x(`INSERT INTO webhook (id, cluster_id, url, created_at) VALUES (1, 1, $1, now())`, url);
  for (let i = 1; i <= N / 2; i++) {
    await x(`INSERT INTO incident (id, cluster_id, kind, severity, nodes, opened_at, cause_code, cause_summary, dedup_key, updated_at)
             VALUES ($1, 1, 'DUAL_MASTER', 'critical', '{a}', now(), 'x', 'y', $2, now())`, i, `k${i}`);
    for (const ev of ["opened", "resolved"]) {
      await x(`INSERT INTO notification (incident_id, webhook_id, event, payload, next_at, created_at) VALUES ($1, 1, $2, $3::jsonb, now() - interval '1 second', now())`,
        i, ev, JSON.stringify({ n: `${i}-${ev}` }));
    }
  }
  const a = new Notifier(dbs[0].prisma, createLogger("silent"), new Counters(), null);
  const b = new Notifier((dbs[1] ?? dbs[0]).prisma, createLogger("silent"), new Counters(), null);
  await waitFor("every notification delivered", async () => {
    await Promise.all([a.drain(), b.drain(), a.drain(), b.drain()]);
    const [r] = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM notification WHERE delivered_at IS NOT NULL`);
    return r.n === N;
  }, 30_000, 50);
  const keys = got.map((g) => g.key);
  const want = [];
  for (let i = 1; i <= N / 2; i++) for (const ev of ["opened", "resolved"]) want.push(idempotencyKey(String(i), 1, ev));
  assert.deepEqual([...keys].sort(), [...want].sort(), "each notification arrived exactly once, each with its key");
  assert.deepEqual(got.map((g) => (JSON.parse(g.body) as { n: string }).n).sort(), want.map((k) => k.replace(/^kam-(\d+)-1-/, "$1-")).sort(), "the stored payloads");
  const rows = await db.notification.findMany();
  assert.ok(rows.every((r) => r.attempts === 1 && r.lastError === null), "one attempt each");
});

it(`a row claimed by a process that died is retried once its lease (${CLAIM_LEASE_MS / 1000} s) ran out, not before (${testDbKind()})`, { timeout: 30_000 }, async () => {
  const db = dbs[0].prisma;
  const x = (sql: string, ...params: unknown[]) => db.$executeRawUnsafe(sql, ...params);
  got.length = 0;
  // what a claim leaves behind when its process dies before delivering: next_at and claimed_until a lease ahead
  await x(`INSERT INTO notification (incident_id, webhook_id, event, payload, next_at, claimed_until, created_at)
           VALUES (1, 1, 'retry', '{"n":"r"}', now() + interval '${CLAIM_LEASE_MS / 1000} seconds', now() + interval '${CLAIM_LEASE_MS / 1000} seconds', now())`);
  const a = new Notifier(db, createLogger("silent"), new Counters(), null);
  await a.drain();
  assert.equal(got.length, 0, "not delivered while claimed");
  await x(`UPDATE notification SET next_at = now() - interval '1 second', claimed_until = now() - interval '1 second' WHERE event = 'retry'`); // the lease ran out
  await a.drain();
  assert.deepEqual(got.map((g) => g.key), [idempotencyKey("1", 1, "retry")]);
});

it(`an Alertmanager alert is pushed by one process at a time, again while open, and its resolution last, also when it comes mid-push (${testDbKind()})`, { timeout: 60_000 }, async () => {
  const db = dbs[0].prisma;
  const x = (sql: string, ...params: unknown[]) => db.$executeRawUnsafe(sql, ...params);
  const pushes: { body: { endsAt?: string }[]; key: string | undefined; at: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  /** while set, a push that arrives is held until it is released */
  let hold: Promise<void> | null = null;
  let held = 0;
  let release = () => {};
  const am = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pushes.push({ body: JSON.parse(body) as { endsAt?: string }[], key: req.headers["idempotency-key"] as string | undefined, at: Date.now() });
      if (hold) held++;
      void Promise.all([hold, sleep(50)]).then(() => {
        inFlight--;
        res.writeHead(req.url === "/am/api/v2/alerts" ? 200 : 404).end();
      });
    });
  });
  await new Promise<void>((r) => am.listen(0, "127.0.0.1", r));
  let draining = true;
  let loops: Promise<void>[] = [];
  try {
    await x(`INSERT INTO cluster (id, name) VALUES (2, 'am')`);
    await x(`INSERT INTO webhook (id, cluster_id, url, format, created_at) VALUES (2, 2, $1, 'alertmanager', now())`, `http://127.0.0.1:${(am.address() as AddressInfo).port}/am`);
    await x(`INSERT INTO incident (id, cluster_id, kind, severity, nodes, opened_at, cause_code, cause_summary, dedup_key, updated_at)
             VALUES (100, 2, 'NO_MASTER', 'critical', '{a,b}', now(), 'x', 'y', 'am100', now())`);
    const repush = { testOnlyRepushMs: 1500 };
    const a = new Notifier(dbs[0].prisma, createLogger("silent"), new Counters(), null, repush);
    const b = new Notifier((dbs[1] ?? dbs[0]).prisma, createLogger("silent"), new Counters(), null, repush);
    const row = () => db.notification.findFirstOrThrow({ where: { incidentId: 100n } });
    await a.enqueue(2, 100n, "opened", (await getIncident(db, 100n, ClusterScope.ALL))!);
    // both processes drain all the time, each on its own (one waiting for a push does not stop the other)
    loops = [a, b].map(async (n) => {
      while (draining) await Promise.all([n.drain(), n.drain(), sleep(10)]);
    });
    await waitFor("pushed again while open", () => pushes.length >= 2, 10_000, 20);
    assert.ok(pushes.every((p) => p.body[0].endsAt === undefined && p.key === undefined), "firing, without Idempotency-Key");

    // the incident closes while a firing push is in flight: that push must not be the last word
    hold = new Promise((r) => (release = r));
    await waitFor("a push held in flight", () => held === 1, 10_000, 5);
    await x(`UPDATE incident SET closed_at = now() WHERE id = 100`);
    await a.enqueue(2, 100n, "resolved", (await getIncident(db, 100n, ClusterScope.ALL))!);
    const armed = await row();
    assert.equal(typeof (armed.payload as { endsAt?: string }[])[0].endsAt, "string", "re-armed with the resolution");
    assert.ok(armed.claimedUntil && armed.claimedUntil.getTime() > Date.now(), "still claimed by the push in flight");
    await sleep(300);
    assert.equal(inFlight, 1, "nothing else sent while it is in flight");
    const releasedAt = Date.now();
    release();
    await waitFor("the resolution delivered", async () => (await row()).deliveredAt !== null, 10_000, 20);
    assert.ok(pushes.at(-1)!.at - releasedAt < 1000, `pushed as soon as the push in flight ended, not a re-push interval later (${pushes.at(-1)!.at - releasedAt} ms)`);
    await sleep(2000); // more than a re-push interval: nothing more
    assert.equal(maxInFlight, 1, "one push in flight at a time");
    assert.equal(typeof pushes.at(-1)!.body[0].endsAt, "string", "the last push is the resolution");
    assert.equal(pushes.filter((p) => p.body[0].endsAt !== undefined).length, 1, "resolved once, nothing after it");
    assert.equal(typeof pushes.at(-2)!.body[0].endsAt, "undefined", "the one held in flight was firing");
  } finally {
    draining = false;
    release();
    await Promise.all(loops);
    am.close();
  }
});
