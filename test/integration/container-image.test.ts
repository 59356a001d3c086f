/**
 * The container image (issue 14): builds the image from the Containerfile and runs its server against
 * PostgreSQL. `podman run` does not work on the CI machines (../shared/ENVIRONMENT.md, "Containers"); what
 * does, offline, and what this test does:
 *   1. the Debian base image: `debootstrap --variant=minbase <suite>` from the Debian mirror apt uses on this
 *      machine (/etc/apt/sources.list*; KAM_DEBIAN_MIRROR overrides it), the suite read from the Containerfile's
 *      FROM (debian:<suite>-slim). The tree is CACHED for the day under the OS temp dir
 *      (`<tmpdir>/kam-container-base-<suite>-<YYYY-MM-DD>`, UTC; earlier days' are removed when a new one is
 *      made), so a second run the same day skips debootstrap (about 2 minutes) and runs in seconds plus the build;
 *   2. `tar -C <tree> -c . | podman import - <the FROM name>`: the base tagged with the name the Containerfile
 *      uses (a local image of that name is replaced; skipped when the cached tree's import is still that name);
 *   3. `npm run build` (what is stale), then `buildah bud --isolation chroot --format docker --layers`: the real
 *      Containerfile, its RUN steps with Debian's apt (nodejs, npm) and npm ci against the npm registry (npm's
 *      cache is a build cache mount kept between builds; with --layers an unchanged step is not run again);
 *   4. `buildah from` + `buildah run --isolation chroot`: the image's ENTRYPOINT with `--port <free port>
 *      --host 127.0.0.1` (chroot isolation shares the host's network: loopback only, not the image's 0.0.0.0), and
 *      DATABASE_URL naming a fresh, empty database on TEST_DATABASE_URL's server (the image's server applies the
 *      migrations itself);
 * then checks the image's configuration, its contents (Debian's nodejs, no build tools), /api/health (postgres),
 * the sign-in page, the non-root user, /data written by it, the HEALTHCHECK command, a clean SIGTERM stop, and a
 * second start without DATABASE_URL: the embedded database in /data.
 * The server process, the buildah container, the image and the database are removed in an after hook, also when a
 * step fails; the base image and buildah's layer cache (intermediate images) stay for the next run.
 *
 * Needs root, buildah, podman and debootstrap (Debian packages of those names): skipped with that reason outside
 * CI, a failure under CI=true (.ci/run installs them). Runs in the PostgreSQL pass of `npm test` only.
 * Measured on a 2-core machine: a first run (no base, empty npm cache) about 3.5 minutes (debootstrap and import
 * 61 s, the image build 107 s with npm ci from the registry, the servers' starts 9 and 12 s); a run again the
 * same day 87-110 s (the base cached, the dependencies' stage reused by --layers, the build 37-47 s: the final
 * stage's copies and commit).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../server/paths";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { freePort } from "../helpers/port";
import { alive, descendants } from "../helpers/procs";
import { sleep } from "../helpers/wait";

const CI = process.env.CI === "true";
const PACKAGES = ["buildah", "podman", "debootstrap"];
/** the runtime user the Containerfile creates */
const USER = "keepalived-monitor";
const UID = 10001;

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

