import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IDLE_FACTOR, mapIpAddr, VipProbe } from "../../agent/vips";
import { silentLogger } from "../../agent/log";
import type { HeldAddress, VipRecordMsg } from "../../server/protocol";
import { waitFor } from "../helpers/wait";

const CI = process.env.CI === "true";

function haveIp(): boolean {
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** `ip -j addr` of a node holding a VIP, shaped like iproute2 6.1 prints it */
const SYNTHETIC = [
  {
    ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, link_type: "loopback",
    addr_info: [
      { family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" },
      { family: "inet6", local: "::1", prefixlen: 128, scope: "host" },
    ],
  },
  {
    ifindex: 2, ifname: "eth0", flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], mtu: 1500, link_type: "ether",
    address: "02:00:00:00:00:01",
    addr_info: [
      { family: "inet", local: "198.18.0.2", prefixlen: 24, broadcast: "198.18.0.255", scope: "global", label: "eth0" },
      { family: "inet", local: "198.18.0.100", prefixlen: 24, scope: "global", secondary: true, label: "eth0" },
      { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
    ],
  },
  { ifindex: 3, ifname: "dummy0", flags: ["BROADCAST", "NOARP"], link_type: "ether", addr_info: [] },
  { ifindex: 4, ifname: "weird", addr_info: [{ family: "inet" }, null, { local: "127.0.0.5", prefixlen: 8 }] },
];

test("maps ip -j addr output to held addresses: loopback left out, link-local and secondaries kept, sorted", () => {
  const got = mapIpAddr(SYNTHETIC);
  assert.deepEqual(got, [
    { address: "198.18.0.100", prefixlen: 24, iface: "eth0" },
    { address: "198.18.0.2", prefixlen: 24, iface: "eth0" },
    { address: "fe80::1", prefixlen: 64, iface: "eth0" },
  ] satisfies HeldAddress[]);
  for (const bad of [null, {}, "x", [1, "a", { addr_info: "no" }]]) assert.deepEqual(mapIpAddr(bad), []);
});

test("maps this machine's real `ip -j addr show lo` output (loopback only: nothing held)", (t) => {
  if (!haveIp()) {
    if (CI) assert.fail("iproute2 `ip` is missing: install iproute2");
    return t.skip("iproute2 `ip` is missing");
  }
  const real = JSON.parse(execFileSync("ip", ["-j", "addr", "show", "lo"], { encoding: "utf8" }));
  assert.ok(Array.isArray(real) && real[0].ifname === "lo" && real[0].addr_info.some((a: { local: string }) => a.local === "127.0.0.1"));
  assert.deepEqual(mapIpAddr(real), []);
  // the same interface renamed away from loopback proves the mapping reads the real fields
  const unlooped = real.map((l: Record<string, unknown>) => ({ ...l, ifname: "lab0", flags: [], link_type: "ether" }));
  const mapped = mapIpAddr(unlooped);
  assert.deepEqual(mapped, [], "127.0.0.1 and ::1 are loopback addresses wherever they are");
});

test("in a network namespace: the probe sees an added VIP and its removal within 1 s through ip monitor", async (t) => {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !haveIp()) {
    const why = !haveIp() ? "iproute2 `ip` is missing" : "creating a network namespace needs root";
    if (CI) assert.fail(why);
    return t.skip(why);
  }
  const ns = `kamt-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", ns]);
  t.after(() => {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // already gone
    }
  });
  // a veth pair with both ends inside the namespace (the dummy driver is not in every kernel)
  execFileSync("ip", ["-n", ns, "link", "add", "kam0", "type", "veth", "peer", "name", "kam1"]);
  execFileSync("ip", ["-n", ns, "link", "set", "kam0", "up"]);

  const seen: Array<{ at: number; rec: Omit<VipRecordMsg, "seq"> }> = [];
  // a long interval: only `ip monitor` can explain a fast report
  const probe = new VipProbe({ ip: "ip", netns: ns, intervalMs: 60_000, log: silentLogger(), emit: (rec) => seen.push({ at: Date.now(), rec }) });
  probe.start();
  t.after(() => probe.stop());
  await waitFor("initial report", () => seen.length >= 1, 3000, 5);
  assert.deepEqual(seen[0].rec.addresses, []);
  assert.equal(probe.status(), "ok");
  await new Promise((r) => setTimeout(r, 300)); // let `ip monitor` subscribe

  const has = (r: Omit<VipRecordMsg, "seq">) => r.addresses.some((a) => a.address === "198.18.0.10" && a.prefixlen === 32 && a.iface === "kam0");
  const added = Date.now();
  execFileSync("ip", ["-n", ns, "addr", "add", "198.18.0.10/32", "dev", "kam0"]);
  await waitFor("the VIP is reported within 1 s", () => seen.some((s) => has(s.rec)), 1000, 5);
  assert.ok(seen.find((s) => has(s.rec))!.at - added < 1000);

  const n = seen.length;
  const removed = Date.now();
  execFileSync("ip", ["-n", ns, "addr", "del", "198.18.0.10/32", "dev", "kam0"]);
  await waitFor("its removal is reported within 1 s", () => seen.length > n && !has(seen.at(-1)!.rec), 1000, 5);
  assert.ok(seen.at(-1)!.at - removed < 1000);
  const before = seen.length;
  await probe.probe(false);
  assert.equal(seen.length, before, "an unchanged set is not reported again (outside the periodic report)");
  await probe.probe(true);
  assert.equal(seen.length, before + 1, "a forced probe (resync, periodic) reports even an unchanged set");
});

test("a probe of a namespace that does not exist reports the problem instead of crashing", async (t) => {
  if (!haveIp()) {
    if (CI) assert.fail("iproute2 `ip` is missing");
    return t.skip("iproute2 `ip` is missing");
  }
  const seen: unknown[] = [];
  const probe = new VipProbe({ ip: "ip", netns: `kamt-missing-${randomBytes(3).toString("hex")}`, intervalMs: 60_000, log: silentLogger(), emit: (r) => seen.push(r) });
  await probe.probe(true);
  assert.equal(seen.length, 0);
  assert.match(probe.status(), /ip -n kamt-missing-\w+ -j addr show/);
  const none = new VipProbe({ ip: "/nonexistent/ip", netns: null, intervalMs: 60_000, log: silentLogger(), emit: (r) => seen.push(r) });
  await none.probe(true);
  assert.match(none.status(), /nonexistent/);
});

/**
 * MOCK `ip` (a shell script): the test needs an `ip monitor` that is running or that keeps failing, on demand,
 * and a count of the `ip -j addr show` runs; the real iproute2 gives neither. `addr show` appends a line to a
 * counter file and prints one address; `monitor` sleeps (running) or exits 1 at once (not running).
 */
function mockIp(monitorRuns: boolean): { ip: string; probes: () => number; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-mock-ip-"));
  const ip = path.join(dir, "ip");
  const count = path.join(dir, "probes");
  fs.writeFileSync(
    ip,
    `#!/bin/sh
case "$*" in
  *monitor*) ${monitorRuns ? "exec sleep 60" : "exit 1"} ;;
  *addr*) echo x >> '${count}'; echo '[{"ifname":"eth0","flags":["UP"],"addr_info":[{"local":"198.18.0.10","prefixlen":24}]}]' ;;
esac
`,
    { mode: 0o755 },
  );
  return { ip, dir, probes: () => (fs.existsSync(count) ? fs.readFileSync(count, "utf8").split("\n").filter(Boolean).length : 0) };
}

test("the periodic VIP probe runs every interval while `ip monitor` is down, every IDLE_FACTOR intervals while it runs", async () => {
  const intervalMs = 150;
  const window = intervalMs * IDLE_FACTOR * 1.5; // 1.35 s: one idle round after the first probe, about 9 busy ones
  const counts: number[] = [];
  for (const monitorRuns of [true, false]) {
    const m = mockIp(monitorRuns);
    const seen: VipRecordMsg[] = [];
    const probe = new VipProbe({ ip: m.ip, netns: null, intervalMs, log: silentLogger(), emit: (r) => seen.push({ ...r, seq: seen.length + 1 }) });
    try {
      probe.start();
      await new Promise((r) => setTimeout(r, window));
    } finally {
      await probe.stop();
    }
    counts.push(m.probes());
    assert.ok(seen.length >= 1, "the first probe reports the set");
    assert.deepEqual(seen[0].addresses, [{ address: "198.18.0.10", prefixlen: 24, iface: "eth0" }]);
    fs.rmSync(m.dir, { recursive: true, force: true });
  }
  const [idle, busy] = counts;
  // monitor running: the start probe plus one after ~IDLE_FACTOR intervals (and none in between)
  assert.ok(idle >= 1 && idle <= 2, `monitor running: ${idle} probes in ${window} ms`);
  // monitor down: every interval, as before
  assert.ok(busy >= 6, `monitor down: ${busy} probes in ${window} ms`);
});
