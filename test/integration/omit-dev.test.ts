/**
 * A production install (issue 14): after a build, what a deployment ships (package.json, package-lock.json, the
 * build outputs dist/ and .next/, bin/, scripts/, public/, prisma/ and the two config files; no TypeScript
 * sources) installed with `npm install --omit=dev --offline` (from the npm cache: no network) has no build tools
 * (esbuild, tsx: devDependencies), and `npm start` there runs the compiled server without building: /api/health
 * and the sign-in page answer, kam-admin runs, SIGTERM stops it.
 *
 * About a minute and a half (mostly npm install). It is about packaging, not the database: it runs on the embedded
 * database, in the PGlite pass of `npm test` only (skipped in the PostgreSQL pass).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../server/paths";
import { testDbKind } from "../helpers/db";
import { startCommand } from "../helpers/start-command";

/** what a deployment of the built product holds (README "Deploying the server") */
const SHIPPED = ["package.json", "package-lock.json", "next.config.mjs", "prisma.config.ts", "bin", "scripts", "public", "prisma", "dist", ".next"];

const copy = fs.mkdtempSync(path.join(os.tmpdir(), "kam-omit-dev-"));
const dataDir = path.join(copy, "data");
after(() => fs.rmSync(copy, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, DATABASE_URL: "", KAM_DATA_DIR: dataDir }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe("npm install --omit=dev after a build", { skip: testDbKind() === "postgres" && "packaging: run once, in the PGlite pass", timeout: 600_000 }, () => {
  before(async () => {
    const { ensureBuild } = (await import("../../scripts/ensure-build.mjs")) as { ensureBuild(): void };
    ensureBuild();
    // cp -a, as a deployment copies (or tar, rsync -a): times kept, directories' too (fs.cpSync does not keep
    // theirs), so the build stays newer than its sources; Next's cache is not shipped
    execFileSync("cp", ["-a", ...SHIPPED, copy], { cwd: ROOT });
    fs.rmSync(path.join(copy, ".next", "cache"), { recursive: true, force: true });
  });

  it("installs without the build tools, and npm start serves from the build", async () => {
    const install = await run("npm", ["install", "--omit=dev", "--offline", "--no-audit", "--no-fund"], copy);
    assert.equal(install.code, 0, `npm install --omit=dev failed:\n${install.stdout}\n${install.stderr}`);
    // (@types/node and typescript are there: engine.io and @prisma/client depend on them)
    for (const dev of ["esbuild", "tsx", "eslint", "@tailwindcss/postcss"]) {
      assert.equal(fs.existsSync(path.join(copy, "node_modules", dev)), false, `${dev} (a devDependency) was installed`);
    }
    for (const dep of ["next", "socket.io", "@electric-sql/pglite", "@prisma/client", "prisma"]) {
      assert.ok(fs.existsSync(path.join(copy, "node_modules", dep, "package.json")), `${dep} is installed`);
    }

    const admin = await run(process.execPath, [path.join(copy, "bin/kam-admin.mjs"), "--version"], copy);
    assert.deepEqual([admin.code, admin.stderr], [0, ""]);

    const s = await startCommand("npm", ["start", "--silent", "--"], { cwd: copy, env: { ...process.env, DATABASE_URL: "", KAM_DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: "1" } });
    try {
      const health = await fetch(`http://127.0.0.1:${s.port}/api/health`);
      assert.deepEqual(await health.json(), { ok: true, db: "pglite" });
      const login = await fetch(`http://127.0.0.1:${s.port}/login`);
      assert.equal(login.status, 200);
      assert.match(await login.text(), /<html/i);
      // nothing was built or rebuilt at start, and nothing was found stale
      assert.doesNotMatch(s.output(), /building:|older than its sources|built before/, s.output());
      assert.match(s.output(), /keepalived monitor listening/);
    } finally {
      s.child.kill("SIGTERM");
    }
    const { code, signal } = await s.exited;
    assert.ok(code === 0 || signal === "SIGTERM", `npm start ended with ${JSON.stringify({ code, signal })}:\n${s.output()}`);
  });
});
