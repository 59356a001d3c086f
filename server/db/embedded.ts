/**
 * The embedded default database: a file-backed PGlite (PostgreSQL compiled to
 * WASM) under the data directory, served on a Unix socket inside that
 * directory so that Prisma (adapter-pg), the migration CLI and the token CLI
 * all speak ordinary PostgreSQL to it. Only this process opens the files; a
 * lock file names the pid and socket so a second process can connect through
 * the socket instead of opening the files twice.
 */
import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedDb {
  url: string;
  close(): Promise<void>;
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

export async function startEmbedded(dataDir: string): Promise<EmbeddedDb> {
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

  const db = await PGlite.create({ dataDir: path.join(dataDir, "pglite") });
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 16 });
  await server.start();
  fs.writeFileSync(lockPath, JSON.stringify({ pid: process.pid, socketDir } satisfies LockInfo));
  return {
    url: embeddedUrl(socketDir),
    async close() {
      await server.stop();
      await db.close();
      fs.rmSync(lockPath, { force: true });
      fs.rmSync(socketPath, { force: true });
    },
  };
}
