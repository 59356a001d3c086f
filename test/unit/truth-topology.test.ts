/**
 * The truth lab's generators: a seed alone decides the topology and the
 * schedule (so `--schedules 1 --seed S` reruns one exactly), they cover the
 * features the lab promises, and every rendered keepalived.conf passes
 * keepalived's own configuration check (`keepalived -t`).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { generateSchedule } from "../truth/actions";
import { generateTopology, renderConfig } from "../truth/topology";

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

test("a seed alone decides the topology and the schedule", () => {
  for (const seed of [1, 2, 17]) {
    assert.deepEqual(generateTopology(seed), generateTopology(seed));
    assert.deepEqual(generateSchedule(seed, generateTopology(seed)), generateSchedule(seed, generateTopology(seed)));
  }
  assert.notDeepEqual(generateTopology(1), generateTopology(2));
});

test("over 40 seeds the generator covers what the lab promises", () => {
  const ts = SEEDS.map((s) => generateTopology(s));
  const members = ts.flatMap((t) => t.hosts.flatMap((h) => Object.values(t.members[h.name])));
  const has = (what: string, ok: boolean) => assert.ok(ok, `no seed in 1..40 has ${what}`);
  has("2 hosts", ts.some((t) => t.hosts.length === 2));
  has("4 hosts", ts.some((t) => t.hosts.length === 4));
  has("3 routers", ts.some((t) => t.routers.length === 3));
  has("unicast", ts.some((t) => t.routers.some((r) => r.unicast)));
  has("multicast", ts.some((t) => t.routers.some((r) => !r.unicast)));
  has("a sync group", ts.some((t) => t.syncGroup.length === 2));
  has("a weight-0 script", members.some((m) => m.scriptWeight === 0));
  has("a negative-weight script", members.some((m) => m.scriptWeight === -60));
  has("track_interface", members.some((m) => m.trackEth1));
  has("nopreempt", members.some((m) => m.nopreempt));
  has("equal priorities", ts.some((t) => t.routers.some((r) => new Set(t.hosts.map((h) => t.members[h.name][r.vrid].priority)).size < t.hosts.length)));
  has("advert_int 2", ts.some((t) => t.routers.some((r) => r.advertInt === 2)));
  has("no auth", ts.some((t) => t.routers.some((r) => r.authPass === null)));
  has("two VIPs", ts.some((t) => t.routers.some((r) => r.vips.length === 2)));
  has("instance names differing between hosts", ts.some((t) => t.routers.some((r) => new Set(t.hosts.map((h) => t.members[h.name][r.vrid].instance)).size > 1)));
  has("journal hosts", ts.some((t) => t.hosts.some((h) => h.source === "journal")));
  has("agents after keepalived", ts.some((t) => !t.agentsFirst));
  has("stale instance names first", ts.some((t) => t.staleNames));
  has("state MASTER with nopreempt at equal priority on two hosts", ts.some((t) => t.routers.some((r) => t.hosts.filter((h) => t.members[h.name][r.vrid].masterNopreempt).length === 2)));
  const kinds = new Set(SEEDS.flatMap((s) => generateSchedule(s, generateTopology(s)).actions.map((a) => a.kind)));
  assert.ok(kinds.size >= 18, `action kinds drawn: ${[...kinds].join(", ")}`);
  for (const k of ["block_out", "agent_down", "server_outage"] as const) assert.ok(kinds.has(k), `no seed in 1..40 draws the variant ${k}`);
  const lens = SEEDS.map((s) => generateSchedule(s, generateTopology(s)).actions.length);
  assert.ok(Math.min(...lens) >= 4 && Math.max(...lens) <= 8, `schedule lengths ${lens.join(",")}`);
  assert.ok(SEEDS.some((s) => generateSchedule(s, generateTopology(s)).actions.some((a) => a.overlap)), "some schedule overlaps actions");
});

test("state MASTER with nopreempt is rendered as written, at the top priority of its router", () => {
  let seen = 0;
  for (const s of SEEDS) {
    const t = generateTopology(s);
    for (const h of t.hosts) {
      const text = renderConfig(t, h.name, { dir: "/x" });
      for (const r of t.routers) {
        const m = t.members[h.name][r.vrid];
        if (!m.masterNopreempt) continue;
        seen++;
        const block = new RegExp(`vrrp_instance ${m.instance} \\{\\n  state MASTER\\n[^}]*priority ${m.priority}\\n[^}]*nopreempt`);
        assert.match(text, block, `seed ${s} ${h.name} VRID ${r.vrid}`);
        assert.equal(m.priority, Math.max(...t.hosts.map((x) => t.members[x.name][r.vrid].priority)));
      }
    }
  }
  assert.ok(seen >= 2, `rendered ${seen} times over 40 seeds`);
});

function keepalivedAvailable(): boolean {
  try {
    execFileSync("keepalived", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const nics = fs.existsSync("/sys/class/net") ? fs.readdirSync("/sys/class/net").filter((n) => n !== "lo" && /^[a-z0-9]+$/.test(n)).sort() : [];

test("every rendered keepalived.conf passes keepalived -t", {
  skip: process.env.CI === "true" ? false : !keepalivedAvailable() ? "keepalived is not installed" : nics.length < 2 ? "fewer than two network interfaces (besides lo) to check against" : false,
}, () => {
  assert.ok(nics.length >= 2, `two network interfaces other than lo (found ${nics.join(", ") || "none"})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "truth-conf-"));
  try {
    for (const seed of SEEDS.slice(0, 15)) {
      const t = generateTopology(seed);
      for (const h of t.hosts) {
        const f = path.join(dir, `${seed}-${h.name}.conf`);
        // keepalived -t also checks that the interfaces exist: the lab's eth0/eth1 live in namespaces, so check against one of this machine's
        const text = renderConfig(t, h.name, { dir }).replace(/\beth0\b/g, nics[0]).replace(/\beth1\b/g, nics[1]);
        fs.writeFileSync(f, text);
        try {
          execFileSync("keepalived", ["-t", "-f", f], { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
        } catch (e) {
          const err = e as { stderr?: Buffer; stdout?: Buffer };
          // keepalived -t exits non-zero on warnings too; the one warning the lab asks for on purpose (state MASTER
          // with nopreempt, which keepalived clears) is accepted, anything else fails
          const said = `${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`.split("\n").filter((l) => l.trim());
          const masterNopreempt = t.routers.some((r) => t.members[h.name][r.vrid].masterNopreempt);
          if (masterNopreempt && said.length > 0 && said.every((l) => /Warning - nopreempt will not work with initial state MASTER - clearing/.test(l))) continue;
          assert.fail(`seed ${seed} ${h.name}: keepalived -t rejected\n${text}\n${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`);
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
