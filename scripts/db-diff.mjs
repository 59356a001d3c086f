// `npm run db:diff -- NAME`: writes the SQL that takes the database from the
// last migration to prisma/schema.prisma as prisma/migrations/<timestamp>_NAME/,
// then records the schema it was made from (prisma/migrations/schema.snapshot.prisma).
// The JS schema engine cannot diff against migrations or a live database
// (prisma#27403 and its limits with driver adapters), but it can diff two
// datamodels, which is what this does. It still opens a connection through
// the adapter (DATABASE_URL: any reachable PostgreSQL; nothing is changed there).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:diff -- migration_name   (lowercase letters, digits, _)");
  process.exit(2);
}
if (!process.env.DATABASE_URL) {
  console.error("set DATABASE_URL to any reachable PostgreSQL database (the schema engine connects; nothing is changed)");
  process.exit(2);
}
const snapshot = "prisma/migrations/schema.snapshot.prisma";
const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
const env = { ...process.env, CHECKPOINT_DISABLE: "1" };
const r = spawnSync(process.execPath, [cli, "migrate", "diff", "--from-schema-datamodel", snapshot, "--to-schema-datamodel",
  "prisma/schema.prisma", "--script"], { encoding: "utf8", env });
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
fs.copyFileSync("prisma/schema.prisma", snapshot);
console.log(`wrote ${dir}/migration.sql (review it, then commit it with the schema)`);
