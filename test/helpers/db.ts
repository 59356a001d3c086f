/**
 * Test databases. KAM_TEST_DB=postgres (set by scripts/test.mjs when
 * TEST_DATABASE_URL is given) creates a fresh database on that real
 * PostgreSQL server per call and drops it afterwards; otherwise each call
 * gets its own embedded PGlite data directory.
 *
 * Each starts as a copy of a template with the committed migrations applied
 * (made once per machine and set of migrations, keyed by their hash): the
 * server then finds nothing pending and skips the Prisma CLI, and PGlite its
 * initdb, about 5 s per server start in every test file. `{ empty: true }`
 * gives an empty database (the tests of the migrations themselves).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { applyMigrations, committedMigrations } from "../../server/db/migrate";
import { startEmbedded } from "../../server/db/embedded";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface TestDb {
  kind: "postgres" | "pglite";
  /** DATABASE_URL for the server ("" = embedded) */
  databaseUrl: string;
  dataDir: string;
  drop(): Promise<void>;
}

export function testDbKind(): "postgres" | "pglite" {
  return process.env.KAM_TEST_DB === "postgres" && process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
}

/** the committed migrations and the PGlite version: a template made from others is never used */
function templateKey(): string {
  const h = createHash("sha256");
  // the PGlite release (its data directory format): its package.json, found from its entry point (not exported)
  let dir0 = path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  while (!fs.existsSync(path.join(dir0, "package.json"))) dir0 = path.dirname(dir0);
  h.update(fs.readFileSync(path.join(dir0, "package.json")));
  for (const m of committedMigrations(ROOT)) h.update(m.name).update(m.checksum);
  return h.digest("hex").slice(0, 12);
}

/** a migrated PGlite data directory (its `pglite` subdirectory), made once: copy it, never open it */
async function pgliteTemplate(): Promise<string> {
  const dir = path.join(os.tmpdir(), `kam-test-pglite-template-${templateKey()}`);
  if (fs.existsSync(path.join(dir, "ready"))) return path.join(dir, "pglite");
  const build = fs.mkdtempSync(path.join(os.tmpdir(), "kam-test-pglite-build-"));
  const e = await startEmbedded(build);
  try {
    await applyMigrations(e.url, ROOT);
  } finally {
    await e.close();
  }
  fs.rmSync(path.join(build, "run"), { recursive: true, force: true });
  fs.writeFileSync(path.join(build, "ready"), "");
  try {
    fs.renameSync(build, dir);
  } catch {
    fs.rmSync(build, { recursive: true, force: true }); // another process made it meanwhile
  }
  return path.join(dir, "pglite");
}

/** a migrated template database on the TEST_DATABASE_URL server, made once */
async function pgTemplate(c: pg.Client, admin: string): Promise<string> {
  const name = `kam_template_${templateKey()}`;
  if ((await c.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount) return name;
  const build = `kam_template_build_${randomBytes(4).toString("hex")}`;
  await c.query(`CREATE DATABASE ${build}`);
  const u = new URL(admin);
  u.pathname = `/${build}`;
  await applyMigrations(u.toString(), ROOT);
  try {
    await c.query(`ALTER DATABASE ${build} RENAME TO ${name}`);
  } catch {
    await c.query(`DROP DATABASE IF EXISTS ${build}`); // another process made it meanwhile
  }
  return name;
}

/** kind: this one instead of KAM_TEST_DB's (the benchmarks run some rows on both) */
export async function createTestDb(opts: { empty?: boolean; kind?: "postgres" | "pglite" } = {}): Promise<TestDb> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-test-"));
  if ((opts.kind ?? testDbKind()) === "pglite") {
    if (!opts.empty) fs.cpSync(await pgliteTemplate(), path.join(dataDir, "pglite"), { recursive: true });
    return { kind: "pglite", databaseUrl: "", dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error("a PostgreSQL test database needs TEST_DATABASE_URL");
  const name = `kam_t_${randomBytes(6).toString("hex")}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(opts.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${await pgTemplate(c, admin)}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    kind: "postgres",
    databaseUrl: u.toString(),
    dataDir,
    async drop() {
      const c2 = new pg.Client({ connectionString: admin });
      await c2.connect();
      await c2.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c2.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
