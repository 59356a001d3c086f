/**
 * Configuration mistakes on real keepalived, each made by restarting one node
 * with the changed keepalived.conf: a different auth_pass, advert_int or
 * virtual_router_id splits the brain and the monitor must name the mismatch
 * (and report CONFIG_DRIFT, also for the same VIPs under another VRID); different instance
 * names for the same VRID are harmless (the name is not in the VRRP packet)
 * and must not be flagged as a fault or a split brain.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lab } from "./lab/lab";
import { DEFAULT_SPEC, type VrrpSpec } from "./lab/keepalived";
import { closedAfterHeal, dualOpened } from "./lab/incidents";
import { e2eSuite } from "./lab/suite";
import { sleep } from "../helpers/wait";
import { describeIncidents, stateMap } from "./lab/stack";
import { secondsSince } from "./lab/timing";

const suite = e2eSuite(import.meta.url);
const TWO = [
  { name: "lb1", octet: 11, priority: 150 },
  { name: "lb2", octet: 12, priority: 100 },
];

describe("configuration mismatches on real keepalived", () => {
  it("7. explains a split brain by the auth_pass mismatch and reports CONFIG_DRIFT", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s7-auth", TWO);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const lb2 = lab.host("lb2").ka;
    const t = Date.now();
    await lb2.restart({ ...lb2.spec, authPass: "0ther-pw" });
    const inc = await dualOpened(stack, timings, lab, t, "7 auth_pass mismatch on lb2", "auth_mismatch");
    assert.ok(inc.cause.evidence.some((e) => /invalid passwd/.test(e.line)), `keepalived's "invalid passwd" lines are evidence: ${JSON.stringify(inc.cause.evidence.map((e) => e.line))}`);
    const drift = await stack.waitPush("CONFIG_DRIFT opened", (m) => m.incident.cluster === lab.cluster && m.incident.kind === "CONFIG_DRIFT" && m.change !== "closed" && m.incident.cause.code === "auth_mismatch", t, 30_000);
    timings.add({ scenario: "7 auth_pass mismatch on lb2", expected: "CONFIG_DRIFT auth_mismatch", got: `${drift.msg.incident.kind} ${drift.msg.incident.cause.code}`, seconds: secondsSince(t, drift.at) });
    assert.deepEqual([...drift.msg.incident.nodes].sort(), ["lb1", "lb2"]);
    assert.ok(drift.msg.incident.cause.evidence.every((e) => !/0ther-pw|s3cret/.test(e.line)), "no password in the evidence");

    // repaired: the same password again ends both
    const t2 = Date.now();
    await lb2.restart({ ...lb2.spec, authPass: DEFAULT_SPEC.authPass });
    await closedAfterHeal(stack, timings, lab, inc, t2, "7 auth_pass repaired");
    await stack.waitPush("CONFIG_DRIFT closed", (m) => m.incident.id === drift.msg.incident.id && m.change === "closed", t2, 30_000);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    await lab.destroy();
  });

  it("8. raises no fault and no split brain when two nodes name the same VRID differently (information at most)", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const t = Date.now();
    const lab = await Lab.create(stack, "s8-names", [
      { name: "lb1", octet: 11, priority: 150, vrrp: { instance: "VI_1" } },
      { name: "lb2", octet: 12, priority: 100, vrrp: { instance: "VI_WEB" } },
    ]);
    const c = await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    assert.deepEqual(c.nodes.map((n) => [n.name, n.instances[0].name, n.instances[0].vrid]), [["lb1", "VI_1", 51], ["lb2", "VI_WEB", 51]]);
    // a failover and a preemption across the differently named instances
    lab.host("lb1").ka.setHealthy(false);
    await lab.waitStates({ lb1: "BACKUP", lb2: "MASTER+vip" });
    lab.host("lb1").ka.setHealthy(true);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    await sleep(4000);
    const incidents = await stack.incidentsOf(lab.cluster);
    const pushed = stack.pushedFor(lab.cluster, t).map((p) => p.msg.incident);
    const notInfo = [...incidents, ...pushed].filter((i) => i.severity !== "info");
    assert.deepEqual(notInfo.map((i) => `${i.kind}/${i.cause.code}`), [], `nothing above information:\n${describeIncidents(notInfo)}\n${lab.diagnostics(40)}`);
    for (const i of incidents) {
      assert.equal(i.kind, "CONFIG_DRIFT");
      assert.equal(i.cause.code, "instance_names_differ");
    }
    timings.add({ scenario: "8 instance names differ (VI_1/VI_WEB)", expected: "no fault, no split brain; info at most",
      got: incidents.map((i) => `${i.kind}/${i.severity} ${i.cause.code}`).join(", ") || "nothing", seconds: null });
    assert.deepEqual(stateMap((await lab.summary())!), { lb1: "MASTER+vip", lb2: "BACKUP" });
    await lab.destroy();
  });
  for (const c of [
    { id: "7b", what: "advert_int", change: { advertInt: 2 }, code: "advert_interval_mismatch", line: /advertisement interval mismatch/, drift: true },
    { id: "7c", what: "virtual_router_id", change: { vrid: 52 }, code: "vrid_mismatch", line: null, drift: true },
  ] as { id: string; what: string; change: Partial<VrrpSpec>; code: string; line: RegExp | null; drift: boolean }[]) {
    it(`${c.id}. explains a split brain by the ${c.what} mismatch`, { timeout: 120_000 }, async () => {
      const { stack, timings } = suite();
      const lab = await Lab.create(stack, `s${c.id}-${c.what.slice(0, 4)}`, TWO);
      await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
      const lb2 = lab.host("lb2").ka;
      const t = Date.now();
      await lb2.restart({ ...lb2.spec, ...c.change });
      const inc = await dualOpened(stack, timings, lab, t, `${c.id} ${c.what} mismatch on lb2 (extra)`, c.code, [51, 52]);
      assert.deepEqual(lab.vipHolders(), ["lb1", "lb2"]);
      if (c.line) assert.ok(inc.cause.evidence.some((e) => c.line!.test(e.line)), `keepalived's own complaint is evidence: ${JSON.stringify(inc.cause.evidence.map((e) => e.line))}`);
      if (c.drift) {
        const d = await stack.waitPush("CONFIG_DRIFT", (m) => m.incident.cluster === lab.cluster && m.incident.kind === "CONFIG_DRIFT" && m.incident.cause.code === c.code, t, 30_000);
        timings.add({ scenario: `${c.id} ${c.what} mismatch on lb2 (extra)`, expected: `CONFIG_DRIFT ${c.code}`, got: `${d.msg.incident.kind} ${d.msg.incident.cause.code}`, seconds: secondsSince(t, d.at) });
      }
      const t2 = Date.now();
      await lb2.restart({ ...lb2.spec, ...DEFAULT_SPEC, priority: lb2.spec.priority });
      await closedAfterHeal(stack, timings, lab, inc, t2, `${c.id} ${c.what} repaired`);
      await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
      await lab.destroy();
    });
  }
});
