/**
 * `kam-admin backup FILE` / `restore FILE` (issue 14): the database the server would use, whole.
 *
 * - PostgreSQL (DATABASE_URL): `pg_dump --format=custom` and `pg_restore --clean --if-exists --no-owner
 *   --single-transaction`, the standard tools (found on PATH; Debian package postgresql-client). The
 *   password never goes on their command line: the URL they get has none, PGPASSWORD in their environment does.
 * - Embedded PGlite (no DATABASE_URL): PGlite's own data-directory dump (`dumpDataDir`, a gzipped tarball),
 *   loaded back with `loadDataDir` into a new directory that then replaces the old one (kept beside it).
 *   PGlite is one process: both refuse while a server runs on the data directory (its lock file).
 *
 * Not in either: the channels' secrets key file (KAM_SECRETS_KEY_FILE, default secrets.key in the data
 * directory): back it up separately (README "Backup and restore").
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { findRunningEmbedded } from "./embedded";

/** a refusal the user can fix (exists, non-empty, server running): exit 1 with the message */
export class BackupRefused extends Error {}

export interface BackupTarget {
  databaseUrl: string;
  dataDir: string;
}

type Say = (line: string) => void;

const PG_MAGIC = "PGDMP";
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** what a backup file holds, from its first bytes */
function fileKind(file: string): "postgres" | "pglite" | "unknown" {
  const fd = fs.openSync(file, "r");
  try {
    const b = Buffer.alloc(5);
    fs.readSync(fd, b, 0, 5, 0);
    if (b.toString("latin1") === PG_MAGIC) return "postgres";
    if (b.subarray(0, 2).equals(GZIP_MAGIC)) return "pglite";
    return "unknown";
  } finally {
    fs.closeSync(fd);
  }
}

// ---- PostgreSQL ----

/** libpq's connection parameters that may come in the URL's query; others (a driver's own) are dropped */
const LIBPQ_PARAMS = new Set(["host", "hostaddr", "port", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "application_name", "connect_timeout", "options", "target_session_attrs", "gssencmode", "channel_binding"]);

/** the URL for pg_dump/pg_restore without its password, and the environment that carries it */
export function libpqConnection(databaseUrl: string): { url: string; env: NodeJS.ProcessEnv } {
  const u = new URL(databaseUrl);
  const password = decodeURIComponent(u.password);
  u.password = "";
  for (const k of [...u.searchParams.keys()]) if (!LIBPQ_PARAMS.has(k)) u.searchParams.delete(k);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PGPASSWORD;
  if (password) env.PGPASSWORD = password;
  return { url: u.toString(), env };
}

/** the full path of a PostgreSQL client tool on PATH, or a refusal saying which package gives it */
export function findTool(name: "pg_dump" | "pg_restore", pathEnv = process.env.PATH ?? ""): string {
  for (const dir of pathEnv.split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not in this directory */
    }
  }
  throw new BackupRefused(`${name} is not on PATH: install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; RHEL: dnf install postgresql), in a version at least the server's`);
}

function toolMajor(tool: string): number {
  const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
  const m = /(\d+)(?:\.\d+)?/.exec(r.stdout ?? "");
  if (r.status !== 0 || !m) throw new Error(`${tool} --version failed: ${(r.stderr || r.stdout || "").trim()}`);
  return Number(m[1]);
}

async function withClient<T>(databaseUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** rows in the database's tables (public schema) but Prisma's migration table, by table; empty = nothing to lose */
async function rowsByTable(c: { query: (sql: string) => Promise<{ rows: unknown[] }> }): Promise<Map<string, number>> {
  const tables = (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`)).rows as { tablename: string }[];
  const out = new Map<string, number>();
  for (const { tablename } of tables) {
    const n = Number(((await c.query(`SELECT count(*) AS n FROM "${tablename.replace(/"/g, '""')}"`)).rows[0] as { n: string }).n);
    if (n > 0) out.set(tablename, n);
  }
  return out;
}

function describeRows(rows: Map<string, number>): string {
  const total = [...rows.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return "no rows";
  return `${total} rows in ${rows.size} tables (${[...rows].slice(0, 4).map(([t, n]) => `${t}: ${n}`).join(", ")}${rows.size > 4 ? ", ..." : ""})`;
}

/** runs a tool, its stderr passed through; fails with its exit code */
function runTool(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ["ignore", "inherit", "pipe"] });
    let err = "";
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
      process.stderr.write(b);
    });
    child.on("error", (e) => reject(new Error(`cannot run ${tool}: ${e.message}`)));
    child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`${path.basename(tool)} failed (${signal ?? `exit ${code}`})${err ? "" : " without a message"}`))));
  });
}

