/** Direct database access for the benchmarks: tokens in bulk, counting, seeding. */
import pg from "pg";
import { connectForCli } from "../../server/db/connect-cli";
import { findRunningEmbedded } from "../../server/db/embedded";
import { createToken } from "../../server/ingest/tokens";
import { createLogger } from "../../server/log";
import { ROOT, type TestServer } from "../../test/helpers/server";

/** connection string of the server's database (the embedded one through the running server's socket) */
export function dbUrl(srv: TestServer): string {
  const url = srv.db.databaseUrl || findRunningEmbedded(srv.db.dataDir);
  if (!url) throw new Error("the embedded database is not served (is the server running?)");
  return url;
}

export async function pgClient(srv: TestServer): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: dbUrl(srv) });
  c.on("error", (e) => console.error(`[bench] database connection: ${e.message}`));
  await c.connect();
  return c;
}

/** one token per cluster name (creating the clusters), through one connection */
export async function createTokens(srv: TestServer, clusters: string[]): Promise<Map<string, string>> {
  const conn = await connectForCli({ databaseUrl: srv.db.databaseUrl, dataDir: srv.db.dataDir }, ROOT, createLogger("warn"));
  const out = new Map<string, string>();
  try {
    for (const c of clusters) out.set(c, (await createToken(conn.prisma, c)).token);
  } finally {
    await conn.close();
  }
  return out;
}
