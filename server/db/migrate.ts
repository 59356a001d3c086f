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
import { createRequire } from "node:module";
import path from "node:path";

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