async function checkVersions(tool: string, databaseUrl: string, say: Say): Promise<void> {
  const mine = toolMajor(tool);
  const server = await withClient(databaseUrl, async (c) => Math.floor(Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v) / 10000));
  say(`PostgreSQL server ${server}, ${path.basename(tool)} ${mine} (${tool})`);
  if (mine < server) say(`warning: ${path.basename(tool)} ${mine} is older than the server (${server}) and will likely refuse: install postgresql-client-${server} (or newer) and put it first on PATH`);
}

async function backupPostgres(databaseUrl: string, file: string, say: Say): Promise<void> {
  const tool = findTool("pg_dump");
  await checkVersions(tool, databaseUrl, say);
  const rows = await withClient(databaseUrl, (c) => rowsByTable(c));
  say(`dumping ${describeRows(rows)} with pg_dump --format=custom ...`);
  const { url, env } = libpqConnection(databaseUrl);
  const tmp = `${file}.partial`;
  fs.writeFileSync(tmp, "", { mode: 0o600 }); // pg_dump keeps an existing file's mode: private, whatever the umask
  try {
    await runTool(tool, ["--format=custom", "--no-owner", `--file=${tmp}`, `--dbname=${url}`], env);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** the tables (public schema) a pg_dump archive holds, from `pg_restore --list` */
function archiveTables(tool: string, file: string): Set<string> {
  const r = spawnSync(tool, ["--list", file], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`pg_restore --list ${file} failed: ${(r.stderr || "").trim()}`);
  const names = [...r.stdout.matchAll(/^\d+; \d+ \d+ TABLE public (.+) \S+$/gm)].map((m) => m[1]);
  return new Set(names);
}

/**
 * --clean drops only what the archive holds: a table of a newer release (the database upgraded after the
 * backup) would stay, and the next start's migration that creates it would fail. Those are dropped first.
 */
async function dropTablesNotIn(tool: string, file: string, databaseUrl: string, say: Say): Promise<void> {
  const inArchive = archiveTables(tool, file);
  await withClient(databaseUrl, async (c) => {
    const tables = (await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.t);
    const extra = tables.filter((t) => !inArchive.has(t));
    if (extra.length === 0) return;
    say(`dropping ${extra.length} table(s) the backup does not have (a newer schema): ${extra.join(", ")}`);
    await c.query(`DROP TABLE ${extra.map((t) => `public."${t.replace(/"/g, '""')}"`).join(", ")} CASCADE`);
  });
}

async function restorePostgres(databaseUrl: string, file: string, force: boolean, say: Say): Promise<void> {
  const tool = findTool("pg_restore");
  await checkVersions(tool, databaseUrl, say);
  const rows = await withClient(databaseUrl, (c) => rowsByTable(c));
  if (rows.size > 0 && !force) {
    throw new BackupRefused(`the database is not empty: ${describeRows(rows)}; restore replaces all of it: stop the server(s) and add --force, or restore into an empty database (DATABASE_URL)`);
  }
  if (rows.size > 0) say(`replacing ${describeRows(rows)} (--force)`);
  const others = await withClient(databaseUrl, async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).rows[0].n));
  if (others > 0) say(`warning: ${others} other connection(s) to this database: stop the server(s) first (the restore waits for their locks, and a running server would write into it)`);
  await dropTablesNotIn(tool, file, databaseUrl, say);
  say("restoring with pg_restore --clean --if-exists --no-owner --single-transaction ...");
  const { url, env } = libpqConnection(databaseUrl);
  await runTool(tool, ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", `--dbname=${url}`, file], env);
  const after = await withClient(databaseUrl, (c) => rowsByTable(c));
  say(`restored: ${describeRows(after)}`);
}

// ---- embedded PGlite ----

function refuseIfRunning(dataDir: string, what: string): void {
  if (findRunningEmbedded(dataDir)) {
    throw new BackupRefused(
      `a server is running on the embedded database in ${dataDir} (see ${path.join(dataDir, "pglite.lock.json")}): ` +
        `PGlite is opened by one process only; stop the server (systemctl stop, or Ctrl-C), then run ${what} again`,
    );
  }
}

