import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configHash, parseKeepalivedConf, type ConfFs } from "../../agent/keepalived-conf";
import { hashAuthPass } from "../../agent/auth-hash";
import { ConfigWatcher, globSync, nodeConfFs } from "../../agent/config-watch";
import { silentLogger } from "../../agent/log";
import { ConfigInstance } from "../../server/protocol";
import { waitFor } from "../helpers/wait";
import { tmpDir } from "../helpers/tmp";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/agent");

/** in-memory files; glob supports a trailing `*.conf`-style component */
function memFs(files: Record<string, string>): ConfFs {
  return {
    readFile(f) {
      if (!(f in files)) throw new Error("ENOENT: no such file");
      return files[f];
    },
    glob(pattern) {
      const dir = path.dirname(pattern);
      const re = new RegExp(`^${path.basename(pattern).replace(/\./g, "\\.").replace(/\*/g, "[^/]*")}$`);
      return Object.keys(files).filter((f) => path.dirname(f) === dir && re.test(path.basename(f))).sort();
    },
  };
}

test("reads the real two-node fixture config: VRID, priority, VIP with prefix, track script, hashed PASS", () => {
  const c = parseKeepalivedConf(path.join(fixtures, "node1.conf"), nodeConfFs);
  assert.deepEqual(c.errors, []);
  assert.equal(c.routerId, "node1");
  assert.equal(c.netNamespace, null);
  assert.equal(c.instances.length, 1);
  const vi = c.instances[0];
  assert.equal(ConfigInstance.safeParse(vi).success, true);
  assert.deepEqual(
    { ...vi, authPassHash: typeof vi.authPassHash },
    {
      name: "VI_1", vrid: 51, interface: "eth0", state: "BACKUP", priority: 150, advertInt: 1, authType: "PASS",
      authPassHash: "string", vips: ["192.0.2.100/24"], trackScripts: ["chk_app"], trackInterfaces: [], unicastSrcIp: null,
      unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null,
    },
  );
  assert.match(vi.authPassHash!, /^[0-9a-f]{64}$/);
  assert.equal(vi.authPassHash, hashAuthPass("s3cret", 51));
  assert.ok(!JSON.stringify(c).includes("s3cret"), "the password appears nowhere in the output");
});

test("reads the three-node fixture: two instances, nopreempt, no authentication on VI_DB; peers with equal passwords get equal hashes", () => {
  const a = parseKeepalivedConf(path.join(fixtures, "hx1.conf"), nodeConfFs);
  const b = parseKeepalivedConf(path.join(fixtures, "hx2.conf"), nodeConfFs);
  assert.deepEqual(a.errors, []);
  assert.equal(a.routerId, "hx1");
  assert.deepEqual(a.instances.map((i) => [i.name, i.vrid, i.priority, i.nopreempt, i.vips]), [
    ["VI_WEB", 51, 140, false, ["192.0.2.100/24"]],
    ["VI_DB", 52, 120, true, ["192.0.2.101/24"]],
  ]);
  assert.equal(a.instances[1].authType, null);
  assert.equal(a.instances[1].authPassHash, null);
  assert.equal(a.instances[0].authPassHash, b.instances[0].authPassHash, "same password, same VRID: same hash");
  assert.ok(!JSON.stringify(a).includes("webpass"));
  assert.notEqual(configHash(a), configHash(b), "priorities differ, so the snapshots differ");
});

test("password hashing: only the 8 bytes keepalived sends count, salted per VRID", () => {
  assert.equal(hashAuthPass("abcdefgh", 10), hashAuthPass("abcdefghXYZ", 10));
  assert.notEqual(hashAuthPass("abcdefgh", 10), hashAuthPass("abcdefgi", 10));
  assert.notEqual(hashAuthPass("abcdefgh", 10), hashAuthPass("abcdefgh", 11));
});

test("includes: glob relative to the including file, nested, inside blocks, with loop and missing-file errors", () => {
  const files = {
    "/etc/keepalived/keepalived.conf": [
      "! main file",
      "global_defs {",
      "  router_id r1 # trailing comment",
      "  vrrp_version 3",
      "}",
      "include conf.d/*.conf",
      "include missing.conf",
    ].join("\n"),
    "/etc/keepalived/conf.d/10-a.conf": [
      "vrrp_instance A {",
      "  virtual_router_id 7",
      "  include ../vips-a.inc",
      "}",
      "include ../loop.conf",
    ].join("\n"),
    "/etc/keepalived/conf.d/20-b.conf": "vrrp_instance B { virtual_router_id 8 }\n",
    "/etc/keepalived/conf.d/notes.txt": "vrrp_instance NOT_INCLUDED {\n}\n",
    "/etc/keepalived/vips-a.inc": "virtual_ipaddress {\n 198.18.0.1\n 2001:db8::1/64 dev eth0\n}\n",
    "/etc/keepalived/loop.conf": "include loop.conf\n",
  };
  const c = parseKeepalivedConf("/etc/keepalived/keepalived.conf", memFs(files));
  assert.equal(c.routerId, "r1");
  assert.deepEqual(c.instances.map((i) => [i.name, i.vrid]), [["A", 7], ["B", 8]]);
  assert.equal(c.errors.length, 2, c.errors.join("\n"));
  assert.deepEqual(c.instances[0].vips, ["198.18.0.1/32", "2001:db8::1/64"]);
  assert.equal(c.instances[0].vrrpVersion, 3, "global vrrp_version is the default");
  assert.ok(c.errors.some((e) => /keepalived\.conf:7: cannot read \/etc\/keepalived\/missing\.conf/.test(e)), c.errors.join("\n"));
  assert.ok(c.errors.some((e) => /include loop/.test(e)), c.errors.join("\n"));
  assert.ok(c.files.includes("/etc/keepalived/vips-a.inc"));
});