function problem(): string | null {
  if (process.getuid?.() !== 0) return "building and running the image needs root (debootstrap, buildah's chroot isolation), as CI runs";
  const missing = PACKAGES.filter((p) => !has(p));
  if (missing.length) return `${missing.join(", ")} not found: apt-get install ${PACKAGES.join(" ")}`;
  return null;
}
const pass = testDbKind() === "postgres";
const why = pass ? problem() : null;
if (why && CI) throw new Error(`container image test cannot run under CI: ${why}`);
const skip = !pass ? "needs PostgreSQL: runs in the PostgreSQL pass only (KAM_TEST_DB=postgres with TEST_DATABASE_URL)" : why ?? false;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** runs a command to its end (asynchronously: the test runner's timeouts stay live), with a time limit */
function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.once("error", (e) => (clearTimeout(timer), reject(e)));
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}\n(killed: ${signal}, time limit ${(opts.timeoutMs ?? 120_000) / 1000} s)` : stderr });
    });
  });
}

/** runs a command that must succeed; its stdout, or an assertion error with everything it printed */
async function ok(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: exit ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/**
 * The Debian mirror apt uses here: the first enabled `deb` source of Debian's main archive (not its security
 * archive) in /etc/apt/sources.list, sources.list.d/*.list (one-line format) or sources.list.d/*.sources (deb822).
 */
function debianMirror(files: Array<{ name: string; text: string }>): string | null {
  for (const { name, text } of files) {
    if (name.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => stanza.match(new RegExp(`^${k}:[ \\t]*(.*)$`, "mi"))?.[1].trim() ?? "";
        if (!field("Types").split(/\s+/).includes("deb") || /^(no|false)$/i.test(field("Enabled"))) continue;
        if (field("Suites").split(/\s+/).some((s) => s.endsWith("-security"))) continue;
        const uri = field("URIs").split(/\s+/)[0];
        if (uri) return uri;
      }
    } else {
      for (const line of text.split("\n")) {
        const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m && !m[2].endsWith("-security")) return m[1];
      }
    }
  }
  return null;
}

function machineMirror(): string {
  if (process.env.KAM_DEBIAN_MIRROR) return process.env.KAM_DEBIAN_MIRROR;
  const files: Array<{ name: string; text: string }> = [];
  if (fs.existsSync("/etc/apt/sources.list")) files.push({ name: "sources.list", text: fs.readFileSync("/etc/apt/sources.list", "utf8") });
  const d = "/etc/apt/sources.list.d";
  if (fs.existsSync(d)) {
    for (const f of fs.readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) files.push({ name: f, text: fs.readFileSync(path.join(d, f), "utf8") });
  }
  const m = debianMirror(files);
  if (!m) throw new Error("no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d: set KAM_DEBIAN_MIRROR=http://.../debian");
  return m;
}

/** the Containerfile's first FROM: the base image's name, and the Debian suite its tag names */
function baseImage(): { name: string; suite: string } {
  const from = fs.readFileSync(path.join(ROOT, "Containerfile"), "utf8").match(/^FROM\s+(\S+)/m)?.[1];
  const suite = from?.match(/\/debian:([a-z]+)-slim$/)?.[1];
  assert.ok(from && suite, `the Containerfile's first FROM is not a Debian -slim image: ${from}`);
  return { name: from, suite };
}

