// `npm test`: builds what the tests run (web UI, agent bundle), type-checks the
// whole project, then runs the unit, integration and browser tests with node's test runner. Integration
// tests run on the embedded PGlite database, and a second time on a real
// PostgreSQL server when TEST_DATABASE_URL is set.
// `npm run test:e2e` (argument "e2e") runs the real-keepalived suite instead.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureBuild, root } from "./ensure-build.mjs";

const list = (dir) =>
  fs.existsSync(path.join(root, dir))
    ? fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(".test.ts")).sort().map((f) => path.join(dir, f))
    : [];

function run(label, files, env = {}) {
  if (files.length === 0) return 0;
  console.log(`\n=== ${label} (${files.length} files) ===`);
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
  });
  return r.status ?? 1;
}

ensureBuild();
const agent = spawnSync(process.execPath, [path.join(root, "agent/build.mjs")], { cwd: root, stdio: "inherit" });
if (agent.status !== 0) process.exit(agent.status ?? 1);

let failed = 0;
if (process.argv[2] === "e2e") {
  failed += run("end-to-end: real keepalived", list("test/e2e"));
} else {
  // every TypeScript file (server, agent, app, components, tests, bench, lab) type-checks, or nothing else runs:
  // a test helper or a bench that no test imports would otherwise rot unseen
  console.log("\n=== typecheck (tsc --noEmit over the whole project) ===");
  const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root], { cwd: root, stdio: "inherit" });
  if (tsc.status !== 0) {
    console.log("\ntypecheck failed: fix the errors above (npm run typecheck)");
    process.exit(tsc.status ?? 1);
  }
  console.log("typecheck: no errors");
  failed += run("unit", list("test/unit")) ? 1 : 0;
  failed += run("integration on embedded PGlite", list("test/integration"), { KAM_TEST_DB: "pglite" }) ? 1 : 0;
  if (process.env.TEST_DATABASE_URL) {
    failed += run("integration on PostgreSQL (TEST_DATABASE_URL)", list("test/integration"), { KAM_TEST_DB: "postgres" }) ? 1 : 0;
  } else {
    console.log("\n(integration on a PostgreSQL server skipped: set TEST_DATABASE_URL=postgresql://... to run it too)");
  }
  failed += run("browser (headless Chromium)", list("test/browser")) ? 1 : 0;
}
console.log(failed ? `\n${failed} suite(s) failed` : "\nall suites passed");
process.exit(failed ? 1 : 0);