async function backupPglite(dataDir: string, file: string, say: Say): Promise<void> {
  refuseIfRunning(dataDir, "backup");
  const dir = path.join(dataDir, "pglite");
  if (!fs.existsSync(path.join(dir, "PG_VERSION"))) throw new BackupRefused(`no embedded database in ${dataDir} (no ${dir}): set KAM_DATA_DIR to the server's data directory, or DATABASE_URL for PostgreSQL`);
  const db = await PGlite.create({ dataDir: dir });
  try {
    say(`dumping ${describeRows(await rowsByTable(db))} from ${dir} (PGlite dumpDataDir, gzip) ...`);
    const blob = await db.dumpDataDir("gzip");
    const tmp = `${file}.partial`;
    try {
      fs.writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()), { mode: 0o600 });
      fs.renameSync(tmp, file);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  } finally {
    await db.close();
  }
}

async function restorePglite(dataDir: string, file: string, force: boolean, say: Say): Promise<void> {
  refuseIfRunning(dataDir, "restore");
  const dir = path.join(dataDir, "pglite");
  if (fs.existsSync(path.join(dir, "PG_VERSION"))) {
    const db = await PGlite.create({ dataDir: dir });
    let rows: Map<string, number>;
    try {
      rows = await rowsByTable(db);
    } finally {
      await db.close();
    }
    if (rows.size > 0 && !force) throw new BackupRefused(`the embedded database in ${dir} is not empty: ${describeRows(rows)}; add --force to replace it (the old directory is kept beside it)`);
    if (rows.size > 0) say(`replacing ${describeRows(rows)} (--force)`);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const fresh = path.join(dataDir, `pglite.restoring-${process.pid}`);
  fs.rmSync(fresh, { recursive: true, force: true });
  say(`loading ${file} into ${fresh} (PGlite loadDataDir) ...`);
  try {
    const db = await PGlite.create({ dataDir: fresh, loadDataDir: new Blob([fs.readFileSync(file)]) });
    try {
      say(`restored: ${describeRows(await rowsByTable(db))}`);
    } finally {
      await db.close();
    }
    if (fs.existsSync(dir)) {
      const old = path.join(dataDir, `pglite.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      fs.renameSync(dir, old);
      say(`the previous database directory is kept as ${old} (remove it once the restore is checked)`);
    }
    fs.renameSync(fresh, dir);
  } catch (e) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
}

// ---- the commands ----

export async function backup(target: BackupTarget, file: string, opts: { force: boolean; say: Say }): Promise<void> {
  const out = path.resolve(file);
  if (fs.existsSync(out) && !opts.force) throw new BackupRefused(`${out} exists: add --force to overwrite it, or give another FILE`);
  const t = Date.now();
  if (target.databaseUrl) await backupPostgres(target.databaseUrl, out, opts.say);
  else await backupPglite(target.dataDir, out, opts.say);
  opts.say(`backup written: ${out} (${humanSize(fs.statSync(out).size)}, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  opts.say("not included: the channels' secrets key file (KAM_SECRETS_KEY_FILE, default secrets.key in the data directory): back it up separately");
}

export async function restore(target: BackupTarget, file: string, opts: { force: boolean; say: Say }): Promise<void> {
  const src = path.resolve(file);
  if (!fs.existsSync(src)) throw new BackupRefused(`${src} does not exist`);
  const kind = fileKind(src);
  const want = target.databaseUrl ? "postgres" : "pglite";
  const names = { postgres: "a pg_dump archive (PostgreSQL, DATABASE_URL set)", pglite: "an embedded-database dump (PGlite, no DATABASE_URL)", unknown: "not a backup of this program" };
  if (kind !== want) throw new BackupRefused(`${src} is ${names[kind]}; the target here is ${want === "postgres" ? "PostgreSQL (DATABASE_URL)" : "the embedded database (no DATABASE_URL)"}: restore it with the setting it was made with`);
  opts.say(`restoring ${src} (${humanSize(fs.statSync(src).size)})`);
  const t = Date.now();
  if (target.databaseUrl) await restorePostgres(target.databaseUrl, src, opts.force, opts.say);
  else await restorePglite(target.dataDir, src, opts.force, opts.say);
  opts.say(`restore done in ${((Date.now() - t) / 1000).toFixed(1)} s; the next server start applies any newer migrations. The secrets key file is not in the backup: put it back (KAM_SECRETS_KEY_FILE) before starting the server`);
}
