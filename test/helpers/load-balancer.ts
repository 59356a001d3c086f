/**
 * A REAL load balancer for multi-replica tests: Debian's nginx (/usr/sbin/nginx,
 * package nginx-light or nginx) as a private, non-daemon child process on
 * 127.0.0.1 (a free port), proxying HTTP and the socket.io websocket upgrade
 * to an `upstream` of the given servers: round robin, or ip_hash with
 * `sticky: true`; `max_fails=1 fail_timeout=2s` on each so a dead one is
 * skipped (nginx also retries the next server when a connection is refused).
 *
 * Everything it writes (config, pid file, error and access logs, the temp
 * paths) is in a fresh mkdtemp directory, so it runs as root without touching
 * /var. stop() ends only that process and deletes only that directory; a test
 * process that exits without stop() still kills it. Upstreams and the listen
 * address are loopback only: anything else is refused.
 *
 * Without nginx installed, startNginx() throws, saying how to install it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./port";
import { sleep } from "./wait";

export const NGINX_BIN = "/usr/sbin/nginx";
export const NGINX_INSTALL =
  `nginx is not installed (${NGINX_BIN} is missing): ` +
  "apt-get install nginx-light (Debian; .ci/run installs it)";

/** why nginx cannot be started here (not installed), or null */
export function nginxMissing(): string | null {
  return fs.existsSync(NGINX_BIN) ? null : NGINX_INSTALL;
}

export interface Upstream {
  host: string;
  port: number;
}

export interface TestNginx {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** upstreams are fixed for the life of the process: start another one to change them */
  setUpstreams?: never;
  /** SIGTERM, wait for the exit (SIGKILL after 5 s), remove its directory; safe to call twice */
  stop(): Promise<void>;
  /** what nginx printed, then its error.log */
  output(): string;
}

const READY_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 5;

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}

