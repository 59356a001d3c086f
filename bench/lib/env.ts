/**
 * Benchmark environment: quick mode, which database, the server child
 * process (and its pid, for /proc figures), CPU profiles on request.
 *
 * - BENCH_QUICK=1: smaller counts and shorter windows (a smoke run).
 * - TEST_DATABASE_URL: a PostgreSQL server; each benchmark gets a fresh
 *   database on it (test/helpers/db.ts). Unset: embedded PGlite, and the
 *   figures are marked "(PGlite)".
 * - BENCH_PROFILE=1: servers run under the V8 CPU profiler; profiles land in
 *   bench-results/profiles/ and their top functions are printed.
 */
import fs from "node:fs";
import path from "node:path";
import { startTestServer, ROOT, type TestServer, type TestServerOptions } from "../../test/helpers/server";
import { createTestDb, testDbKind } from "../../test/helpers/db";
import { summarizeProfiles } from "./profile";

export const QUICK = process.env.BENCH_QUICK === "1";
/** choose by quick mode */
export const q = <T>(full: T, quick: T): T => (QUICK ? quick : full);

if (process.env.TEST_DATABASE_URL && !process.env.KAM_TEST_DB) process.env.KAM_TEST_DB = "postgres";

export type DbKind = "postgres" | "pglite";
export const DB_KIND: DbKind = testDbKind();
/** appended to figure names when they were not measured on PostgreSQL */
export const dbMark = (kind: DbKind) => (kind === "postgres" ? "" : " (PGlite)");
export const DB_MARK = dbMark(DB_KIND);
/**
 * The databases of the rows that run on both (ingest, latency): PGlite is what `npm start` gives a new user,
 * PostgreSQL what production runs (issue 17). PGlite alone without TEST_DATABASE_URL; BENCH_DBS=postgres or
 * =pglite runs one.
 */
export const BOTH_DBS: DbKind[] = (DB_KIND === "postgres" ? (["postgres", "pglite"] as const) : (["pglite"] as const)).filter(
  (k) => !process.env.BENCH_DBS || process.env.BENCH_DBS.split(",").includes(k),
);
/**
 * A second connection next to the server's is safe on PostgreSQL only: the
 * embedded PGlite is one session behind its socket (see ARCHITECTURE.md), so
 * the benchmarks then skip what needs direct SQL (COPY baseline, counts, stages).
 */
export const DIRECT_SQL = DB_KIND === "postgres";
export const directSql = (kind: DbKind) => kind === "postgres";

export function dbNotice(): string {
  return DB_KIND === "postgres"
    ? `PostgreSQL at ${redact(process.env.TEST_DATABASE_URL!)} (a fresh database per benchmark)`
    : "TEST_DATABASE_URL is not set: figures are on the embedded PGlite and marked (PGlite); set TEST_DATABASE_URL=postgresql://... for the real targets";
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

export const step = (s: string) => console.log(`[bench] ${s}`);

/**
 * Cleanups of what is running (servers, agents, journald, databases): run in
 * reverse order when the benchmark is interrupted (SIGINT/SIGTERM), so an
 * interrupted run leaves nothing behind.
 */
const cleanups = new Set<() => Promise<void> | void>();
export function onInterrupt(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}
let interrupted = false;
process.on("uncaughtException", (e) => {
  console.error("[bench] uncaught exception:", e);
  if (interrupted) process.exit(1);
  interrupted = true;
  void (async () => {
    for (const fn of [...cleanups].reverse()) await Promise.resolve().then(fn).catch(() => {});
    process.exit(1);
  })();
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`[bench] ${sig}: cleaning up...`);
    void (async () => {
      for (const fn of [...cleanups].reverse()) await Promise.resolve().then(fn).catch(() => {});
      process.exit(130);
    })();
  });
}

export interface BenchServerOptions extends TestServerOptions {
  /** the database kind (default DB_KIND); ignored when `db` is given */
  kind?: DbKind;
}

export interface BenchServer extends TestServer {
  pid: number;
}

/** pid of the process listening on a loopback TCP port (from /proc/net/tcp and /proc/<pid>/fd) */
export function pidOfPort(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = fs.readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length > 9 && c[1].endsWith(`:${hex}`) && c[3] === "0A") inodes.add(c[9]);
    }
  }
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  throw new Error(`no process listens on port ${port}`);
}

let profileSeq = 0;

/** Start the real server (child process) with the benchmark's database; optionally CPU-profiled. */
export async function startBenchServer(label: string, opts: BenchServerOptions = {}): Promise<BenchServer> {
  // LOG_LEVEL stays info (production default): the helper waits for the "listening" line
  // many simulated browsers share one loopback address: lift the per-address /live limit
  const env: Record<string, string> = { KAM_LIVE_CONNECTIONS_PER_IP: "100000", ...(opts.env ?? {}) };
  let profDir: string | null = null;
  if (process.env.BENCH_PROFILE === "1") {
    profDir = path.join(ROOT, "bench-results/profiles", `${label}-${++profileSeq}`);
    fs.rmSync(profDir, { recursive: true, force: true });
    fs.mkdirSync(profDir, { recursive: true });
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: a preload drives the profiler instead
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import ${path.join(ROOT, "bench/lib/cpu-profile-preload.mjs")}`.trim();
    env.BENCH_PROFILE_DIR = profDir;
  }
  const t0 = performance.now();
  // the database is made here, so that a server that fails to start does not leave it behind
  const db = opts.db ?? (await createTestDb({ kind: opts.kind }));
  let srv: TestServer;
  try {
    srv = await startTestServer({ ...opts, db, env });
  } catch (e) {
    if (!opts.db) await db.drop().catch(() => {});
    throw e;
  }
  const pid = pidOfPort(srv.port);
  step(`${label}: server pid ${pid} on ${srv.url} (${srv.db.kind}), ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const origClose = srv.close.bind(srv);
  const close = async () => {
    await origClose();
    if (!opts.db) await db.drop();
  };
  const forget = onInterrupt(close);
  return Object.assign(srv, {
    pid,
    async close() {
      forget();
      await close();
      if (profDir) {
        // the profile is written as the process exits
        await new Promise((r) => setTimeout(r, 500));
        console.log(summarizeProfiles(profDir, 25));
      }
    },
  });
}

export { hasBinary } from "../../test/helpers/bin";

export { sleep } from "../../test/helpers/wait";
