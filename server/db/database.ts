/** Opens the history store: PostgreSQL from DATABASE_URL, or the embedded PGlite. */
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client";
import type { Logger } from "../log";
import { startEmbedded, type EmbeddedDb } from "./embedded";
import { applyMigrations } from "./migrate";

export type Db = PrismaClient;

export interface Database {
  prisma: PrismaClient;
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
    const status = await applyMigrations(url, opts.cwd);
    const where = kind === "pglite" ? `embedded:${opts.dataDir}` : describeUrl(url);
    opts.log.info({ db: kind, url: where, ms: Date.now() - t }, `migrations: ${status}`);
  } catch (e) {
    await embedded?.close();
    throw e;
  }
  // PGlite is ONE PostgreSQL session behind the socket: its server interleaves
  // the protocol messages of concurrent connections, which breaks the unnamed
  // statements of the extended protocol. So the embedded database gets exactly
  // one pooled connection (queries queue in the pool instead).
  const adapter = new PrismaPg({ connectionString: url, max: kind === "pglite" ? 1 : 10 });
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    kind,
    url,
    async close() {
      await prisma.$disconnect();
      await embedded?.close();
    },
  };
}
