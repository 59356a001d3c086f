/**
 * Upgrading (issue 14): a database made by an earlier release, with the data it gathered, is taken over by
 * the current server, which applies the newer migrations at start; the data is intact and the API answers it.
 *
 * The earlier release: the first three migrations (up to 20261123225813_access, added by commit ab31507 "Access
 * core"; the schema of the commits from there to f87373a, before f0980d2 added node_tokens), applied with the real `prisma migrate deploy`
 * from a copy of prisma/ holding only those.
 * A real schema change follows the cut: 20261204123153_node_tokens adds agent_token.node_name, later ones add
 * tables (keepalived_process, server_start, ...) and columns (cluster scopes on users and tokens).
 * Real server, real database (PGlite and PostgreSQL passes).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyMigrations, committedMigrations } from "../../server/db/migrate";
import { startEmbedded } from "../../server/db/embedded";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { dbUrlOf, queryDb, ROOT, startTestServer, type TestServer } from "../helpers/server";
import { checkSeeded, seedHistory } from "../helpers/seed-history";

/** the last migration of the earlier release */
const CUT = "20261123225813_access";

let db: TestDb;
let srv: TestServer | undefined;
let oldRoot: string;

/** a project directory with prisma.config.ts and the migrations up to CUT: the earlier release's schema */
function earlierRelease(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-old-release-"));
  fs.copyFileSync(path.join(ROOT, "prisma.config.ts"), path.join(dir, "prisma.config.ts"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  fs.mkdirSync(path.join(dir, "prisma/migrations"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, "prisma/schema.prisma"), path.join(dir, "prisma/schema.prisma"));
  fs.copyFileSync(path.join(ROOT, "prisma/migrations/migration_lock.toml"), path.join(dir, "prisma/migrations/migration_lock.toml"));
  for (const m of committedMigrations(ROOT).filter((m) => m.name <= CUT)) {
    fs.cpSync(path.join(ROOT, "prisma/migrations", m.name), path.join(dir, "prisma/migrations", m.name), { recursive: true });
  }
  return dir;
}

before(async () => {
  oldRoot = earlierRelease();
  db = await createTestDb({ empty: true });
  const embedded = db.kind === "pglite" ? await startEmbedded(db.dataDir) : null;
  try {
    const url = embedded?.url ?? db.databaseUrl;
    await applyMigrations(url, oldRoot);
    await seedHistory(url);
  } finally {
    await embedded?.close();
  }
});
after(async () => {
  await srv?.close();
  await db?.drop();
  fs.rmSync(oldRoot, { recursive: true, force: true });
});

describe(`upgrade from an earlier release's database (${testDbKind()})`, () => {
  it("the current server applies the newer migrations at start; the old rows are intact and the API answers them", { timeout: 180_000 }, async () => {
    const all = committedMigrations(ROOT).map((m) => m.name);
    const newer = all.filter((m) => m > CUT);
    assert.ok(newer.includes("20261204123153_node_tokens"), "a real schema change follows the cut");

    srv = await startTestServer({ db });
    assert.match(srv.output(), /migrations: All migrations have been successfully applied/);
    const applied = (await queryDb<{ name: string }>(srv, `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1`)).map((r) => r.name);
    assert.deepEqual(applied, all, "every migration applied once");
    // the newer columns exist, with their defaults on the old rows
    const tok = await queryDb<{ node_name: string | null }>(srv, `SELECT node_name FROM agent_token ORDER BY id`);
    assert.deepEqual(tok.map((t) => t.node_name), [null, null]);
    const user = await queryDb<{ all_clusters: boolean }>(srv, `SELECT all_clusters FROM app_user`);
    assert.deepEqual(user, [{ all_clusters: true }], "an old user keeps seeing every cluster");

    await checkSeeded(dbUrlOf(srv), srv.url);

    // the server writes to the upgraded database: a new user and a session, signed in with
    const session = await srv.session("viewer");
    const me = await fetch(`${srv.url}/api/clusters`, { headers: { cookie: session.cookie } });
    assert.equal(me.status, 200);
  });
});
