/**
 * The agent's keepalived process watch: /proc and pidfile parsing, then the
 * event logic on real processes: stand-ins named keepalived (a shell script
 * called `keepalived` has that comm) and a REAL keepalived, each inside a
 * network namespace this test creates, SIGKILLed and SIGTERMed.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { exitDetail, parsePidfile, parseStat, ProcessWatch, SHUTDOWN_LINE, type ProcessRecord } from "../../agent/process-watch";
import { silentLogger } from "../../agent/log";
import { ProcessRecordMsg } from "../../server/protocol";
import { canUseNetns, createNetns, type Netns } from "../helpers/netns";
import { fakeKeepalived as startFake, keepalivedChildOf } from "../helpers/fake-keepalived";
import { waitFor } from "../helpers/wait";

test("parseStat reads pid, comm (with spaces and parentheses), state, ppid and start time", () => {
  const fields = (comm: string) => `4242 (${comm}) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200`;
  assert.deepEqual(parseStat(fields("keepalived")), { pid: 4242, comm: "keepalived", state: "S", ppid: 17, startTime: 98765 });
  assert.equal(parseStat(fields("a) b (c"))?.comm, "a) b (c");
  assert.equal(parseStat(fields("x"))?.ppid, 17);
  for (const bad of ["", "garbage", "12 keepalived S 1", "x (keepalived) S 1 2 3", "-3 (k) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 5"]) {
    assert.equal(parseStat(bad), null, JSON.stringify(bad));
  }
});

test("parsePidfile takes the first line's decimal pid and nothing else", () => {
  assert.equal(parsePidfile("1234\n"), 1234);
  assert.equal(parsePidfile("  77"), 77);
  for (const bad of ["", "\n", "0\n", "abc", "12ab\n", "-5", "99999999999"]) assert.equal(parsePidfile(bad), null, JSON.stringify(bad));
});

test("exit detail from systemd and kernel lines; shutdown lines", () => {
  assert.deepEqual(exitDetail("keepalived.service: Main process exited, code=killed, status=9/KILL"), { exit: "signal KILL", graceful: false });
  assert.deepEqual(exitDetail("keepalived.service: Main process exited, code=exited, status=1/FAILURE"), { exit: "exit status 1", graceful: false });
  assert.deepEqual(exitDetail("keepalived.service: Main process exited, code=exited, status=0/SUCCESS"), { exit: "exit status 0", graceful: true });
  assert.deepEqual(exitDetail("keepalived.service: Main process exited, code=dumped, status=11/SEGV"), { exit: "signal SEGV (core dumped)", graceful: false });
  assert.deepEqual(exitDetail("Out of memory: Killed process 812 (keepalived) total-vm:10000kB"), { exit: "oom-kill", graceful: false });
  assert.equal(exitDetail("Out of memory: Killed process 812 (nginx)"), null);
  assert.equal(exitDetail("(VI_1) Entering MASTER STATE"), null);
  for (const l of ["Stopping", "Stopped", "Stopped Keepalived v2.2.7 (01/16,2022)"]) assert.ok(SHUTDOWN_LINE.test(l), l);
  assert.ok(!SHUTDOWN_LINE.test("(VI_1) Entering BACKUP STATE"));
});

// ---------------------------------------------------------------- real processes

const skipNs = canUseNetns();
const HAVE_KEEPALIVED = fs.existsSync("/usr/sbin/keepalived") || fs.existsSync("/sbin/keepalived");
const made: Netns[] = [];
const procs: ChildProcess[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-procwatch-"));
after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const n of made) n.destroy();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let nsCount = 0;
function netns(): Netns {
  const n = createNetns("kampw", `198.18.0.${10 + nsCount++}/24`);
  made.push(n);
  return n;
}

function fakeKeepalived(dir: string, ns: string, pidfiles: boolean): ChildProcess {
  const c = startFake(dir, ns, pidfiles);
  procs.push(c);
  return c;
}

function collect(o: Partial<ConstructorParameters<typeof ProcessWatch>[0]> & { netns: string | null }) {
  const got: (ProcessRecord & { at: number })[] = [];
  const w = new ProcessWatch({
    pidfile: null, vrrpPidfile: null, log: silentLogger(), defaultPidfiles: [], defaultVrrpPidfiles: [], scanMs: 500,
    ...o,
    emit: (r) => {
      // every record must pass the wire schema
      ProcessRecordMsg.parse({ ...r, seq: got.length + 1 });
      got.push({ ...r, at: Date.now() });
    },
  });
  return { w, got };
}

const childPid = keepalivedChildOf;

test("a VRRP child left a zombie (its parent does not reap it) counts as gone: child_vanished, the parent still running", async (t) => {
  // a copy of `sleep` named keepalived: the parent execs into a long sleep, so its short-lived child is never reaped
  const dir = path.join(tmp, "zombie");
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  const sleepBin = fs.realpathSync(spawnSync("sh", ["-c", "command -v sleep"]).stdout.toString().trim());
  fs.copyFileSync(sleepBin, path.join(dir, "bin/keepalived"));
  fs.chmodSync(path.join(dir, "bin/keepalived"), 0o755);
  const parent = spawn("sh", ["-c", `"${dir}/bin/keepalived" 1.5 & echo $! > "${dir}/vrrp.pid"; echo $$ > "${dir}/keepalived.pid"; exec "${dir}/bin/keepalived" 30`], { stdio: "ignore" });
  procs.push(parent);
  const child = await waitFor("pidfiles", () => (fs.existsSync(`${dir}/vrrp.pid`) && fs.existsSync(`${dir}/keepalived.pid`) ? Number(fs.readFileSync(`${dir}/vrrp.pid`, "utf8")) || null : null), 5000);
  const { w, got } = collect({ netns: null, pidfile: `${dir}/keepalived.pid`, vrrpPidfile: `${dir}/vrrp.pid`, intervalMs: 100 });
  t.after(() => w.stop());
  w.start();
  await waitFor("announced with its child", () => got.find((r) => r.running && r.vrrpPid === child), 5000);
  await waitFor("the child a zombie", () => parseStat(fs.readFileSync(`/proc/${child}/stat`, "latin1"))?.state === "Z", 5000);
  const gone = await waitFor("child_vanished", () => got.find((r) => r.event === "child_vanished"), 3000);
  assert.equal(gone.running, true);
  assert.equal(gone.pid, parent.pid);
  assert.equal(gone.vrrpPid, null);
  assert.ok(!got.some((r) => r.event === "vanished" || r.event === "stopped"), JSON.stringify(got));
});

test("stand-in keepalived found by /proc scan, only in the watched namespace; SIGKILL -> vanished within 2 s", { skip: skipNs ?? false }, async (t) => {
  const a = netns();
  const b = netns();
  const p = fakeKeepalived(path.join(tmp, "scan"), a.name, false);
  const inA = collect({ netns: a.name });
  const inB = collect({ netns: b.name });
  const host = collect({ netns: null });
  try {
    await waitFor("the stand-in's child", () => childPid(p.pid!) > 0, 8000, 25);
    const child = childPid(p.pid!);
    for (const x of [inA, inB, host]) x.w.start();
    const first = await waitFor("first record in A", () => inA.got[0], 8000, 25);
    assert.deepEqual({ ...first, at: 0, ts: 0 }, { kind: "process", ts: 0, at: 0, running: true, event: "observed", pid: p.pid, vrrpPid: child, via: "proc", exit: null });
    assert.deepEqual(inB.got.map((r) => [r.event, r.running]), [["observed", false]], "another namespace's keepalived does not count");
    assert.ok(host.got.every((r) => r.pid !== p.pid), "nor is it the host namespace's");

    // the child alone dies (keepalived's parent would respawn it)
    process.kill(child, "SIGKILL");
    const cv = await waitFor("child_vanished", () => inA.got.find((r) => r.event === "child_vanished"), 8000, 25);
    assert.deepEqual([cv.running, cv.pid, cv.vrrpPid], [true, p.pid, null]);

    const t0 = Date.now();
    process.kill(p.pid!, "SIGKILL");
    const v = await waitFor("vanished", () => inA.got.find((r) => r.event === "vanished"), 4000, 25);
    t.diagnostic(`vanished reported ${v.at - t0} ms after the SIGKILL`);
    assert.ok(v.at - t0 < 2000, `reported ${v.at - t0} ms after the SIGKILL`);
    assert.deepEqual([v.running, v.pid, v.vrrpPid, v.exit], [false, null, null, null]);
  } finally {
    for (const x of [inA, inB, host]) x.w.stop();
  }
});

test("pidfiles: a stale pidfile does not count; start, graceful stop (a Stopping line) and exit detail", { skip: skipNs ?? false }, async (t) => {
  const a = netns();
  const dir = path.join(tmp, "pidfile");
  fs.mkdirSync(dir, { recursive: true });
  // stale: a pid that is not keepalived (this test process)
  fs.writeFileSync(path.join(dir, "keepalived.pid"), `${process.pid}\n`);
  const x = collect({ netns: a.name, pidfile: path.join(dir, "keepalived.pid"), scanMs: 3_600_000 });
  x.w.start();
  try {
    const first = await waitFor("first record", () => x.got[0], 8000, 25);
    assert.deepEqual([first.event, first.running, first.via], ["observed", false, "pidfile"]);
    const p = fakeKeepalived(dir, a.name, true);
    const started = await waitFor("started", () => x.got.find((r) => r.event === "started"), 8000, 25);
    const vrrp = Number(fs.readFileSync(path.join(dir, "vrrp.pid"), "utf8"));
    assert.deepEqual([started.running, started.pid, started.vrrpPid, started.via], [true, p.pid, vrrp, "pidfile"]);

    // a graceful stop: keepalived logs Stopping, then exits
    x.w.noteLine("Stopping");
    x.w.noteLine("keepalived.service: Main process exited, code=exited, status=0/SUCCESS");
    const t0 = Date.now();
    p.kill("SIGTERM");
    const s = await waitFor("stopped", () => x.got.find((r) => r.event === "stopped"), 4000, 25);
    t.diagnostic(`stopped reported ${s.at - t0} ms after the SIGTERM`);
    assert.ok(s.at - t0 < 2000, `reported ${s.at - t0} ms after the stop`);
    assert.deepEqual([s.running, s.exit], [false, "exit status 0"]);

    // started again, then OOM-killed: vanished with the kernel's word for it (the earlier Stopping no longer counts)
    fs.rmSync(path.join(dir, "keepalived.pid"));
    const p2 = fakeKeepalived(dir, a.name, true);
    await waitFor("started again", () => x.got.filter((r) => r.event === "started").length === 2, 8000, 25);
    x.w.noteLine("Out of memory: Killed process 1 (keepalived) total-vm:1kB");
    // a journal line of an hour ago (the backlog read at the agent's first start) says nothing of now
    x.w.noteLine("Stopped Keepalived v2.2.7", Date.now() - 3_600_000);
    const c2 = childPid(p2.pid!);
    process.kill(c2, "SIGKILL");
    process.kill(p2.pid!, "SIGKILL");
    const v = await waitFor("vanished", () => x.got.find((r) => r.event === "vanished"), 4000, 25);
    assert.deepEqual([v.running, v.exit], [false, "oom-kill"]);
    assert.deepEqual(x.got.map((r) => r.event).filter((e) => e !== "child_vanished"), ["observed", "started", "stopped", "started", "vanished"]);
    // nothing more while nothing changes; the confirmation comes on report()
    const n = x.got.length;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(x.got.length, n);
    x.w.report();
    assert.deepEqual([x.got.at(-1)!.event, x.got.at(-1)!.running], ["observed", false]);
  } finally {
    x.w.stop();
  }
});

const skipReal = skipNs ?? (HAVE_KEEPALIVED ? false : "keepalived is not installed");

test("REAL keepalived in a namespace: SIGTERM -> stopped (from its own Stopping lines), SIGKILL of every process -> vanished within 2 s", { skip: skipReal, timeout: 60_000 }, async (t) => {
  const a = netns();
  const dir = path.join(tmp, "real");
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, "keepalived.conf");
  fs.writeFileSync(
    conf,
    `global_defs {\n  router_id procwatch\n}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 77\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    198.18.0.177/24 dev eth0\n  }\n}\n`,
  );
  const pidArgs = ["-p", path.join(dir, "keepalived.pid"), "-r", path.join(dir, "vrrp.pid"), "-c", path.join(dir, "checkers.pid")];
  const x = collect({ netns: a.name, pidfile: path.join(dir, "keepalived.pid"), vrrpPidfile: path.join(dir, "vrrp.pid") });
  const lines: string[] = [];
  const run = (): ChildProcess => {
    const k = spawn("ip", ["netns", "exec", a.name, "keepalived", "-n", "-l", "-D", "-f", conf, ...pidArgs], { stdio: ["ignore", "pipe", "pipe"] });
    procs.push(k);
    // the agent's log source hands every line to the watch; here keepalived's console output stands in for it
    let rest = "";
    const feed = (b: Buffer) => {
      const parts = (rest + b.toString()).split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        x.w.noteLine(l);
      }
    };
    k.stdout!.on("data", feed);
    k.stderr!.on("data", feed);
    return k;
  };
  x.w.start();
  try {
    const k = run();
    const s1 = await waitFor("keepalived running", () => x.got.find((r) => r.running && r.vrrpPid), 10_000, 25);
    assert.equal(s1.pid, k.pid);
    await waitFor("vrrp pidfile", () => fs.existsSync(path.join(dir, "vrrp.pid")), 8000, 25);
    assert.equal(s1.vrrpPid, Number(fs.readFileSync(path.join(dir, "vrrp.pid"), "utf8")));

    k.kill("SIGTERM");
    const st = await waitFor("stopped", () => x.got.find((r) => r.event === "stopped"), 10_000, 25);
    assert.ok(lines.some((l) => /Stopped Keepalived/.test(l)), `keepalived logged its stop: ${lines.slice(-5).join(" | ")}`);
    assert.equal(st.running, false);

    const k2 = run();
    const s2 = await waitFor("keepalived running again", () => x.got.find((r) => r.event === "started" && r.pid === k2.pid && r.vrrpPid), 10_000, 25);
    const vrrp = s2.vrrpPid!;
    assert.equal(s2.pid, k2.pid);
    const t0 = Date.now();
    process.kill(k2.pid!, "SIGKILL");
    process.kill(vrrp, "SIGKILL");
    const v = await waitFor("vanished", () => x.got.find((r) => r.event === "vanished"), 5000, 25);
    t.diagnostic(`real keepalived: vanished reported ${v.at - t0} ms after the SIGKILL`);
    assert.ok(v.at - t0 < 2000, `vanished reported ${v.at - t0} ms after the SIGKILL`);
    assert.deepEqual([v.running, v.exit], [false, null]);
    assert.ok(!x.got.some((r) => r.event === "vanished" && r.at < t0), "the graceful stop was not reported as vanished");
  } finally {
    x.w.stop();
  }
});
