/**
 * Issue 19 (low): a webhook URL that passed validation but that URL() refuses
 * used to make the notifier's log line throw, so the notification row was
 * never updated and was retried every 500 ms for ever. Now it is given up at
 * once, with its reason stored and counted. Real database (PGlite or
 * PostgreSQL), real Notifier.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { openDatabase, type Database } from "../../server/db/database";
import { Notifier } from "../../server/incidents/notifier";
import { Counters } from "../../server/metrics";
import { createLogger } from "../../server/log";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { ROOT } from "../helpers/server";

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

it(`gives up at once on a webhook URL that URL() refuses, instead of retrying it every pass (${testDbKind()})`, async () => {
  const x = (sql: string, ...params: unknown[]) => db.prisma.$executeRawUnsafe(sql, ...params);
  await x(`INSERT INTO cluster (id, name) VALUES (1, 'w')`);
  await x(`INSERT INTO incident (id, cluster_id, kind, severity, nodes, opened_at, cause_code, cause_summary, dedup_key, updated_at)
           VALUES (1, 1, 'DUAL_MASTER', 'critical', '{a}', now(), 'x', 'y', 'k1', now())`);
  await x(`INSERT INTO webhook (id, cluster_id, url, created_at) VALUES (1, 1, 'http://exa mple.invalid/hook', now()), (2, 1, 'ftp://example.invalid/x', now())`);
  await x(`INSERT INTO notification (incident_id, webhook_id, event, payload, next_at, created_at)
           VALUES (1, 1, 'opened', '{}', now(), now()), (1, 2, 'opened', '{}', now(), now())`);
  const counters = new Counters();
  const n = new Notifier(db.prisma, createLogger("silent"), counters, null);
  await n.drain();
  const rows = await db.prisma.notification.findMany({ orderBy: { webhookId: "asc" } });
  assert.deepEqual(rows.map((r) => [r.attempts, r.failedAt !== null, r.lastError]), [[1, true, "not a usable URL"], [1, true, "not a usable URL"]]);
  await n.drain();
  const again = await db.prisma.notification.findMany();
  assert.deepEqual(again.map((r) => r.attempts), [1, 1], "not tried again");
});
