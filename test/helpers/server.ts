/**
 * Boots the REAL server (Next + socket.io + database) as a child process on a
 * random loopback port, the way `npm start` runs it, so tests can also kill
 * it (SIGKILL) and start it again on the same port and database.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connectForCli } from "../../server/db/connect-cli";
import { createToken } from "../../server/ingest/tokens";
import { randomBytes } from "node:crypto";
import { createSession, createUser, createWallToken } from "../../server/auth/store";
import { csrfTokenFor } from "../../server/auth/csrf";
import type { Role } from "../../server/auth/roles";
import type { Db } from "../../server/db/database";
import { createLogger } from "../../server/log";
import { createTestDb, type TestDb } from "./db";
import pg from "pg";
import { findRunningEmbedded } from "../../server/db/embedded";
import { HELP } from "../../server/metrics";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface TestServer {
  url: string;
  port: number;
  db: TestDb;
  /** everything the server printed */
  output(): string;
  /** an agent token for `node` of `cluster`; without `node` a legacy cluster token (any new node name) */
  token(cluster: string, node?: string): Promise<string>;
  /** a user with a random password (real scrypt hash in the server's database) */
  user(role: Role, name?: string): Promise<{ name: string; password: string }>;
  /**
   * A signed-in session of a new user of that role, created with the server's own
   * session store: `cookie` for a Cookie header, `csrf` for x-csrf-token.
   */
  session(role?: Role): Promise<TestSession>;
  /** runs fn with a Prisma client on the server's database (through its socket for the embedded one) */
  withPrisma<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** a NOC wall token (the secret for /wall?token=) */
  wallToken(name?: string): Promise<{ id: number; token: string }>;
  /** SIGKILL (default) or SIGTERM the server and wait for it to exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** start it again on the same port and database */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface TestSession {
  user: string;
  /** the cookie's value */
  secret: string;
  /** "kam_session=..." */
  cookie: string;
  csrf: string;
}

export interface TestServerOptions {
  db?: TestDb;
  env?: Record<string, string>;
}

function spawnServer(db: TestDb, port: number, env: Record<string, string>, sink: (s: string) => void) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "server/main.ts"), "--port", String(port), "--host", "127.0.0.1"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        DATABASE_URL: db.databaseUrl,
        KAM_DATA_DIR: db.dataDir,
        LOG_LEVEL: "info",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const ready = new Promise<{ port: number; scheme: string }>((resolve, reject) => {
    let buf = "";
    const onData = (b: Buffer) => {
      const s = b.toString();
      sink(s);
      buf += s;
      const m = /listening on (https?):\/\/[^:]+:(\d+)/.exec(buf);
      if (m) resolve({ port: Number(m[2]), scheme: m[1] });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited (code ${code}) before listening:\n${buf.slice(-3000)}`)));
    setTimeout(() => reject(new Error(`server not listening after 120 s:\n${buf.slice(-3000)}`)), 120_000).unref();
  });
  return { child, ready };
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const db = opts.db ?? (await createTestDb());
  const ownDb = !opts.db;
  let out = "";
  const sink = (s: string) => {
    out += s;
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  let { child, ready } = spawnServer(db, 0, opts.env ?? {}, sink);
  const { port, scheme } = await ready;
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once("exit", () => r()));

  const withDb = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const conn = await connectForCli({ databaseUrl: db.databaseUrl, dataDir: db.dataDir }, ROOT, createLogger("warn"));
    try {
      return await fn(conn.prisma);
    } finally {
      await conn.close();
    }
  };
  const ts: TestServer = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    db,
    output: () => out,
    async token(cluster, node) {
      const conn = await connectForCli({ databaseUrl: db.databaseUrl, dataDir: db.dataDir }, ROOT, createLogger("warn"));
      try {
        return (await createToken(conn.prisma, cluster, "", node)).token;
      } finally {
        await conn.close();
      }
    },
    withPrisma: (fn) => withDb(fn),
    async user(role, name) {
      const password = randomBytes(12).toString("base64url");
      const n = name ?? `${role}-${randomBytes(3).toString("hex")}`;
      await withDb(async (db) => createUser(db, n, role, password));
      return { name: n, password };
    },
    async session(role = "admin") {
      const { name } = await ts.user(role);
      return withDb(async (db) => {
        const u = await db.user.findUniqueOrThrow({ where: { name } });
        const { secret } = await createSession(db, { userId: u.id }, { idleMs: 12 * 3600_000, maxMs: 7 * 86400_000, wallMaxMs: 30 * 86400_000 });
        return { user: name, secret, cookie: `kam_session=${secret}`, csrf: csrfTokenFor(secret) };
      });
    },
    async wallToken(name = "noc") {
      return withDb((db) => createWallToken(db, name, "test"));
    },
    async kill(signal = "SIGKILL") {
      const done = exited(child);
      child.kill(signal);
      await done;
    },
    async restart() {
      await ts.kill("SIGTERM");
      ({ child, ready } = spawnServer(db, port, opts.env ?? {}, sink));
      await ready;
    },
    async close() {
      await ts.kill("SIGTERM");
      if (ownDb) await db.drop();
    },
  };
  // restart() after kill(): allow restarting a dead server too
  const origRestart = ts.restart;
  ts.restart = async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      ({ child, ready } = spawnServer(db, port, opts.env ?? {}, sink));
      await ready;
      return;
    }
    await origRestart();
  };
  return ts;
}

/** A connection string for the server's database (its socket while the embedded one runs). */
export function dbUrlOf(srv: Pick<TestServer, "db">): string {
  const url = srv.db.databaseUrl || findRunningEmbedded(srv.db.dataDir);
  if (!url) throw new Error(`the test server's database is not reachable (no running embedded database in ${srv.db.dataDir})`);
  return url;
}

/** One SQL statement on a database, on a connection of its own, for assertions on what was stored. */
export async function queryUrl<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** One SQL statement on a test server's database. */
export function queryDb<T = Record<string, unknown>>(srv: Pick<TestServer, "db">, sql: string, params: unknown[] = []): Promise<T[]> {
  return queryUrl<T>(dbUrlOf(srv), sql, params);
}

/** the value of one /metrics series of a test server: exact name and labels (in the server's order; none: `name` alone), 0 when absent */
export async function metricOf(srv: Pick<TestServer, "url">, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const want = pairs.length ? `${name}{${pairs.join(",")}}` : name;
  const line = text.split("\n").find((l) => l.startsWith(want + " "));
  if (line) return Number(line.slice(want.length + 1));
  // a counter shows no series until it first counts: 0 for a family the server declares; a misspelt name is an error
  if (!(name in HELP)) throw new Error(`metricOf: ${name} is not a metric family the server exposes (server/metrics.ts HELP)`);
  return 0;
}
