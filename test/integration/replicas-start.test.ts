/**
 * Issue 13: two server processes started at the same moment on one empty
 * PostgreSQL database (two replicas deployed together) both come up: the
 * migrations are applied once (prisma migrate deploy serialises them with an
 * advisory lock), neither start fails, and both answer /api/health. Real
 * PostgreSQL (TEST_DATABASE_URL), real servers; the PostgreSQL pass only (the
 * embedded PGlite is one process by design).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, startTestServer, queryDb, type TestServer } from "../helpers/server";
import { committedMigrations } from "../../server/db/migrate";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";

const servers: TestServer[] = [];
let db: TestDb | null = null;
after(async () => {
  for (const s of servers) await s.close();
  await db?.drop();
});

describe("two replicas started at once", { skip: testDbKind() !== "postgres" ? "runs in the PostgreSQL pass: replicas share a PostgreSQL server" : false }, () => {
  it("on an empty database: both start, every migration is applied once, both answer /api/health", { timeout: 120_000 }, async () => {
    db = await createTestDb({ empty: true });
    const base = db;
    // each replica its own data directory (they share only the database)
    const replica = () => ({ ...base, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "kam-replica-")), drop: async () => undefined });
    const started = await Promise.allSettled([startTestServer({ db: replica() }), startTestServer({ db: replica() })]);
    for (const r of started) if (r.status === "fulfilled") servers.push(r.value);
    const failed = started.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failed, [], "both replicas started");
    for (const s of servers) {
      const h = (await (await fetch(`${s.url}/api/health`)).json()) as { ok: boolean; db: string };
      assert.deepEqual(h, { ok: true, db: "postgres" });
      assert.doesNotMatch(s.output(), /migrat\w* failed|MigrationError/i, "no migration error in either log");
    }
    const committed = committedMigrations(ROOT).map((m) => m.name);
    const applied = await queryDb<{ migration_name: string; n: number }>(servers[0],
      `SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY migration_name ORDER BY migration_name`);
    assert.deepEqual(applied.map((r) => r.migration_name), committed, "every committed migration applied");
    assert.ok(applied.every((r) => r.n === 1), `each applied once: ${JSON.stringify(applied.filter((r) => r.n !== 1))}`);
    for (const s of servers) fs.rmSync(s.db.dataDir, { recursive: true, force: true });
  });
});