function upstreamAddress({ host, port }: Upstream): string {
  if (!isLoopback(host)) throw new Error(`startNginx: upstream ${host}:${port} is not a loopback address (only loopback upstreams are allowed)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`startNginx: bad upstream port ${String(port)}`);
  const h = host === "::1" ? "[::1]" : host;
  return `${h}:${port}`;
}

function config(dir: string, port: number, upstreams: Upstream[], sticky: boolean): string {
  const servers = upstreams.map((u) => `    server ${upstreamAddress(u)} max_fails=1 fail_timeout=2s;`);
  // no "user" directive: as root, the workers run as the built-in default (nobody), and the master opens the logs
  // and creates the temp paths (chowned to that user)
  return [
    "worker_processes 1;",
    `pid ${path.join(dir, "nginx.pid")};`,
    `error_log ${path.join(dir, "error.log")} notice;`,
    "events { worker_connections 1024; }",
    "http {",
    `  access_log ${path.join(dir, "access.log")};`,
    `  client_body_temp_path ${path.join(dir, "client_body_temp")};`,
    `  proxy_temp_path ${path.join(dir, "proxy_temp")};`,
    `  fastcgi_temp_path ${path.join(dir, "fastcgi_temp")};`,
    `  uwsgi_temp_path ${path.join(dir, "uwsgi_temp")};`,
    `  scgi_temp_path ${path.join(dir, "scgi_temp")};`,
    "  map $http_upgrade $connection_upgrade {",
    "    default upgrade;",
    "    ''      close;",
    "  }",
    "  upstream monitor {",
    ...(sticky ? ["    ip_hash;"] : []),
    ...servers,
    "  }",
    "  server {",
    `    listen 127.0.0.1:${port};`,
    "    server_name _;",
    "    location / {",
    "      proxy_pass http://monitor;",
    "      proxy_http_version 1.1;",
    "      proxy_set_header Upgrade $http_upgrade;",
    "      proxy_set_header Connection $connection_upgrade;",
    // the Host the client sent, with its port: the server's Origin checks (state-changing requests, /live)
    // compare the browser's Origin (http://127.0.0.1:PORT) with it, and $host would drop the port
    "      proxy_set_header Host $http_host;",
    "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "      proxy_set_header X-Forwarded-Proto $scheme;",
    "      proxy_read_timeout 3600s;",
    "      proxy_send_timeout 3600s;",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
}

function readErrorLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, "error.log"), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
}

/** the pids whose parent is `pid` (nginx's workers), read from /proc */
function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // that process ended meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")"
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) found.push(Number(entry));
  }
  return found;
}

/**
 * SIGKILL nginx's master and its workers: a killed master does not end its workers, which would keep the
 * port (and the process) alive
 */
function killAll(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const workers = childPids(child.pid);
  child.kill("SIGKILL");
  for (const pid of workers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e; // ESRCH: it ended by itself
    }
  }
}

function pidFileSays(pidPath: string, pid: number | undefined): boolean {
  try {
    return pid !== undefined && fs.readFileSync(pidPath, "utf8").trim() === String(pid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false; // not written yet
    throw e;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false); // not listening yet
    });
  });
}

/** one nginx process; resolves once it accepts TCP connections, or rejects with what it said */
export async function startNginx(upstreams: Upstream[], opts: { sticky?: boolean } = {}): Promise<TestNginx> {
  const missing = nginxMissing();
  if (missing) throw new Error(missing);
  if (upstreams.length === 0) throw new Error("startNginx: no upstreams");
  upstreams.forEach(upstreamAddress); // refuses non-loopback ones before anything is created

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-test-nginx-"));
  // workers (nobody, when the test runs as root) must reach the temp paths the master creates in here
  fs.chmodSync(dir, 0o711);
  const confPath = path.join(dir, "nginx.conf");
  const pidPath = path.join(dir, "nginx.pid");
  let out = "";
  const sink = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };

  try {
    // the free port may be taken between finding and binding it: then nginx gives up (after ~2.5 s of bind()
    // retries) and exits, and another port is tried
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const mark = out.length; // what this attempt prints starts here
      fs.writeFileSync(confPath, config(dir, port, upstreams, !!opts.sticky));
      const child: ChildProcess = spawn(
        NGINX_BIN,
        // -e: the error log before the config is read (Debian's default is stderr; never /var/log)
        ["-p", dir, "-c", confPath, "-e", path.join(dir, "error.log"), "-g", "daemon off;"],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout!.on("data", sink);
      child.stderr!.on("data", sink);
      let exited = false;
      let exitInfo = "";
      const gone = new Promise<void>((r) =>
        child.once("exit", (code, signal) => {
          exited = true;
          exitInfo = `exit code ${String(code)}, signal ${String(signal)}`;
          r();
        }),
      );
      child.once("error", (e) => {
        out += `\nspawn ${NGINX_BIN}: ${e.message}\n`;
        exited = true;
      });
      // the test process ending without stop() (a failed before(), a crash) does not leave it running
      const killOnExit = () => {
        killAll(child);
        fs.rmSync(dir, { recursive: true, force: true });
      };
      process.once("exit", killOnExit);
      const stopChild = async () => {
        process.removeListener("exit", killOnExit);
        if (exited || child.exitCode !== null || child.signalCode !== null) return;
        // SIGTERM: nginx's fast shutdown (the master ends its workers, then itself)
        child.kill("SIGTERM");
        const t = setTimeout(() => killAll(child), 5000);
        await gone;
        clearTimeout(t);
      };

      const end = Date.now() + READY_TIMEOUT_MS;
      let ready = false;
      while (!exited && Date.now() < end) {
        // nginx writes its pid file only once it has bound its port: a connection alone could reach another
        // process that took the port meanwhile (nginx then retries bind() for a while before it gives up)
        if (pidFileSays(pidPath, child.pid) && (await canConnect(port))) {
          ready = !exited;
          break;
        }
        await sleep(50);
      }
      if (!ready) {
        await stopChild();
        const said = `${out.slice(mark)}\n${readErrorLog(dir)}`;
        if (exited && /Address already in use/.test(said) && attempt < BIND_ATTEMPTS) {
          out += `\n(port ${port} was taken: trying another)\n`;
          fs.rmSync(path.join(dir, "error.log"), { force: true });
          fs.rmSync(pidPath, { force: true });
          continue;
        }
        throw new Error(
          `nginx did not accept connections on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms` +
            `${exited ? ` (it exited: ${exitInfo || "spawn failed"})` : ""}\n--- stderr/stdout ---\n${out}\n--- error.log ---\n${readErrorLog(dir)}`,
        );
      }

      let stopping: Promise<void> | null = null;
      let finalLog: string | null = null;
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        stop() {
          stopping ??= (async () => {
            await stopChild();
            finalLog = readErrorLog(dir);
            await fs.promises.rm(dir, { recursive: true, force: true });
          })();
          return stopping;
        },
        output() {
          return `${out}${finalLog ?? readErrorLog(dir)}`;
        },
      };
    }
  } catch (e) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (rmError) {
      throw new AggregateError([e, rmError], `${(e as Error).message}\n(and removing ${dir} failed: ${(rmError as Error).message})`);
    }
    throw e;
  }
}
