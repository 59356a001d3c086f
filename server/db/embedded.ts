/**
 * The embedded default database: a file-backed PGlite (PostgreSQL compiled to
 * WASM) under the data directory, served on a Unix socket inside that
 * directory so that Prisma (adapter-pg), the migration CLI and the token CLI
 * all speak ordinary PostgreSQL to it. Only this process opens the files; a
 * lock file names the pid and socket so a second process can connect through
 * the socket instead of opening the files twice.
 *
 * PGlite and its socket server run in a worker thread of this process, not on
 * the server's event loop: PostgreSQL's work is synchronous WASM, and on the
 * main thread every statement (a 500-line batch insert: tens of ms) stalled
 * the socket.io and HTTP servers, and the server's own JavaScript and
 * PostgreSQL shared one core (docs/PERFORMANCE.md, "Embedded PGlite").
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";

export interface EmbeddedDb {
  url: string;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /**
   * The database thread failed after it started (a PGlite abort): the database is gone. Default: the error is
   * thrown on the main thread, which ends the process as the same abort on the main thread did before.
   */
  onFailure?: (e: Error) => void;
}

interface LockInfo {
  pid: number;
  socketDir: string;
}

const PORT = 5432; // only names the socket file: .s.PGSQL.5432

export function embeddedUrl(socketDir: string): string {
  return `postgresql://postgres@localhost:${PORT}/postgres?host=${encodeURIComponent(socketDir)}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The running embedded database of another process on this data dir, if any. */
export function findRunningEmbedded(dataDir: string): string | null {
  const lockPath = path.join(dataDir, "pglite.lock.json");
  try {
    const info = JSON.parse(fs.readFileSync(lockPath, "utf8")) as LockInfo;
    if (info.pid !== process.pid && alive(info.pid)) return embeddedUrl(info.socketDir);
  } catch {
    /* no lock, or unreadable: nobody runs it */
  }
  return null;
}

const require = createRequire(import.meta.url);

/**
 * The database thread (CommonJS, evaluated: it is not part of any bundle, so the packages are passed as resolved
 * paths). Messages: {ready} once serving, {error} when it could not start; "close" stops the socket server, shuts
 * PGlite down (a checkpoint: every committed transaction is in the data files) and lets the thread end.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { PGlite } = require(workerData.pglite);
const { PGLiteSocketServer } = require(workerData.socket);
let db = null;
let server = null;
const failed = (e) => (e && e.stack) || String(e);
(async () => {
  db = await PGlite.create({ dataDir: workerData.dataDir });
  server = new PGLiteSocketServer({ db, path: workerData.socketPath, maxConnections: 16 });
  await server.start();
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ error: failed(e) }));
parentPort.on("message", (m) => {
  if (m !== "close") return;
  (async () => {
    if (server) await server.stop();
    if (db) await db.close();
  })().then(
    () => parentPort.postMessage({ closed: true }),
    (e) => parentPort.postMessage({ closed: true, error: failed(e) }),
  ).finally(() => parentPort.close());
});
`;

type WorkerMsg = { ready?: true; closed?: true; error?: string };

export async function startEmbedded(dataDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDb> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dataDir, "pglite.lock.json");
  const running = findRunningEmbedded(dataDir);
  if (running) {
    throw new Error(
      `the embedded database in ${dataDir} is in use by another process (see ${lockPath}): ` +
        `stop that server, or set KAM_DATA_DIR to another directory, or use DATABASE_URL`,
    );
  }
  const socketDir = path.join(dataDir, "run");
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const socketPath = path.join(socketDir, `.s.PGSQL.${PORT}`);
  fs.rmSync(socketPath, { force: true });

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      pglite: require.resolve("@electric-sql/pglite"),
      socket: require.resolve("@electric-sql/pglite-socket"),
      dataDir: path.join(dataDir, "pglite"),
      socketPath,
    },
  });
  let closing: Promise<void> | null = null;
  let started = false;
  const fail = (e: Error) => {
    if (!started || closing) return;
    if (opts.onFailure) opts.onFailure(e);
    else
      setImmediate(() => {
        throw e;
      });
  };
  await new Promise<void>((resolve, reject) => {
    const early = (e: Error) => reject(new Error(`the embedded database did not start: ${e.message}`, { cause: e }));
    worker.once("error", early);
    worker.once("exit", (code) => early(new Error(`its thread exited with code ${code}`)));
    worker.once("message", (m: WorkerMsg) => {
      worker.removeAllListeners("error").removeAllListeners("exit");
      if (m.ready) resolve();
      else early(new Error(m.error ?? "unexpected message"));
    });
  }).catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  started = true;
  worker.on("error", (e) => fail(new Error(`the embedded database failed: ${e.message}`, { cause: e })));
  let exited = false;
  worker.on("exit", (code) => {
    exited = true;
    fail(new Error(`the embedded database's thread exited (code ${code})`));
  });
  fs.writeFileSync(lockPath, JSON.stringify({ pid: process.pid, socketDir } satisfies LockInfo));
  return {
    url: embeddedUrl(socketDir),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        if (exited) {
          fs.rmSync(lockPath, { force: true });
          fs.rmSync(socketPath, { force: true });
          reject(new Error("the embedded database's thread had already ended"));
          return;
        }
        let answer: WorkerMsg | null = null;
        worker.on("message", (m: WorkerMsg) => {
          if (m.closed) answer = m;
        });
        worker.once("exit", () => {
          fs.rmSync(lockPath, { force: true });
          fs.rmSync(socketPath, { force: true });
          if (!answer) reject(new Error("the embedded database's thread ended before it closed the database"));
          else if (answer.error) reject(new Error(`closing the embedded database failed: ${answer.error}`));
          else resolve();
        });
        worker.postMessage("close");
      });
      return closing;
    },
  };
}