test("sync groups, unicast, track_interface, quoted strings, `{` on its own line, virtual_ipaddress_excluded ignored", () => {
  const text = `
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1
{
  state MASTER
  interface "eth1"
  virtual_router_id 60
  priority 200
  advert_int 0.5
  unicast_src_ip 198.18.0.1
  unicast_peer {
    198.18.0.2
    198.18.0.3 min_ttl 1
  }
  track_interface {
    eth2 weight -10
  }
  virtual_ipaddress_excluded {
    203.0.113.5/24
  }
  authentication {
    auth_type AH
    auth_pass "pa ss#1!"
  }
}
vrrp_instance VI_2 {
  virtual_router_id 61
}
vrrp_instance VI_3 {
  virtual_router_id 62
}
net_namespace blue
`;
  const c = parseKeepalivedConf("/k.conf", memFs({ "/k.conf": text }));
  assert.deepEqual(c.errors, []);
  assert.equal(c.netNamespace, "blue");
  const [v1, v2, v3] = c.instances;
  assert.equal(v1.syncGroup, "G1");
  assert.equal(v2.syncGroup, "G1");
  assert.equal(v3.syncGroup, null);
  assert.equal(v1.interface, "eth1");
  assert.equal(v1.advertInt, 0.5);
  assert.equal(v1.unicastSrcIp, "198.18.0.1");
  assert.deepEqual(v1.unicastPeers, ["198.18.0.2", "198.18.0.3"]);
  assert.deepEqual(v1.trackInterfaces, ["eth2"]);
  assert.deepEqual(v1.vips, [], "excluded addresses are not part of the advert set");
  assert.equal(v1.authType, "AH");
  assert.equal(v1.authPassHash, hashAuthPass("pa ss#1!", 60));
  assert.ok(!JSON.stringify(c).includes("pa ss"));
});

test("malformed input gives file:line errors and never throws; the rest is still read", () => {
  const text = [
    "vrrp_instance BAD {", // 1
    "  state SLAVE", // 2
    "  virtual_router_id 300", // 3
    "  priority high", // 4
    "  advert_int -1", // 5
    "  virtual_ipaddress {", // 6
    "    not-an-ip", // 7
    "  }", // 8
    "  authentication {", // 9
    "    auth_type SECRET", // 10
    "    auth_pass hunter22", // 11
    "  }", // 12
    "  some_future_keyword 1 2 3", // 13
    '  notify "/bin/unterminated', // 14
    "}", // 15
    "}", // 16
    "vrrp_instance GOOD {", // 17
    "  virtual_router_id 9", // 18
  ].join("\n");
  const c = parseKeepalivedConf("/x.conf", memFs({ "/x.conf": text }));
  const want = [
    /^\/x\.conf:2: state must be MASTER or BACKUP/,
    /^\/x\.conf:3: virtual_router_id must be a whole number from 1 to 255/,
    /^\/x\.conf:4: priority/,
    /^\/x\.conf:5: advert_int/,
    /^\/x\.conf:7: virtual_ipaddress entry "not-an-ip"/,
    /^\/x\.conf:10: auth_type must be PASS or AH/,
    /^\/x\.conf:14: unterminated quoted string/,
    /^\/x\.conf:16: unexpected '}'/,
    /^\/x\.conf:17: block 'vrrp_instance GOOD' is not closed/,
  ];
  for (const w of want) assert.ok(c.errors.some((e) => w.test(e)), `expected an error like ${w}\n${c.errors.join("\n")}`);
  assert.deepEqual(c.instances.map((i) => [i.name, i.vrid]), [["BAD", null], ["GOOD", 9]]);
  assert.ok(!JSON.stringify(c).includes("hunter22"));
  for (const bad of ["", "}}}}", "{{{{", '"', "vrrp_instance", "include", "vrrp_instance {\n}", "\u0000\u0001{"]) {
    const r = parseKeepalivedConf("/y.conf", memFs({ "/y.conf": bad }));
    assert.ok(Array.isArray(r.errors));
  }
  const missing = parseKeepalivedConf("/nope.conf", memFs({}));
  assert.deepEqual(missing.instances, []);
  assert.match(missing.errors[0], /cannot read \/nope\.conf/);
});

