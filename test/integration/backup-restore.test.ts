/**
 * `npm run admin -- backup FILE` / `restore FILE` (issue 14) on a small database, run as the real CLI (child
 * process): fill it, back it up, change and destroy rows, restore (refused without --force while it holds
 * rows), start the server on the restored database and check the rows and the API; also a restore into an
 * empty database. PGlite pass: the data-directory dump, refused while the server runs on it. PostgreSQL pass:
 * the real pg_dump/pg_restore, the password kept off their command line.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { dbUrlOf, queryDb, ROOT, startTestServer, type TestServer } from "../helpers/server";
import { checkSeeded, seedHistory } from "../helpers/seed-history";
import { findTool, libpqConnection } from "../../server/db/backup";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-backup-"));
const file = path.join(tmp, testDbKind() === "pglite" ? "kam.tgz" : "kam.dump");
let db: TestDb;
let empty: TestDb | undefined;
let srv: TestServer | undefined;
let srv2: TestServer | undefined;

function admin(target: TestDb, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/admin.ts"), ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: target.databaseUrl, KAM_DATA_DIR: target.dataDir, ...env },
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

before(async () => {
  db = await createTestDb();
  srv = await startTestServer({ db });
  await seedHistory(dbUrlOf(srv));
});
after(async () => {
  await srv?.close();
  await srv2?.close();
  await db?.drop();
  await empty?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe(`backup and restore (${testDbKind()})`, () => {
  it("backs up, refuses to overwrite, restores over changed rows with --force only, and the server answers the restored data", { timeout: 240_000 }, async () => {
    if (db.kind === "pglite") {
      const running = await admin(db, ["backup", file]);
      assert.equal(running.code, 1, running.stderr);
      assert.match(running.stderr, /a server is running on the embedded database .*stop the server/);
      assert.equal(fs.existsSync(file), false);
      await srv!.kill("SIGTERM");
    }
    const b = await admin(db, ["backup", file]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /dumping \d+ rows in \d+ tables/);
    assert.match(b.stdout, /backup written: .* \(\d+(\.\d)? (B|KiB|MiB)/);
    assert.match(b.stdout, /not included: the channels' secrets key file/);
    assert.ok(fs.statSync(file).size > 0);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, "the backup is private to its owner");
    assert.equal(fs.readFileSync(file).subarray(0, 5).toString("latin1") === "PGDMP", db.kind === "postgres", "pg_dump's custom format on PostgreSQL");
    const again = await admin(db, ["backup", file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists: add --force to overwrite it/);

    // change and destroy: an incident deleted, a cluster renamed, one added
    if (db.kind === "pglite") await srv!.restart();
    await queryDb(srv!, `DELETE FROM incident WHERE kind = 'FAULT'`);
    await queryDb(srv!, `UPDATE cluster SET name = 'renamed' WHERE name = 'db'`);
    await queryDb(srv!, `INSERT INTO cluster (name) VALUES ('junk')`);
    // a table of a newer release (the database upgraded after the backup): gone after the restore
    await queryDb(srv!, `CREATE TABLE newer_release (id INT PRIMARY KEY)`);
    if (db.kind === "pglite") {
      const running = await admin(db, ["restore", file, "--force"]);
      assert.equal(running.code, 1);
      assert.match(running.stderr, /a server is running on the embedded database .*then run restore again/);
    }
    await srv!.kill("SIGTERM");

    const refused = await admin(db, ["restore", file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is not empty: \d+ rows in \d+ tables.*--force/);
    const r = await admin(db, ["restore", file, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replacing \d+ rows/);
    if (db.kind === "postgres") assert.match(r.stdout, /dropping 1 table\(s\) the backup does not have \(a newer schema\): newer_release/);
    assert.match(r.stdout, /restored: \d+ rows in \d+ tables/);
    if (db.kind === "pglite") assert.match(r.stdout, /previous database directory is kept as .*pglite\.before-restore-/);

    await srv!.restart();
    await checkSeeded(dbUrlOf(srv!), srv!.url);
    assert.deepEqual(await queryDb(srv!, `SELECT to_regclass('public.newer_release') IS NULL AS gone`), [{ gone: true }]);
  });

  it("restores into an empty database without --force, and a server started on it answers the data", { timeout: 180_000 }, async () => {
    empty = await createTestDb({ empty: true });
    const r = await admin(empty, ["restore", file]);
    assert.equal(r.code, 0, r.stderr);
    srv2 = await startTestServer({ db: empty });
    assert.match(srv2.output(), /migrations: none pending/, "the restored schema is the current one");
    await checkSeeded(dbUrlOf(srv2), srv2.url);
  });

  it("a file of the other kind is refused, naming both", async () => {
    const other = path.join(tmp, "other");
    fs.writeFileSync(other, db.kind === "pglite" ? "PGDMP..." : Buffer.from([0x1f, 0x8b, 0, 0, 0]));
    const r = await admin(db, ["restore", other]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, db.kind === "pglite" ? /is a pg_dump archive .* the target here is the embedded database/ : /is an embedded-database dump .* the target here is PostgreSQL/);
  });
});

describe("PostgreSQL connection for pg_dump/pg_restore", () => {
  it("names the package to install when pg_dump is not on PATH", () => {
    assert.throws(() => findTool("pg_dump", path.join(tmp, "no-such-dir")), /pg_dump is not on PATH: install .*apt-get install postgresql-client/);
  });

  it("warns when pg_dump is older than the server (a stand-in pg_dump: an old client is not installed here)", { skip: testDbKind() !== "postgres" }, async () => {
    const bin = path.join(tmp, "old-client");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "pg_dump"), `#!/bin/sh\n[ "$1" = --version ] && echo "pg_dump (PostgreSQL) 9.6.24" && exit 0\necho "pg_dump: error: aborting because of server version mismatch" >&2; exit 1\n`, { mode: 0o755 });
    const r = await admin(db, ["backup", path.join(tmp, "old.dump")], { PATH: `${bin}${path.delimiter}${process.env.PATH}` });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /warning: pg_dump 9 is older than the server \(\d+\) .*install postgresql-client-\d+/);
    assert.match(r.stderr, /server version mismatch[\s\S]*admin: pg_dump failed \(exit 1\)/);
    assert.equal(fs.existsSync(path.join(tmp, "old.dump")), false, "no partial file left");
  });

  it("takes the password off the URL into PGPASSWORD and drops parameters libpq does not know", () => {
    const c = libpqConnection("postgresql://kam:s%3Dcr%40t@db.example:5433/kam?sslmode=require&schema=public&connection_limit=5");
    assert.equal(c.url, "postgresql://kam@db.example:5433/kam?sslmode=require");
    assert.equal(c.env.PGPASSWORD, "s=cr@t");
    assert.equal(libpqConnection("postgresql://kam@h/kam").env.PGPASSWORD, undefined);
  });
});
