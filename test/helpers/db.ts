/**
 * Test databases. KAM_TEST_DB=postgres (set by scripts/test.mjs when
 * TEST_DATABASE_URL is given) creates a fresh database on that real
 * PostgreSQL server per call and drops it afterwards; otherwise each call
 * gets an empty embedded PGlite data directory.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";

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

export async function createTestDb(): Promise<TestDb> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-test-"));
  if (testDbKind() === "pglite") {
    return { kind: "pglite", databaseUrl: "", dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `kam_t_${randomBytes(6).toString("hex")}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
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