/** the day's debootstrap tree of `suite` (made when missing), imported as the image `name` (unless it already is) */
async function debianBase(name: string, suite: string): Promise<void> {
  const day = new Date().toISOString().slice(0, 10);
  const prefix = `kam-container-base-${suite}-`;
  const tree = path.join(os.tmpdir(), `${prefix}${day}`);
  const imported = `${tree}.image-id`;
  if (!fs.existsSync(path.join(tree, "etc", "debian_version"))) {
    for (const old of fs.readdirSync(os.tmpdir())) {
      if (old.startsWith(prefix)) fs.rmSync(path.join(os.tmpdir(), old), { recursive: true, force: true });
    }
    const partial = `${tree}.partial-${process.pid}`;
    const r = await run("debootstrap", ["--variant=minbase", suite, partial, machineMirror()], { timeoutMs: 900_000 });
    if (r.code !== 0) {
      fs.rmSync(partial, { recursive: true, force: true });
      assert.fail(`debootstrap ${suite} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    }
    fs.renameSync(partial, tree);
  }
  const current = await run("podman", ["image", "inspect", "--format", "{{.Id}}", name]);
  if (current.code === 0 && fs.existsSync(imported) && fs.readFileSync(imported, "utf8").trim() === current.stdout.trim()) return;
  const out = await ok("bash", ["-c", 'set -o pipefail; tar -C "$1" -c . | podman import - "$2"', "import", tree, name], { timeoutMs: 300_000 });
  const id = (await ok("podman", ["image", "inspect", "--format", "{{.Id}}", name])).trim();
  assert.ok(out.includes(id), `podman import printed ${out.trim()}, the image ${name} is ${id}`);
  fs.writeFileSync(imported, `${id}\n`);
}

/** a server started in the container: the buildah run process, and the server's own process (node) */
interface Server {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
}

/** one image's configuration, as `buildah inspect` gives it (Docker format: the HEALTHCHECK is kept) */
interface ImageConfig {
  User: string;
  Env: string[];
  Entrypoint: string[] | null;
  Cmd: string[] | null;
  WorkingDir: string;
  ExposedPorts?: Record<string, unknown>;
  Volumes?: Record<string, unknown>;
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
}

describe("container image (Containerfile): built with buildah, its server run against PostgreSQL", { skip, timeout: 2_400_000 }, () => {
  const tag = `localhost/keepalived-monitor-test:${process.pid}`;
  let db: TestDb | undefined;
  let config: ImageConfig;
  let ctr = "";
  /** the servers started (buildah run of the ENTRYPOINT), each stopped in the test or in after */
  const servers: Server[] = [];
  let imageBuilt = false;
  const timings: string[] = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const v = await fn();
    timings.push(`${what} ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return v;
  };

  /** a command in the container, as the image's user, sharing the host's network */
  const inContainer = (args: string[], env: Record<string, string> = {}) =>
    run("buildah", ["run", "--isolation", "chroot", ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]), ctr, "--", ...args]);

  /**
   * the image's ENTRYPOINT (and CMD) in the container with `--port <free> --host 127.0.0.1` and `env`, until it
   * answers /api/health; its server process (node, below buildah run) is found by its command line
   */
  async function startServer(env: Record<string, string>): Promise<Server> {
    const port = await freePort();
    const args = ["run", "--isolation", "chroot", ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]), ctr, "--",
      ...(config.Entrypoint ?? []), ...(config.Cmd ?? []), "--port", String(port), "--host", "127.0.0.1"];
    const child = spawn("buildah", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const server: Server = { child, port, output: () => out, exited, pid: 0 };
    servers.push(server);
    for (const deadline = Date.now() + 180_000; ;) {
      if (child.exitCode !== null || child.signalCode !== null) assert.fail(`buildah run ended (${child.exitCode ?? child.signalCode}) before the server answered:\n${out}`);
      if (Date.now() > deadline) assert.fail(`the image's server did not answer /api/health within 180 s:\n${out}`);
      // refused until it listens: that is the "not yet" this loop waits out
      if (await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.ok, () => false)) break;
      await sleep(250);
    }
    const node = descendants(child.pid!).filter((p) => /^(\S*\/)?node bin\/kam-server\.mjs /.test(p.cmd));
    assert.equal(node.length, 1, `one server process below buildah run: ${JSON.stringify(descendants(child.pid!))}`);
    server.pid = node[0].pid;
    return server;
  }

  /** SIGTERM to the server process, as `podman stop` sends it: it stops within 30 s, and buildah run ends with its status 0 */
  async function stopServer(server: Server): Promise<void> {
    process.kill(server.pid, "SIGTERM");
    const ended = await Promise.race([server.exited, sleep(30_000).then(() => null)]);
    assert.ok(ended, `the server did not stop within 30 s of SIGTERM:\n${server.output()}`);
    assert.deepEqual(ended, { code: 0, signal: null }, `buildah run ended with the server's status:\n${server.output()}`);
    assert.equal(alive(server.pid), false);
  }

  before(async () => {
    const { name, suite } = baseImage();
    await timed(`base image (debootstrap ${suite}, cached per day; podman import)`, () => debianBase(name, suite));
    const { ensureBuild } = (await import("../../scripts/ensure-build.mjs")) as { ensureBuild(): void };
    await timed("npm run build (what is stale)", async () => ensureBuild());
    // the CA this machine's node trusts beyond the usual ones (a TLS-intercepting proxy to the npm registry), given
    // to npm ci in the build as the Containerfile says
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    const caArgs = ca && fs.existsSync(ca) ? ["--volume", `${ca}:/run/build-ca.crt:ro`, "--build-arg", "NODE_EXTRA_CA_CERTS=/run/build-ca.crt"] : [];
    await timed("buildah bud", () =>
      ok("buildah", ["bud", "--isolation", "chroot", "--format", "docker", "--layers", "--force-rm", "--pull=never", ...caArgs, "-f", "Containerfile", "-t", tag, "."], { timeoutMs: 1_200_000 }));
    imageBuilt = true;
    const inspect = JSON.parse(await ok("buildah", ["inspect", "--type", "image", tag])) as { Docker: { config: ImageConfig } };
    config = inspect.Docker.config;
    ctr = (await ok("buildah", ["from", "--pull=never", tag])).trim().split("\n").pop()!;
    db = await createTestDb({ empty: true });
  });

  after(async () => {
    const problems: string[] = [];
    // the server and whatever the container still runs: by pid, below the buildah run we started
    for (const { child, exited } of servers) {
      for (const p of descendants(child.pid!)) if (alive(p.pid)) process.kill(p.pid, "SIGKILL");
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
    if (ctr) {
      const r = await run("buildah", ["rm", ctr]);
      if (r.code !== 0) problems.push(`buildah rm ${ctr}: ${r.stderr}`);
    }
    if (imageBuilt) {
      const r = await run("buildah", ["rmi", tag]);
      if (r.code !== 0) problems.push(`buildah rmi ${tag}: ${r.stderr}`);
    }
    try {
      await db?.drop();
    } catch (e) {
      problems.push(`dropping the test database: ${(e as Error).message}`);
    }
    console.log(`container image test: ${timings.join("; ")}`);
    if (problems.length) throw new Error(`cleanup left things behind, remove them by hand:\n${problems.join("\n")}`);
  });

  it("is configured as documented: non-root user, /data volume, port 3000, HEALTHCHECK, the compiled server", () => {
    assert.equal(config.User, USER);
    assert.deepEqual(config.Entrypoint, ["node", "bin/kam-server.mjs"]);
    assert.equal(config.WorkingDir, "/app");
    assert.deepEqual(Object.keys(config.ExposedPorts ?? {}), ["3000/tcp"]);
    assert.deepEqual(Object.keys(config.Volumes ?? {}), ["/data"]);
    for (const e of ["KAM_HOST=0.0.0.0", "PORT=3000", "KAM_DATA_DIR=/data", "NODE_ENV=production"]) {
      assert.ok(config.Env.includes(e), `the image's environment has ${e}: ${config.Env.join(" ")}`);
    }
    assert.deepEqual(config.Healthcheck?.Test, ["CMD", "node", "scripts/healthcheck.mjs"], `HEALTHCHECK kept (docker format): ${JSON.stringify(config.Healthcheck)}`);
  });

  it("holds Debian's nodejs and the production dependencies only", async () => {
    const nodejs = await inContainer(["dpkg-query", "-W", "-f", "${Version} ${Maintainer}", "nodejs"]);
    assert.equal(nodejs.code, 0, nodejs.stderr);
    assert.match(nodejs.stdout, /Debian/, `nodejs comes from Debian: ${nodejs.stdout}`);
    const version = await inContainer(["node", "-p", "process.versions.node"]);
    const [major, minor] = version.stdout.trim().split(".").map(Number);
    assert.ok(major > 20 || (major === 20 && minor >= 10), `node ${version.stdout.trim()} satisfies package.json engines (>= 20.10)`);
    const present = await inContainer(["node", "-e", "const fs = require('fs'); console.log(JSON.stringify(process.argv.slice(1).filter((m) => fs.existsSync('node_modules/' + m + '/package.json'))))",
      "esbuild", "tsx", "eslint", "@tailwindcss/postcss", "next", "socket.io", "@prisma/client", "prisma", "pg"]);
    assert.equal(present.code, 0, present.stderr);
    assert.deepEqual(JSON.parse(present.stdout), ["next", "socket.io", "@prisma/client", "prisma", "pg"], "dependencies installed, devDependencies (build tools) not");
    // the build cache stays out (.dockerignore); the directory is made for Next to write at run time
    const cache = await inContainer(["ls", "-A", ".next/cache"]);
    assert.deepEqual([cache.code, cache.stdout], [0, ""], `.next/cache in the image: ${cache.stdout}${cache.stderr}`);
    const npm = await inContainer(["sh", "-c", "command -v npm || echo none"]);
    assert.equal(npm.stdout.trim(), "none", "npm (needed only to install) is not in the final image");
  });

  let pgServer: Server | undefined;

  it("runs: /api/health on PostgreSQL, the sign-in page, as the non-root user, writing /data", async () => {
    const t0 = Date.now();
    const server = (pgServer = await startServer({ DATABASE_URL: db!.databaseUrl, LOG_LEVEL: "info" }));
    timings.push(`server start (migrations on an empty database) ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const health = await fetch(`http://127.0.0.1:${server.port}/api/health`);
    assert.deepEqual(await health.json(), { ok: true, db: "postgres" });
    const login = await fetch(`http://127.0.0.1:${server.port}/login`);
    assert.equal(login.status, 200, server.output());
    assert.match(login.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await login.text(), /<html/i);
    // "Add a node from the dashboard": the image serves the agent bundle, the unit and the install script with checksums
    const sums = await fetch(`http://127.0.0.1:${server.port}/downloads/SHA256SUMS`);
    assert.equal(sums.status, 200, server.output());
    const listed = (await sums.text()).split("\n").filter(Boolean).map((l) => l.split(/\s+/)[1]);
    for (const f of ["keepalived-agent.cjs", "keepalived-agent.service", "install.sh"]) assert.ok(listed.includes(f), `SHA256SUMS lists ${f}: ${listed.join(", ")}`);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/downloads/install.sh`)).status, 200);

    const uid = fs.readFileSync(`/proc/${server.pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m)?.[1];
    assert.equal(uid, String(UID), `the server runs as ${USER} (uid ${UID})`);
    // the alert channels' key file, created at start in KAM_DATA_DIR (/data) by that user
    const key = await inContainer(["stat", "-c", "%U %a", "/data/secrets.key"]);
    assert.equal(key.stdout.trim(), `${USER} 600`, `/data/secrets.key: ${key.stdout}${key.stderr}`);
    assert.doesNotMatch(server.output(), /EACCES|permission denied/i, server.output());
  });

  it("HEALTHCHECK passes while the server runs; SIGTERM stops it cleanly, and then the HEALTHCHECK fails", async () => {
    assert.ok(pgServer, "the server was started by the test before");
    const check = config.Healthcheck!.Test.slice(1);
    const env = { PORT: String(pgServer.port), KAM_HOST: "127.0.0.1" };
    const up = await inContainer(check, env);
    assert.equal(up.code, 0, `HEALTHCHECK while up: ${up.stdout}${up.stderr}`);

    await stopServer(pgServer);

    const down = await inContainer(check, env);
    assert.equal(down.code, 1, `HEALTHCHECK with no server: ${down.stdout}${down.stderr}`);
    assert.match(down.stderr, /unhealthy: .*ECONNREFUSED/);
  });

  it("without DATABASE_URL runs the embedded database in /data, as the image's user", async () => {
    const t0 = Date.now();
    const server = await startServer({ LOG_LEVEL: "info" });
    timings.push(`server start on the embedded database (initdb, migrations) ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const health = await fetch(`http://127.0.0.1:${server.port}/api/health`);
    assert.deepEqual(await health.json(), { ok: true, db: "pglite" });
    const dir = await inContainer(["stat", "-c", "%U", "/data/pglite"]);
    assert.equal(dir.stdout.trim(), USER, `/data/pglite: ${dir.stdout}${dir.stderr}`);
    await stopServer(server);
  });
});
