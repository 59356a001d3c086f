/** Opens the history store: PostgreSQL from DATABASE_URL, or the embedded PGlite. */
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client";
import type { Logger } from "../log";
import { startEmbedded, type EmbeddedDb } from "./embedded";
import { applyMigrations, pendingMigrations } from "./migrate";

export type Db = PrismaClient;

/**
 * The `pg` pool under a Prisma client. The hot paths (batch storage, liveness
 * writes, the timeline and incident-list queries) run their SQL on it directly:
 * the Prisma client's own CPU per call (its JS and WASM query interpreter) was
 * the largest part of their cost (docs/PERFORMANCE.md). Same pool, so the
 * embedded database still sees exactly one connection.
 */
// On the client object under a global symbol: Next bundles app/ (the route
// handlers) separately, so a module-level map would not be shared with them.
const POOL = Symbol.for("kam.pgPool");

/** A Prisma client over `pool` (registered for sqlOf). */
export function clientOnPool(pool: pg.Pool): PrismaClient {
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  Object.defineProperty(prisma, POOL, { value: pool });
  return prisma;
}

/** The pool under a client made by clientOnPool() (openDatabase, connectForCli). */
export function sqlOf(db: Db): pg.Pool {
  const p = (db as unknown as Record<symbol, pg.Pool | undefined>)[POOL];
  if (!p) throw new Error("this Prisma client has no registered pg pool: create it with clientOnPool()");
  return p;
}

const PREPARE = Symbol.for("kam.pgPrepare");

/**
 * Whether the hot paths should run their statements as named (server-side prepared) statements on this pool:
 * on the embedded PGlite, parsing and planning the batch statement (ten CTEs) was about half of a small batch's
 * cost, and that on the one thread PostgreSQL has there (docs/PERFORMANCE.md, "Embedded PGlite"). Not on an
 * external PostgreSQL, where it is cheap and a transaction-pooling proxy in front may not keep named statements.
 */
export function preparesStatements(pool: pg.Pool): boolean {
  return (pool as unknown as Record<symbol, boolean | undefined>)[PREPARE] === true;
}

/**
 * A query function that runs `text` as a named prepared statement on this connection (parsed and planned once
 * per connection), when the pool prepares statements (preparesStatements), else as an ordinary query.
 * The name carries a per-connection number: PGlite is one PostgreSQL session behind its socket, so a statement
 * prepared by a connection that has since closed is still there, and a new connection must not reuse its name.
 */
export function preparedQuery(pool: pg.Pool, client: pg.PoolClient, name: string): (text: string, values?: unknown[]) => Promise<pg.QueryResult> {
  if (!preparesStatements(pool)) return (text, values) => client.query(text, values);
  let id = connectionIds.get(client);
  if (id === undefined) connectionIds.set(client, (id = ++connectionSeq));
  const full = `${name}.${id}`;
  return (text, values) => client.query({ name: full, text, values });
}
const connectionIds = new WeakMap<object, number>();
let connectionSeq = 0;

/**
 * The server's pool. PGlite is ONE PostgreSQL session behind the socket: its server interleaves the protocol
 * messages of concurrent connections, which breaks the unnamed statements of the extended protocol. So the
 * embedded database gets exactly one pooled connection (queries queue in the pool instead), on which the hot
 * paths prepare their statements (preparesStatements).
 */
export function openPool(url: string, kind: "postgres" | "pglite"): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: kind === "pglite" ? 1 : 10 });
  if (kind === "pglite") Object.defineProperty(pool, PREPARE, { value: true });
  return pool;
}

export interface Database {
  prisma: PrismaClient;
  /** the pool under `prisma` (see sqlOf) */
  pool: pg.Pool;
  kind: "postgres" | "pglite";
  url: string;
  close(): Promise<void>;
}

/** Host part of a connection string, for logs (never the password). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? u.username + "@" : ""}${u.host}${u.pathname}`;
  } catch {
    return "(unparseable url)";
  }
}

export async function openDatabase(opts: { databaseUrl: string; dataDir: string; cwd: string; log: Logger }): Promise<Database> {
  let embedded: EmbeddedDb | null = null;
  let url = opts.databaseUrl;
  const kind = url ? "postgres" : "pglite";
  if (!url) {
    embedded = await startEmbedded(opts.dataDir);
    url = embedded.url;
    opts.log.info({ dataDir: opts.dataDir }, "embedded PGlite database started (set DATABASE_URL to use a PostgreSQL server)");
  }
  try {
    const t = Date.now();
    // nothing pending (every restart of an installed server): no need to start the Prisma CLI
    const pending = await pendingMigrations(url, opts.cwd).catch((e: unknown) => {
      opts.log.warn({ err: e }, "could not read the applied migrations: running prisma migrate deploy");
      return null;
    });
    const status = pending?.length === 0 ? "none pending (every committed migration is applied)" : await applyMigrations(url, opts.cwd);
    const where = kind === "pglite" ? `embedded:${opts.dataDir}` : describeUrl(url);
    opts.log.info({ db: kind, url: where, ms: Date.now() - t }, `migrations: ${status}`);
  } catch (e) {
    await embedded?.close();
    throw e;
  }
  const pool = openPool(url, kind);
  pool.on("error", (e) => opts.log.warn({ err: e }, "idle database connection failed"));
  const prisma = clientOnPool(pool);
  return {
    prisma,
    pool,
    kind,
    url,
    async close() {
      await prisma.$disconnect();
      await pool.end();
      await embedded?.close();
    },
  };
}
