/**
 * Real keepalived 2.2.7 clusters in network namespaces, watched by the real
 * agents and server: clean elections stay quiet, a failed health check fails
 * over without a split brain, a link going down is a FAULT with its netlink
 * line as evidence, and a toggling health check is FLAPPING.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lab } from "./lab/lab";
import { e2eSuite } from "./lab/suite";
import { sleep } from "../helpers/wait";
import { stateMap } from "./lab/stack";
import { secondsSince } from "./lab/timing";

const suite = e2eSuite(import.meta.url);
const TWO = [
  { name: "lb1", octet: 11, priority: 150 },
  { name: "lb2", octet: 12, priority: 100 },
];

describe("keepalived states through the monitor", () => {
  it("1. shows a clean start, failover and preemption correctly and raises no incident", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const t0 = Date.now();
    const lab = await Lab.create(stack, "s1-clean", TWO);
    const start = await stack.waitSummary("lb1 MASTER with the VIP, lb2 BACKUP", lab.cluster,
      (c) => stateMap(c).lb1 === "MASTER+vip" && stateMap(c).lb2 === "BACKUP", t0, 30_000);
    timings.add({ scenario: "1a clean start", expected: "lb1 MASTER+VIP, lb2 BACKUP, no incident", got: JSON.stringify(stateMap(start.msg)), seconds: secondsSince(t0, start.at) });
    assert.deepEqual(lab.vipHolders(), ["lb1"], "the kernel agrees: only lb1 holds the VIP");

    // clean failover: keepalived on the MASTER stops (SIGTERM, it sends priority 0)
    const t1 = Date.now();
    await lab.host("lb1").ka.stop();
    const fo = await stack.waitSummary("lb2 MASTER with the VIP, lb1 STOP", lab.cluster,
      (c) => stateMap(c).lb2 === "MASTER+vip" && stateMap(c).lb1 === "STOP", t1, 20_000);
    timings.add({ scenario: "1b clean failover (stop lb1)", expected: "lb2 MASTER+VIP, lb1 STOP, no incident", got: JSON.stringify(stateMap(fo.msg)), seconds: secondsSince(t1, fo.at) });

    // preemption: lb1 (priority 150) comes back and takes over from lb2 (100)
    const t2 = Date.now();
    lab.host("lb1").ka.start();
    const pre = await stack.waitSummary("lb1 MASTER with the VIP again, lb2 BACKUP", lab.cluster,
      (c) => stateMap(c).lb1 === "MASTER+vip" && stateMap(c).lb2 === "BACKUP", t2, 20_000);
    timings.add({ scenario: "1c preemption (lb1 back)", expected: "lb1 MASTER+VIP, lb2 BACKUP, no incident", got: JSON.stringify(stateMap(pre.msg)), seconds: secondsSince(t2, pre.at) });

    await sleep(5000); // well past the 1.5 s DUAL_MASTER grace: any false alarm would have fired
    assert.deepEqual(lab.vipHolders(), ["lb1"]);
    const api = await stack.incidentsOf(lab.cluster);
    assert.deepEqual(api.map((i) => `${i.kind}/${i.cause.code}`), [], "no incident stored for clean elections");
    assert.deepEqual(stack.pushedFor(lab.cluster).map((p) => `${p.msg.change} ${p.msg.incident.kind}`), [], "no incident pushed live");

    const changes = (await stack.stateChanges(lab.cluster)).map((s) => `${s.node}:${s.state}`);
    assert.deepEqual(changes.filter((c) => c.startsWith("lb1")), ["lb1:BACKUP", "lb1:MASTER", "lb1:STOP", "lb1:BACKUP", "lb1:MASTER"], "lb1 timeline");
    assert.deepEqual(changes.filter((c) => c.startsWith("lb2")), ["lb2:BACKUP", "lb2:MASTER", "lb2:BACKUP"], "lb2 timeline");
    await lab.destroy();
  });

  it("2. fails over when the MASTER's health check fails, with the right timeline and no DUAL_MASTER", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s2-check", TWO);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const earlier = (await stack.stateChanges(lab.cluster)).length;
    const t = Date.now();
    lab.host("lb1").ka.setHealthy(false);
    const fo = await stack.waitSummary("lb2 MASTER with the VIP, lb1 BACKUP", lab.cluster,
      (c) => stateMap(c).lb2 === "MASTER+vip" && stateMap(c).lb1 === "BACKUP", t, 20_000);
    timings.add({ scenario: "2 health check fails on MASTER", expected: "failover to lb2, no DUAL_MASTER", got: `${JSON.stringify(stateMap(fo.msg))}`, seconds: secondsSince(t, fo.at) });
    await sleep(5000);
    assert.deepEqual(lab.vipHolders(), ["lb2"]);
    assert.ok(lab.host("lb1").ka.lines().some((l) => /VRRP_Script\(chk_app\) failed/.test(l)), "keepalived logged the failed check");
    const incidents = await stack.incidentsOf(lab.cluster);
    assert.deepEqual(incidents.filter((i) => i.kind === "DUAL_MASTER"), [], "no DUAL_MASTER stored");
    assert.deepEqual(stack.pushedFor(lab.cluster).filter((p) => p.msg.incident.kind === "DUAL_MASTER"), [], "no DUAL_MASTER pushed");
    assert.deepEqual(incidents.map((i) => `${i.kind}/${i.cause.code}`), [], "a weighted health check failing is a clean failover: no incident");
    const after = (await stack.stateChanges(lab.cluster)).slice(earlier).map((s) => `${s.node}:${s.state}`);
    assert.deepEqual(after.filter((x) => x.startsWith("lb1")), ["lb1:BACKUP"], "lb1 went MASTER -> BACKUP once");
    assert.deepEqual(after.filter((x) => x.startsWith("lb2")), ["lb2:MASTER"], "lb2 went BACKUP -> MASTER once");
    const cl = await lab.summary();
    assert.deepEqual(cl!.nodes.map((n) => [n.name, n.instances[0].vrid, n.instances[0].state]), [["lb1", 51, "BACKUP"], ["lb2", 51, "MASTER"]]);
    await lab.destroy();
  });

  it("5. reports FAULT with cause \"interface down\" and the netlink line when the MASTER's link goes down", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s5-link", TWO);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const t = Date.now();
    lab.net.linkDown("lb1");
    const open = await stack.waitPush("FAULT opened", (m) => m.incident.cluster === lab.cluster && m.incident.kind === "FAULT" && m.change === "opened", t, 20_000);
    const inc = open.msg.incident;
    timings.add({ scenario: "5 link down on MASTER", expected: "FAULT interface_down", got: `${inc.kind} ${inc.cause.code}`, seconds: secondsSince(t, open.at) });
    assert.equal(inc.cause.code, "interface_down", inc.cause.summary);
    assert.deepEqual(inc.nodes, ["lb1"]);
    assert.equal(inc.vrid, 51);
    assert.ok(inc.cause.evidence.some((e) => e.node === "lb1" && /Netlink reports eth0 down/.test(e.line)),
      `the netlink line is evidence: ${JSON.stringify(inc.cause.evidence.map((e) => e.line))}`);
    assert.ok(inc.cause.evidence.some((e) => /Entering FAULT STATE/.test(e.line)), "the FAULT line is evidence");
    await lab.waitStates({ lb1: "FAULT", lb2: "MASTER+vip" });

    const t2 = Date.now();
    lab.net.linkUp("lb1");
    const closed = await stack.waitPush("FAULT closed", (m) => m.incident.id === inc.id && m.change === "closed", t2, 20_000);
    timings.add({ scenario: "5 link up again", expected: "FAULT closed", got: `closed ${closed.msg.incident.closedAt ? "with closedAt" : "without closedAt"}`, seconds: secondsSince(t2, closed.at) });
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const api = await stack.api<{ closedAt: string | null; cause: { code: string } }>(`/api/incidents/${inc.id}`);
    assert.ok(api.closedAt, "stored as closed");
    assert.equal(api.cause.code, "interface_down");
    await sleep(3000);
    const kinds = (await stack.incidentsOf(lab.cluster)).map((i) => i.kind);
    assert.deepEqual(kinds, ["FAULT"], "only the FAULT: no DUAL_MASTER around the link change");
    await lab.destroy();
  });

  it("6. reports FLAPPING when the MASTER's health check toggles", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s6-flap", TWO);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const ka = lab.host("lb1").ka;
    const t = Date.now();
    let healthy = true;
    let flap: Awaited<ReturnType<typeof stack.waitPush>> | null = null;
    // keepalived needs ~3.6 s (master down interval) for each takeover: a 5 s period flips the MASTER every time
    const toggler = setInterval(() => ka.setHealthy((healthy = !healthy)), 5000);
    ka.setHealthy((healthy = false));
    try {
      flap = await stack.waitPush("FLAPPING opened", (m) => m.incident.cluster === lab.cluster && m.incident.kind === "FLAPPING" && m.change === "opened", t, 60_000);
    } finally {
      clearInterval(toggler);
      ka.setHealthy(true);
    }
    const inc = flap.msg.incident;
    timings.add({ scenario: "6 health check toggling", expected: "FLAPPING tracked_script_toggling", got: `${inc.kind} ${inc.cause.code}`, seconds: secondsSince(t, flap.at) });
    assert.equal(inc.cause.code, "tracked_script_toggling", inc.cause.summary);
    assert.match(inc.cause.summary, /chk_app/);
    assert.ok(inc.nodes.includes("lb1"));
    assert.ok(inc.cause.evidence.some((e) => /VRRP_Script\(chk_app\)|Script `chk_app`/.test(e.line)), "the script lines are evidence");
    const api = (await stack.incidentsOf(lab.cluster)).filter((i) => i.kind === "FLAPPING");
    assert.equal(api.length, 1, "one FLAPPING incident");
    assert.equal(api[0].id, inc.id);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    assert.deepEqual((await stack.incidentsOf(lab.cluster)).filter((i) => i.kind === "DUAL_MASTER" || i.kind === "FAULT"), [], "toggling a weighted check is no split brain and no FAULT");
    await lab.destroy();
  });
});
