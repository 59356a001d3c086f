// `npm run db:diff -- NAME`: writes the SQL that takes the committed
// migrations to prisma/schema.prisma as prisma/migrations/<timestamp>_NAME/.
// Needs DATABASE_URL pointing at an EMPTY scratch PostgreSQL database (the JS
// schema engine replays the migrations there to compare).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: DATABASE_URL=postgresql://.../scratch npm run db:diff -- migration_name  (lowercase, digits, _)");
  process.exit(2);
}
if (!process.env.DATABASE_URL) {
  console.error("DATABASE_URL must point at an empty scratch database");
  process.exit(2);
}
const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
const r = spawnSync(process.execPath, [cli, "migrate", "diff", "--from-migrations", "prisma/migrations", "--to-schema-datamodel",
  "prisma/schema.prisma", "--script", "--shadow-database-url", process.env.DATABASE_URL], { encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  process.exit(r.status ?? 1);
}
if (!r.stdout.trim() || /This is an empty migration/.test(r.stdout)) {
  console.log("schema and migrations agree: nothing to write");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
const dir = path.join("prisma/migrations", `${stamp}_${name}`);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "migration.sql"), r.stdout);
console.log(`wrote ${dir}/migration.sql`);
