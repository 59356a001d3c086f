/**
 * The compatibility window (README, "Agent versions and the protocol window"): the server accepts the agents of
 * its protocol version whatever their release. Shown with a REAL agent of the previous release: the bundle is
 * built here from the repository's history, at the last commit before agents moved to their own socket.io path
 * (`/agent.io/`, merge 1403b56), with that commit's own build script, and run with plain `node` against the
 * current server: it connects on the legacy path (`/agent` on `/socket.io/`), its configuration, VIPs and log
 * lines are stored, the overview shows its node and state, the connection is counted as legacy, and a server
 * with KAM_AGENT_LEGACY_PATH=off refuses it with a message that says to upgrade it.
 *
 * Needs the repository's history (a clone, not an export): without it the test is skipped, and fails under CI.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClusterSummary } from "../../server/protocol";
import { testDbKind } from "../helpers/db";
import { ROOT, metricOf, startTestServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";

/** the previous release's agent: the first parent of the merge that introduced /agent.io/ */
const PREVIOUS = "1403b56^1";

function git(args: string[], opts: { input?: Buffer } = {}): { ok: boolean; out: Buffer; err: string } {
  const r = spawnSync("git", args, { cwd: ROOT, input: opts.input, maxBuffer: 256 * 1024 * 1024 });
  return { ok: r.status === 0, out: r.stdout ?? Buffer.alloc(0), err: (r.stderr ?? Buffer.alloc(0)).toString() };
}

describe(`an agent of the previous release (${testDbKind()})`, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "kam-compat-"));
  let bundle = "";
  let missing: string | null = null;
  const children: ChildProcess[] = [];

  before(() => {
    const commit = git(["rev-parse", "--verify", "--quiet", `${PREVIOUS}^{commit}`]);
    if (!commit.ok) {
      missing = `the repository's history has no commit ${PREVIOUS} (a shallow clone or an export): git fetch --unshallow`;
      if (process.env.CI === "true") throw new Error(missing);
      return;
    }
    // that commit's sources and build script, with this checkout's node_modules (esbuild, socket.io-client, zod)
    const src = path.join(work, "src");
    fs.mkdirSync(src);
    const tar = git(["archive", "--format=tar", commit.out.toString().trim(), "agent", "server", "package.json", "tsconfig.json"]);
    assert.ok(tar.ok, `git archive: ${tar.err}`);
    const x = spawnSync("tar", ["-x", "-C", src], { input: tar.out });
    assert.equal(x.status, 0, `tar: ${x.stderr?.toString()}`);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(src, "node_modules"));
    const b = spawnSync(process.execPath, [path.join(src, "agent/build.mjs")], { cwd: src, encoding: "utf8" });
    assert.equal(b.status, 0, `the previous release's agent build: ${b.stdout}${b.stderr}`);
    bundle = path.join(work, "keepalived-agent.cjs");
    fs.copyFileSync(path.join(src, "dist/keepalived-agent.cjs"), bundle);
    // the old agent really is the old one: it knows nothing of the agent path
    assert.ok(!fs.readFileSync(bundle, "utf8").includes("/agent.io"), "the previous release's bundle predates /agent.io/");
  });
  after(() => {
    for (const c of children) c.kill("SIGKILL");
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** the old bundle for node `node` of `srv`, with a log file and the fixture's keepalived.conf */
  async function runOld(srv: TestServer, cluster: string, node: string): Promise<{ child: ChildProcess; logFile: string; stderr: () => string }> {
    const dir = fs.mkdtempSync(path.join(work, `${node}-`));
    const logFile = path.join(dir, "keepalived.log");
    const conf = path.join(dir, "keepalived.conf");
    fs.copyFileSync(path.join(ROOT, "test/fixtures/agent/node1.conf"), conf);
    fs.writeFileSync(logFile, "");
    fs.writeFileSync(path.join(dir, "token"), `${await srv.token(cluster, node)}\n`, { mode: 0o600 });
    const args = [bundle, "--server", srv.url, "--token-file", path.join(dir, "token"), "--node", node, "--state-dir", path.join(dir, "state"),
      "--source", "file", "--log-file", logFile, "--keepalived-conf", conf, "--vip-interval", "1", "--heartbeat-interval", "1", "--log-level", "info"];
    // outside the repository, no node_modules reachable: the bundle is all it has
    const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir } as unknown as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    return { child, logFile, stderr: () => out };
  }

  it("connects on the legacy path; its records are stored and its node shown with its state", async (t) => {
    if (missing) return t.skip(missing);
    const srv = await startTestServer();
    t.after(() => srv.close());
    const legacyBefore = await metricOf(srv, "kam_agent_legacy_path_total", { cluster: "compat" });
    const old = await runOld(srv, "compat", "old1");
    const node = async () => {
      const list = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
      return list.find((c) => c.name === "compat")?.nodes.find((n) => n.name === "old1") ?? null;
    };
    await waitFor("the old agent's node online with its config", async () => {
      const n = await node();
      return n?.online && n.instances.some((i) => i.name === "VI_1") ? n : null;
    }, 20_000);
    fs.appendFileSync(old.logFile, "(VI_1) Entering BACKUP STATE (init)\n(VI_1) Entering MASTER STATE\n");
    const n = await waitFor("its MASTER line applied", async () => {
      const v = await node();
      return v?.instances.find((i) => i.name === "VI_1")?.state === "MASTER" ? v : null;
    }, 20_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; the node: ${JSON.stringify(await node())}; the agent: ${old.stderr()}`);
    });
    assert.equal(n.agent?.version, "0.1.0", "the version it announced");
    assert.equal(n.agent?.outdated, false, "the same release number: not older");
    assert.equal(await metricOf(srv, "kam_agent_legacy_path_total", { cluster: "compat" }), legacyBefore + 1, "counted as a legacy-path connection");
    assert.doesNotMatch(old.stderr(), /"level":(40|50|60)|refused/, `no warning or error from the old agent: ${old.stderr()}`);
  });

  it("is refused, with the reason, by a server that no longer serves the legacy path", async (t) => {
    if (missing) return t.skip(missing);
    const srv = await startTestServer({ env: { KAM_AGENT_LEGACY_PATH: "off" } });
    t.after(() => srv.close());
    const old = await runOld(srv, "compat-off", "old2");
    await waitFor("the refusal in the old agent's log", () => (/upgrade the agent/.test(old.stderr()) ? true : null), 20_000);
    const list = (await (await fetch(`${srv.url}/api/clusters`)).json()) as ClusterSummary[];
    assert.equal(list.find((c) => c.name === "compat-off")?.nodes.find((x) => x.name === "old2")?.online ?? false, false, "never online");
  });
});
