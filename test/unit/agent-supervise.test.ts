/**
 * Helper processes (ip monitor, journalctl) never outlive the agent: the
 * supervisor's sh guard stops them when the agent closes the pipe or dies,
 * SIGKILL included (the non-systemd case; under systemd KillMode=control-group
 * covers it too). Real processes throughout: a real `sleep`-like helper, the
 * real agent bundle with the real `ip monitor`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Supervisor } from "../../agent/supervise";
import { silentLogger } from "../../agent/log";
import { startStandIn } from "./agent-standin-server";
import { waitFor } from "../helpers/wait";
import { tmpDir } from "../helpers/tmp";
import { descendants } from "../helpers/procs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));

/** a helper that writes its pid and then nothing, for ever (like `ip monitor` on a quiet node) */
function quietHelper(dir: string): { command: string; args: () => string[]; pid: () => number | null } {
  const pidFile = path.join(dir, "helper.pid");
  return {
    command: "sh",
    args: () => ["-c", `echo $$ > ${pidFile}; exec sleep 1000`],
    pid: () => (fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").trim() ? Number(fs.readFileSync(pidFile, "utf8")) : null),
  };
}

test("stop() ends the helper; a helper that exits by itself is reported with its code and restarted", async (t) => {
  const dir = tmpDir(t, "kam-sup-");
  const h = quietHelper(dir);
  const sup = new Supervisor({ name: "quiet", command: h.command, args: h.args, onLine: () => {}, log: silentLogger() });
  sup.start();
  const pid = await waitFor("the helper", h.pid, 5000, 20);
  assert.ok(alive(pid));
  await sup.stop();
  await waitFor("the helper to stop", () => !alive(pid), 3000, 20);

  const exits: Array<number | null> = [];
  const lines: string[] = [];
  let runs = 0;
  const flaky = new Supervisor({
    name: "flaky", command: "sh", args: () => ["-c", `echo run ${++runs}; echo oops >&2; exit 3`], onLine: (l) => lines.push(l), log: silentLogger(),
    minDelayMs: 50, onExit: (code) => exits.push(code),
  });
  flaky.start();
  t.after(() => flaky.stop());
  await waitFor("two exits", () => exits.length >= 2, 5000, 20);
  assert.deepEqual(exits.slice(0, 2), [3, 3]);
  assert.deepEqual(lines.slice(0, 2), ["run 1", "run 2"]);
  assert.match(flaky.status(), /exited \(code 3\): oops; restarting/);

  const missing = new Supervisor({ name: "missing", command: "no-such-command-kam", args: () => [], onLine: () => {}, log: silentLogger(), onExit: (code) => exits.push(code) });
  missing.start();
  t.after(() => missing.stop());
  await waitFor("the missing command reported", () => /cannot run no-such-command-kam: command not found/.test(missing.status()), 5000, 20);
});

test("stop() right after start() (the guard barely running) leaves no helper behind and always returns", async (t) => {
  const dir = tmpDir(t, "kam-sup-");
  // rounds 0-19 stop after 0-19 ms (the helper may or may not have started); rounds 20-23 stop right after the
  // helper wrote its pid, so the test always checks at least four helpers that did start
  let checked = 0;
  for (let i = 0; i < 24; i++) {
    const h = quietHelper(dir);
    fs.rmSync(path.join(dir, "helper.pid"), { force: true });
    const sup = new Supervisor({ name: "quick", command: h.command, args: h.args, onLine: () => {}, log: silentLogger() });
    sup.start();
    if (i >= 20) await waitFor(`the helper of round ${i}`, h.pid, 5000, 20);
    else if (i % 2) await new Promise((r) => setTimeout(r, i));
    await sup.stop();
    await new Promise((r) => setTimeout(r, 50));
    const pid = h.pid();
    if (pid !== null) {
      await waitFor(`helper of round ${i} to be gone`, () => !alive(pid), 3000, 20);
      checked++;
    }
  }
  assert.ok(checked >= 4, `only ${checked} rounds had a helper to check`);
});

test("a SIGKILLed process running a supervisor takes its helper with it (no systemd needed)", async (t) => {
  const dir = tmpDir(t, "kam-sup-");
  const pidFile = path.join(dir, "helper.pid");
  const script = `
    import { Supervisor } from ${JSON.stringify(path.join(repo, "agent/supervise.ts"))};
    import { silentLogger } from ${JSON.stringify(path.join(repo, "agent/log.ts"))};
    new Supervisor({ name: "quiet", command: "sh", args: () => ["-c", "echo $$ > ${pidFile}; exec sleep 1000"], onLine: () => {}, log: silentLogger() }).start();
    setInterval(() => {}, 1000);`;
  const file = path.join(dir, "run.ts");
  fs.writeFileSync(file, script);
  const parent = spawn(process.execPath, ["--import", "tsx", file], { cwd: repo, stdio: "ignore" });
  t.after(() => parent.kill("SIGKILL"));
  const pid = await waitFor("the helper", () => (fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").trim() ? Number(fs.readFileSync(pidFile, "utf8")) : null), 20_000, 20);
  assert.ok(alive(pid));
  parent.kill("SIGKILL");
  await waitFor("the helper to die with its parent", () => !alive(pid), 5000, 20);
});

test("the real agent bundle, SIGKILLed, leaves no `ip monitor` behind", { skip: spawnSync("ip", ["-V"]).status === 0 ? false : "iproute2 (ip) is not installed" }, async (t) => {
  const bundle = path.join(repo, "dist/keepalived-agent.cjs");
  assert.ok(fs.existsSync(bundle), "npm run build:agent first");
  const srv = await startStandIn("kam_supervise-test-token-000000000");
  t.after(() => srv.close());
  const work = tmpDir(t, "kam-sup-agent-");
  fs.writeFileSync(path.join(work, "keepalived.log"), "");
  const agent = spawn(process.execPath, [bundle, "--server", srv.url, "--token", "kam_supervise-test-token-000000000", "--node", "sup1",
    "--state-dir", path.join(work, "state"), "--source", "file", "--log-file", path.join(work, "keepalived.log"), "--keepalived-conf", "none",
    "--log-level", "warn"], { stdio: "ignore" });
  t.after(() => agent.kill("SIGKILL"));
  const monitor = await waitFor("ip monitor under the agent", () => descendants(agent.pid!).find((p) => /\bip monitor address$/.test(p.cmd)), 15_000, 20);
  const helpers = descendants(agent.pid!).map((p) => p.pid);
  agent.kill("SIGKILL");
  await waitFor("ip monitor to exit with the agent", () => !alive(monitor.pid), 5000, 20);
  for (const p of helpers) await waitFor(`helper ${p} to exit`, () => !alive(p), 5000, 20);
});