test("the hash ignores instance order and formatting, and changes with any compared value", () => {
  const a = parseKeepalivedConf("/a", memFs({ "/a": "vrrp_instance X {\n virtual_router_id 1\n}\nvrrp_instance Y {\n virtual_router_id 2\n}\n" }));
  const b = parseKeepalivedConf("/b", memFs({ "/b": "# reordered\nvrrp_instance Y { virtual_router_id 2 }\nvrrp_instance X {\n\tvirtual_router_id   1\n}\n" }));
  const c = parseKeepalivedConf("/c", memFs({ "/c": "vrrp_instance X {\n virtual_router_id 1\n}\nvrrp_instance Y {\n virtual_router_id 3\n}\n" }));
  assert.equal(configHash(a), configHash(b));
  assert.notEqual(configHash(a), configHash(c));
  assert.match(configHash(a), /^[0-9a-f]{64}$/);
});

test("globSync matches like glob(3) and the watcher re-sends only when the hash changes", async (t) => {
  const dir = tmpDir(t, "kam-conf-");
  fs.mkdirSync(path.join(dir, "conf.d"));
  fs.writeFileSync(path.join(dir, "conf.d", "b.conf"), "vrrp_instance B {\n virtual_router_id 2\n}\n");
  fs.writeFileSync(path.join(dir, "conf.d", "a.conf"), "vrrp_instance A {\n virtual_router_id 1\n}\n");
  fs.writeFileSync(path.join(dir, "conf.d", ".hidden.conf"), "");
  assert.deepEqual(globSync(path.join(dir, "conf.d/*.conf")).map((f) => path.basename(f)), ["a.conf", "b.conf"]);
  const main = path.join(dir, "keepalived.conf");
  fs.writeFileSync(main, "include conf.d/*.conf\n");
  const got: Array<{ hash: string; names: string[] }> = [];
  const w = new ConfigWatcher({
    file: main, log: silentLogger(), checkIntervalMs: 100,
    emit: (r) => got.push({ hash: r.hash, names: r.instances.map((i) => i.name) }),
  });
  w.start();
  t.after(() => w.stop());
  assert.deepEqual(got.map((g) => g.names), [["A", "B"]]);
  fs.writeFileSync(path.join(dir, "conf.d", "c.conf"), "vrrp_instance C {\n virtual_router_id 3\n}\n");
  await waitFor("the config with the new included file", () => got.length === 2, 5000, 50);
  assert.deepEqual(got.at(-1)!.names, ["A", "B", "C"], "a new included file is picked up");
  fs.appendFileSync(main, "# only a comment\n");
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(got.length, 2, "a change that leaves the hash alone sends nothing");
  const w2 = new ConfigWatcher({ file: main, log: silentLogger(), lastHash: got.at(-1)!.hash, emit: (r) => got.push({ hash: r.hash, names: [] }) });
  w2.start();
  w2.stop();
  assert.equal(got.length, 2, "a restart with the same config sends nothing");
  w.check(true);
  assert.equal(got.length, 3, "a resync sends even an unchanged snapshot");
});

test("the watcher survives a config that hits the expansion and include limits: snapshot sent with the errors, limits counted in its status", async (t) => {
  const dir = tmpDir(t, "kam-conf-");
  const main = path.join(dir, "keepalived.conf");
  fs.writeFileSync(main, `$A=xx\n${"$A=$A$A\n".repeat(30)}global_defs {\n router_id $A\n}\ninclude f*.conf\n`);
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, `f${i}.conf`), `vrrp_instance V${i} {\n virtual_router_id ${i + 1}\n}\ninclude f*.conf\n`);
  const got: Array<{ names: string[]; errors: string[] }> = [];
  const w = new ConfigWatcher({ file: main, log: silentLogger(), checkIntervalMs: 100, emit: (r) => got.push({ names: r.instances.map((i) => i.name), errors: r.errors }) });
  w.start();
  t.after(() => w.stop());
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].names, ["V0", "V1", "V2", "V3", "V4", "V5"]);
  assert.ok(got[0].errors.some((e) => /keepalived\.conf:33: (.* longer than 1024 characters|more than 256 parameter substitutions)/.test(e)), got[0].errors.join("\n"));
  assert.ok(got[0].errors.some((e) => /include loop/.test(e)));
  assert.match(w.status(), /limits: .*param_expansion 1/);
  assert.equal(w.stats.limits.param_expansion, 1);
  assert.ok(w.stats.limits.include_loop! > 0);
  // a fix is picked up: the watcher is still alive
  fs.writeFileSync(main, "global_defs {\n router_id fixed\n}\n");
  for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(got.length, 2);
  assert.deepEqual(got[1].errors, []);
  assert.equal(w.status(), "ok");
});
