// Generates the Prisma client into server/generated/prisma (git-ignored).
// npm 11 does not run dependencies' install scripts, so the project runs this
// itself (postinstall). The Prisma CLI insists on DATABASE_URL being set even
// for `generate`, which never connects: a placeholder is given when unset.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cli = require.resolve("prisma/build/index.js");
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL || "postgresql://generate-only@127.0.0.1:1/none",
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};
const r = spawnSync(process.execPath, [cli, "generate"], { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  console.error("prisma generate failed: see the output above");
  process.exit(r.status ?? 1);
}
console.log("prisma client generated (server/generated/prisma)");
