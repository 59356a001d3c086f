/**
 * The agent's keepalived dumps (agent/dumps.ts): parsing the JSON and the text dumps captured from a real
 * keepalived 2.2.7 (test/fixtures/keepalived-2.2.7/dumps, capture.sh there), keepalived's temporary directory,
 * then the sampler against a REAL keepalived in a network namespace this test creates (its TMPDIR set, so the
 * dump is found through /proc/PID/environ and /proc/PID/root), and its failures: counted, logged once per
 * kind and period, never thrown.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { DumpParseError, Dumps, hasJson, keepalivedTmpDir, parseJsonDump, parseTextDumps, type DumpRecord } from "../../agent/dumps";
import { parseAgentOptions } from "../../agent/options";
import { silentLogger, type Logger } from "../../agent/log";
import { DumpInstance, DumpRecordMsg } from "../../server/protocol";
import { canUseNetns, createNetns, type Netns } from "../helpers/netns";
import { waitFor } from "../helpers/wait";

const FIX = path.join(import.meta.dirname, "../fixtures/keepalived-2.2.7/dumps");
const read = (f: string) => fs.readFileSync(path.join(FIX, f), "utf8");

test("the JSON dump of keepalived 2.2.7: state, priorities and every counter; never the password", () => {
  const text = read("keepalived.json");
  const got = parseJsonDump(text);
  assert.deepEqual(got.map((i) => i.name), ["VI_1", "VI_2"]);
  const [a, b] = got;
  assert.deepEqual({ ...a, stats: undefined }, { name: "VI_1", vrid: 51, state: "MASTER", basePriority: 100, effectivePriority: 100, stats: undefined });
  // node b had another auth_pass than its peer: keepalived counted the adverts it refused
  assert.equal(a.stats.auth_failure, 2);
  assert.equal(a.stats.advert_rcvd, 0);
  assert.equal(a.stats.become_master, 1);
  assert.equal(b.state, "BACKUP");
  assert.equal(b.stats.advert_rcvd, 5);
  assert.equal(b.stats.auth_failure, 0);
  for (const i of got) assert.ok(DumpInstance.safeParse(i).success, i.name);
  assert.ok(text.includes("auth_data"), "the fixture has the password field");
  assert.ok(!JSON.stringify(got).includes("other"), "the password is not kept");
});

test("the STATS and DATA text dumps give the same figures as the JSON one taken at the same moment", () => {
  const text = parseTextDumps(read("keepalived.stats"), read("keepalived.data"));
  assert.deepEqual(text, parseJsonDump(read("keepalived.json")));
  // without the DATA dump: the counters, and nulls where only DATA knows
  const statsOnly = parseTextDumps(read("keepalived.stats"), null);
  assert.equal(statsOnly[0].stats.auth_failure, 2);
  assert.deepEqual([statsOnly[0].vrid, statsOnly[0].state, statsOnly[0].effectivePriority], [null, null, null]);
});

test("json_version 2 layout ({vrrp: [...]}); malformed dumps are a DumpParseError naming what is wrong", () => {
  const one = JSON.parse(read("keepalived.json"))[0];
  assert.equal(parseJsonDump(JSON.stringify({ vrrp: [one], track_process: [] }))[0].name, "VI_1");
  const bad: [string, RegExp][] = [
    ["{not json", /not JSON/],
    ["{}", /neither an array/],
    ["[{}]", /entry 0 has no data or stats/],
    [JSON.stringify([{ data: {}, stats: {} }]), /no instance name/],
    [JSON.stringify([{ data: { iname: "X" }, stats: { advert_rcvd: -1 } }]), /stats\.advert_rcvd is not a counter/],
    [JSON.stringify([{ data: { iname: "X" }, stats: { auth_failure: "2" } }]), /stats\.auth_failure/],
  ];
  for (const [t, re] of bad) assert.throws(() => parseJsonDump(t), (e: Error) => e instanceof DumpParseError && re.test(e.message), t);
  assert.throws(() => parseTextDumps("VRRP Instance: X\n  Advertisements:\n    Received: lots\n", null), DumpParseError);
  assert.throws(() => parseTextDumps("something else\n", null), /no "VRRP Instance:" section/);
  assert.deepEqual(parseTextDumps("", null), []);
});

test("keepalived's temporary directory: an absolute TMPDIR, else KA_TMP_DIR, else /tmp", () => {
  assert.equal(keepalivedTmpDir("PATH=/bin\0TMPDIR=/var/ka\0KA_TMP_DIR=/x\0"), "/var/ka");
  assert.equal(keepalivedTmpDir("TMPDIR=relative\0KA_TMP_DIR=/x\0"), "/x");
  assert.equal(keepalivedTmpDir("PATH=/bin\0"), "/tmp");
  assert.equal(keepalivedTmpDir(""), "/tmp");
  assert.ok(hasJson("Keepalived v2.2.7\n\nConfig options:  NFTABLES LVS VRRP JSON BFD\n"));
  assert.ok(!hasJson("Keepalived v2.2.7\n\nConfig options:  NFTABLES LVS VRRP BFD\n\nSystem options:  JSON_LIKE\n"));
});

test("--dumps-interval / KAM_DUMPS_INTERVAL: off by default, 0 to 3600 seconds", () => {
  const deps = { readFile: () => { throw Object.assign(new Error("ENOENT"), { code: "ENOENT" }); }, hostname: () => "n1" };
  const base = ["--server", "http://s:1", "--token", "0123456789abcdef0123"];
  const ok = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseAgentOptions(argv, env, deps);
    assert.equal(r.kind, "ok", JSON.stringify(r));
    return r.kind === "ok" ? r.options.dumpsInterval : NaN;
  };
  assert.equal(ok(base), 0);
  assert.equal(ok([...base, "--dumps-interval", "10"]), 10);
  assert.equal(ok(base, { KAM_DUMPS_INTERVAL: "30" }), 30);
  const r = parseAgentOptions([...base, "--dumps-interval", "-1"], {}, deps);
  assert.equal(r.kind, "error");
  assert.match(r.kind === "error" ? r.message : "", /--dumps-interval \/ KAM_DUMPS_INTERVAL/);
});

/** a logger whose lines the test reads */
function capture(): { log: Logger; lines: { msg: string; problem?: string; suppressed?: number }[] } {
  const lines: { msg: string; problem?: string; suppressed?: number }[] = [];
  const log: Logger = pino({ level: "info" }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
  return { log, lines };
}

test("failures are counted, logged once per kind and period naming the setting, and never thrown; an older server gets nothing", async () => {
  // a process that is not keepalived (our own child): the signal reaches it, no dump appears
  const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-dumps-"));
  try {
    const { log, lines } = capture();
    let now = 1_000_000;
    let accepts: boolean | null = null;
    const emitted: DumpRecord[] = [];
    const d = new Dumps({
      intervalMs: 1000, pid: () => 999_999_999, accepts: () => accepts, log, emit: (r) => emitted.push(r),
      settleMs: 5, tries: 2, logEveryMs: 60_000, now: () => now,
    });
    assert.equal(await d.tick(), null, "not known yet whether the server takes them: nothing");
    accepts = false;
    assert.equal(await d.tick(), null);
    assert.equal(await d.tick(), null);
    assert.equal(lines.filter((l) => /does not take keepalived dump samples/.test(l.msg)).length, 1, "said once");
    assert.match(d.status(), /server does not take them/);
    accepts = true;
    // no such process: counted as missing
    assert.equal(await d.tick(), null);
    assert.equal(d.stats.errors.missing, 1);
    assert.equal(await d.tick(), null);
    assert.equal(d.stats.errors.missing, 2);
    const missing = lines.filter((l) => l.problem === "missing");
    assert.equal(missing.length, 1, "the second failure of the kind within the period is not logged");
    assert.match(missing[0].msg, /--dumps-interval \/ KAM_DUMPS_INTERVAL/);
    now += 61_000;
    await d.tick();
    const again = lines.filter((l) => l.problem === "missing");
    assert.equal(again.length, 2);
    assert.equal(again[1].suppressed, 1, "says how many it did not log");
    assert.match(d.status(), /cannot read|cannot signal/);
    assert.equal(emitted.length, 0);
    // a keepalived binary that is not there: its own kind
    const nobin = new Dumps({ intervalMs: 1000, pid: () => sleeper.pid!, accepts: () => true, log: silentLogger(), emit: () => {}, keepalived: path.join(tmp, "none") });
    assert.equal(await nobin.tick(), null);
    assert.equal(nobin.stats.errors.keepalived, 1);
  } finally {
    sleeper.kill("SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

const skipReal = canUseNetns() ?? (() => {
  try {
    execFileSync("keepalived", ["-v"], { stdio: "ignore" });
    return false;
  } catch {
    return "keepalived is not installed";
  }
})();

const procs: ChildProcess[] = [];
const spaces: Netns[] = [];
after(() => {
  for (const p of procs) p.kill("SIGKILL");
  for (const n of spaces) n.destroy();
});

test("REAL keepalived in a namespace with its own TMPDIR: a sample per tick, counters rising, the effective priority", { skip: skipReal, timeout: 60_000 }, async () => {
  const ns = createNetns("kamdump", "198.18.0.61/24");
  spaces.push(ns);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-dumps-real-"));
  const ka = path.join(dir, "ka");
  fs.mkdirSync(ka);
  try {
    const conf = path.join(dir, "keepalived.conf");
    fs.writeFileSync(conf, `global_defs {\n  router_id dumps\n}\nvrrp_script chk {\n  script "/bin/true"\n  interval 1\n  weight 7\n}\n` +
      `vrrp_instance VI_D {\n  state MASTER\n  interface eth0\n  virtual_router_id 61\n  priority 120\n  advert_int 1\n  virtual_ipaddress {\n    198.18.0.161/24 dev eth0\n  }\n  track_script {\n    chk\n  }\n}\n`);
    const k = spawn("ip", ["netns", "exec", ns.name, "keepalived", "-n", "-l", "-D", "-f", conf, "-p", path.join(dir, "k.pid"), "-r", path.join(dir, "v.pid")], {
      stdio: "ignore", env: { ...process.env, TMPDIR: ka },
    });
    procs.push(k);
    const got: DumpRecord[] = [];
    const d = new Dumps({ intervalMs: 1000, pid: () => k.pid!, accepts: () => true, log: silentLogger(), emit: (r) => got.push(r) });
    const first = await waitFor("a dump with the instance MASTER", async () => {
      const r = await d.tick();
      return r && r.instances[0]?.state === "MASTER" && r.instances[0].stats.advert_sent > 0 ? r : null;
    }, 20_000, 300);
    assert.equal(first.source, "json", "Debian's keepalived lists JSON in -v");
    assert.equal(first.pid, k.pid);
    assert.ok(fs.existsSync(path.join(ka, "keepalived.json")), "written in keepalived's TMPDIR, found through /proc/PID/environ");
    const i = first.instances[0];
    assert.deepEqual([i.name, i.vrid, i.basePriority, i.effectivePriority], ["VI_D", 61, 120, 127], "effective = configured + the script's weight");
    await new Promise((r) => setTimeout(r, 2200));
    const second = await d.tick();
    assert.ok(second, `a second sample (${d.status()})`);
    assert.ok(second.instances[0].stats.advert_sent > i.stats.advert_sent, "advert_sent rises");
    for (const r of got) assert.ok(DumpRecordMsg.safeParse({ ...r, seq: 1 }).success);
    assert.equal(d.status(), "ok");
    // the fallback of builds without JSON: the STATS and DATA text dumps of the same keepalived
    const text = await new Dumps({ intervalMs: 1000, pid: () => k.pid!, accepts: () => true, log: silentLogger(), emit: () => {}, textOnly: true }).tick();
    assert.ok(text, "a sample from the text dumps");
    assert.equal(text.source, "text");
    const ti = text.instances[0];
    assert.deepEqual([ti.name, ti.vrid, ti.state, ti.basePriority, ti.effectivePriority], ["VI_D", 61, "MASTER", 120, 127]);
    assert.ok(ti.stats.advert_sent >= second.instances[0].stats.advert_sent, "the same counters, read later");
    assert.ok(DumpRecordMsg.safeParse({ ...text, seq: 1 }).success);
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
