/**
 * Database access for command-line tools (token management, demo): the
 * PostgreSQL server of DATABASE_URL, or the embedded database, through the
 * running server's socket when it runs, else opened directly.
 */
import pg from "pg";
import type { PrismaClient } from "../generated/prisma/client";
import { loadServerConfig, type ServerConfig } from "../config";
import { createLogger, type Logger } from "../log";
import { ROOT } from "../paths";
import { findRunningEmbedded } from "./embedded";
import { clientOnPool, openDatabase } from "./database";

export async function connectForCli(
  config: Pick<ServerConfig, "databaseUrl" | "dataDir">,
  cwd: string,
  log: Logger,
): Promise<{ prisma: PrismaClient; close(): Promise<void> }> {
  const url = config.databaseUrl || findRunningEmbedded(config.dataDir);
  if (url) {
    // one connection: see database.ts on PGlite sessions
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const prisma = clientOnPool(pool);
    return {
      prisma,
      async close() {
        await prisma.$disconnect();
        await pool.end();
      },
    };
  }
  // nobody serves the embedded database: open it here (this applies migrations too)
  const db = await openDatabase({ databaseUrl: "", dataDir: config.dataDir, cwd, log });
  return { prisma: db.prisma, close: () => db.close() };
}

/**
 * Runs fn on the database the server would use (DATABASE_URL, or the embedded one under KAM_DATA_DIR),
 * then closes it: what `npm run admin` and `npm run token` work on.
 */
export async function withCliDatabase<T>(fn: (db: PrismaClient) => Promise<T>, env: Record<string, string | undefined> = process.env): Promise<T> {
  const conn = await connectForCli(loadServerConfig([], env), ROOT, createLogger(env.LOG_LEVEL ?? "warn"));
  try {
    return await fn(conn.prisma);
  } finally {
    await conn.close();
  }
}
