/**
 * A private PostgreSQL the benchmark may stop (bench/replicas.ts, the outage row): initdb in a temporary
 * directory, run as `postgres` on a free loopback port. Not test/e2e/lab/pg-private.ts: its teardown installs its
 * own Ctrl-C handler that exits at once, before the benchmark's servers and databases are cleaned up.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../test/helpers/port";
import { onInterrupt } from "./env";

const execFileP = promisify(execFile);

export interface PrivatePg {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stop at once (if running) and remove the directory */
  destroy(): Promise<void>;
}

/** initdb into a temporary directory and run it as `postgres` on a free loopback port (as test/e2e/lab/pg-private.ts) */
export async function privatePg(bin: string): Promise<PrivatePg> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bench-pg-"));
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  fs.mkdirSync(sock);
  let running = false;
  const asPg = async (cmd: string, args: string[]) => {
    try {
      await execFileP("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args], { timeout: 90_000 });
    } catch (e) {
      const log = fs.existsSync(path.join(dir, "server.log")) ? fs.readFileSync(path.join(dir, "server.log"), "utf8").slice(-1500) : "";
      throw new Error(`${cmd} ${args.join(" ")} failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}\n${log}`);
    }
  };
  const destroy = async () => {
    if (running) await asPg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    running = false;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const forget = onInterrupt(destroy);
  try {
    await execFileP("chown", ["-R", "postgres:postgres", dir]);
    await asPg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  } catch (e) {
    forget();
    await destroy();
    throw e;
  }
  const port = await freePort();
  const opts = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const p: PrivatePg = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      running = true;
      await asPg("pg_ctl", ["-D", data, "-o", opts, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
    },
    async stop() {
      await asPg("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
      running = false;
    },
    async destroy() {
      forget();
      await destroy();
    },
  };
  await p.start();
  return p;
}
