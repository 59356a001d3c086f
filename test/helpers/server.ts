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
import { createLogger } from "../../server/log";
import { createTestDb, type TestDb } from "./db";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface TestServer {
  url: string;
  port: number;
  db: TestDb;
  /** everything the server printed */
  output(): string;
  token(cluster: string): Promise<string>;
  /** SIGKILL (default) or SIGTERM the server and wait for it to exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** start it again on the same port and database */
  restart(): Promise<void>;
  close(): Promise<void>;
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

  const ts: TestServer = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    db,
    output: () => out,
    async token(cluster) {
      const conn = await connectForCli({ databaseUrl: db.databaseUrl, dataDir: db.dataDir }, ROOT, createLogger("warn"));
      try {
        return (await createToken(conn.prisma, cluster)).token;
      } finally {
        await conn.close();
      }
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
