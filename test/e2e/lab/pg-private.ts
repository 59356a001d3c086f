/**
 * A PRIVATE PostgreSQL server for the database-outage scenario: initdb into a
 * temporary directory, run as the `postgres` user on a free loopback port.
 * Stopping it affects nobody else (the shared PostgreSQL of the machine and
 * CI's TEST_DATABASE_URL stay up for the other test processes).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import type { TestDb } from "../../helpers/db";
import { freePort } from "../../helpers/port";
import { pgBinDir } from "./preflight";
import { labTempDir, onTeardown } from "./reaper";

export interface PrivatePg {
  url: string;
  port: number;
  stop(): void;
  start(): void;
  /** a TestDb for startTestServer on a fresh database of this server */
  testDb(): Promise<TestDb>;
}

export async function startPrivatePg(): Promise<PrivatePg> {
  const bin = pgBinDir();
  if (!bin) throw new Error("PostgreSQL server binaries are missing: apt-get install -y postgresql");
  const dir = labTempDir("pg");
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  fs.mkdirSync(sock);
  execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const asPg = (cmd: string, args: string[]) =>
    execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 }).toString();
  const pgctl = (...args: string[]) => {
    try {
      return asPg("pg_ctl", ["-D", data, ...args]);
    } catch (e) {
      const log = fs.existsSync(path.join(dir, "server.log")) ? fs.readFileSync(path.join(dir, "server.log"), "utf8").slice(-2000) : "";
      throw new Error(`pg_ctl ${args.join(" ")} failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? ""}\n${log}`);
    }
  };
  const port = await freePort();
  let running = false;
  onTeardown(`private PostgreSQL in ${dir}`, () => {
    if (running) {
      try {
        pgctl("-m", "immediate", "-w", "stop");
      } catch {
        /* already down */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  asPg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const opts = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const p: PrivatePg = {
    url,
    port,
    start() {
      pgctl("-o", opts, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start");
      running = true;
    },
    stop() {
      pgctl("-m", "fast", "-w", "-t", "60", "stop");
      running = false;
    },
    async testDb() {
      const name = `kam_e2e_${process.pid}`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      const dataDir = labTempDir("data");
      onTeardown(`directory ${dataDir}`, () => fs.rmSync(dataDir, { recursive: true, force: true }));
      return { kind: "postgres", databaseUrl: url.replace(/\/postgres$/, `/${name}`), dataDir, drop: async () => undefined };
    },
  };
  p.start();
  return p;
}
