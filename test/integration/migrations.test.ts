/**
 * Starting the server applies the committed migrations with `prisma migrate deploy`; a start with nothing
 * pending (every restart of an installed server) skips the Prisma CLI after one query
 * (server/db/migrate.ts pendingMigrations). Real server, real database (PGlite and PostgreSQL passes).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dbUrlOf, queryDb, ROOT, startTestServer, type TestServer } from "../helpers/server";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { pendingMigrations } from "../../server/db/migrate";

let srv: TestServer;
let db: TestDb;
before(async () => {
  db = await createTestDb({ empty: true }); // not the migrated template the other tests start from
  srv = await startTestServer({ db });
});
after(async () => {
  await srv?.close();
  await db?.drop();
});

describe(`migrations at start (${testDbKind()})`, () => {
  it("the first start applies them with prisma; a restart with none pending skips the CLI; a changed or missing one is seen", { timeout: 120_000 }, async () => {
    assert.match(srv.output(), /migrations: All migrations have been successfully applied/, "the first start ran prisma migrate deploy");
    const url = dbUrlOf(srv);
    assert.deepEqual(await pendingMigrations(url, ROOT), [], "nothing pending once applied");

    const [first] = await queryDb<{ name: string; checksum: string }>(srv, `SELECT migration_name AS name, checksum FROM _prisma_migrations ORDER BY migration_name LIMIT 1`);
    // a migration file changed after it was applied: Prisma must judge it, not this shortcut
    await queryDb(srv, `UPDATE _prisma_migrations SET checksum = 'changed' WHERE migration_name = $1`, [first.name]);
    assert.equal(await pendingMigrations(url, ROOT), null);
    // a committed migration this database never applied: pending
    await queryDb(srv, `UPDATE _prisma_migrations SET migration_name = 'renamed' WHERE migration_name = $1`, [first.name]);
    assert.deepEqual(await pendingMigrations(url, ROOT), [first.name]);
    // a failed attempt (started, neither finished nor rolled back): Prisma reports it
    await queryDb(srv, `UPDATE _prisma_migrations SET migration_name = $1, checksum = $2, finished_at = NULL WHERE migration_name = 'renamed'`, [first.name, first.checksum]);
    assert.equal(await pendingMigrations(url, ROOT), null);
    await queryDb(srv, `UPDATE _prisma_migrations SET finished_at = started_at WHERE migration_name = $1`, [first.name]);
    assert.deepEqual(await pendingMigrations(url, ROOT), []);

    const before = srv.output().length;
    await srv.restart();
    const h = (await (await fetch(`${srv.url}/api/health`)).json()) as { ok: boolean };
    assert.equal(h.ok, true);
    assert.match(srv.output().slice(before), /migrations: none pending/, "the restart skipped prisma migrate deploy");
  });
});
