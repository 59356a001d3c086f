/**
 * Applies the committed migrations (prisma/migrations) with `prisma migrate
 * deploy`, run as a child process through the JS schema engine and the pg
 * driver adapter (prisma.config.ts).
 *
 * The CLI finishes its work in a fraction of a second but then lingers about
 * 10 s before exiting (a pending timer inside the CLI); we wait for its final
 * status line, then end it, instead of making every start 10 s slower.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";

const require = createRequire(import.meta.url);
const DONE = /All migrations have been successfully applied|No pending migrations to apply/;

export class MigrationError extends Error {}

export function applyMigrations(databaseUrl: string, cwd: string, timeoutMs = 120_000): Promise<string> {
  const cli = require.resolve("prisma/build/index.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "migrate", "deploy", "--config", path.join(cwd, "prisma.config.ts")], {
      cwd,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(out.trim().split("\n").pop() ?? "");
    };
    const onData = (b: Buffer) => {
      out += b.toString();
      if (DONE.test(out)) {
        finish(null);
        child.kill("SIGTERM");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (e) => finish(new MigrationError(`cannot run prisma migrate deploy: ${e.message}`)));
    child.on("exit", (code) => {
      if (code === 0 || DONE.test(out)) finish(null);
      else finish(new MigrationError(`prisma migrate deploy failed (exit ${code}):\n${out.trim()}`));
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new MigrationError(`prisma migrate deploy did not finish within ${timeoutMs / 1000} s:\n${out.trim()}`));
    }, timeoutMs);
  });
}

/**
 * The committed migrations (prisma/migrations/<name>/migration.sql) this database has not applied, or
 * null when Prisma must look itself: no `_prisma_migrations` table yet is "all pending"; a failed or
 * rolled-back attempt, or an applied migration whose checksum (SHA-256 of its migration.sql, as Prisma
 * records it) differs from the committed file, is null (`prisma migrate deploy` reports those).
 * One query on one connection: a restart with nothing pending skips the CLI (about 3 to 5 s per start).
 */
/** the committed migrations (prisma/migrations/<name>/migration.sql), by name, with Prisma's checksum */
export function committedMigrations(cwd: string): { name: string; checksum: string }[] {
  const dir = path.join(cwd, "prisma/migrations");
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => ({ name: d.name, checksum: createHash("sha256").update(fs.readFileSync(path.join(dir, d.name, "migration.sql"))).digest("hex") }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function pendingMigrations(databaseUrl: string, cwd: string): Promise<string[] | null> {
  const committed = committedMigrations(cwd);
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const t = await c.query<{ ok: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS ok`);
    if (!t.rows[0]?.ok) return committed.map((m) => m.name);
    const rows = (
      await c.query<{ name: string; checksum: string; done: boolean; rolled: boolean }>(
        `SELECT migration_name AS name, checksum, finished_at IS NOT NULL AS done, rolled_back_at IS NOT NULL AS rolled FROM _prisma_migrations`,
      )
    ).rows;
    if (rows.some((r) => !r.done && !r.rolled)) return null;
    const applied = new Map(rows.filter((r) => r.done && !r.rolled).map((r) => [r.name, r.checksum]));
    if (committed.some((m) => applied.has(m.name) && applied.get(m.name) !== m.checksum)) return null;
    return committed.filter((m) => !applied.has(m.name)).map((m) => m.name);
  } finally {
    await c.end();
  }
}
