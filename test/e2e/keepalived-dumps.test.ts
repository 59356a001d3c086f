/**
 * keepalived's data and stats dumps on real keepalived: agents run with --dumps-interval 1 (each keepalived
 * with its own TMPDIR, found by the agent through /proc/PID/environ and read through /proc/PID/root); the
 * server's /metrics shows keepalived's advert counters rising under the exporters' names, and /api/clusters
 * the effective priority next to the configured one, which moves when the health check (weight -60) fails;
 * an auth_pass mismatch: keepalived's authentication-failure counters are evidence of the split brain's cause.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lab } from "./lab/lab";
import { e2eSuite } from "./lab/suite";
import { metricOf } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { dualOpened } from "./lab/incidents";

const suite = e2eSuite(import.meta.url);

describe("keepalived's dumps on real keepalived", () => {
  it("11. advert counters rise in /metrics; the effective priority in /api/clusters follows a failing health check", { timeout: 120_000 }, async () => {
    const { stack } = suite();
    const lab = await Lab.create(stack, "s5-dumps", [
      { name: "lb1", octet: 11, priority: 150, dumps: 1 },
      { name: "lb2", octet: 12, priority: 100, dumps: 1 },
    ]);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const series = (node: string) => ({ cluster: "s5-dumps", node, iname: "VI_1", intf: "eth0", vrid: "51" });
    const sent = () => metricOf(stack.srv, "keepalived_advertisements_sent_total", series("lb1"));
    const rcvd = () => metricOf(stack.srv, "keepalived_advertisements_received_total", series("lb2"));
    const s1 = await waitFor("lb1's advert_sent in /metrics", async () => ((await sent()) > 0 ? sent() : null), 30_000, 500);
    const r1 = await waitFor("lb2's advert_rcvd in /metrics", async () => ((await rcvd()) > 0 ? rcvd() : null), 30_000, 500);
    await waitFor("advert_sent rising", async () => (await sent()) >= s1 + 2, 20_000, 500);
    await waitFor("advert_rcvd rising", async () => (await rcvd()) >= r1 + 2, 20_000, 500);
    // gen2brain's name carries the same value; no authentication errors between nodes that agree
    const g = await metricOf(stack.srv, "keepalived_vrrp_advert_sent", { cluster: "s5-dumps", node: "lb1", name: "VI_1", intf: "eth0", vrid: "51", state: "MASTER" });
    assert.ok(g >= s1, `keepalived_vrrp_advert_sent ${g}`);
    assert.equal(await metricOf(stack.srv, "keepalived_authentication_failure_total", series("lb2")), 0);

    const prio = async (node: string) => {
      const i = (await lab.summary())?.nodes.find((n) => n.name === node)?.instances.find((x) => x.name === "VI_1");
      return i ? { configured: i.configuredPriority ?? null, effective: i.dump?.effectivePriority ?? null } : null;
    };
    assert.deepEqual(await waitFor("lb1's effective priority", async () => ((await prio("lb1"))?.effective != null ? prio("lb1") : null), 20_000, 500), { configured: 150, effective: 150 });
    assert.equal(await metricOf(stack.srv, "kam_instance_effective_priority", { cluster: "s5-dumps", node: "lb1", instance: "VI_1", vrid: "51" }), 150);

    // the health check fails on lb1: its track_script weight -60 takes the effective priority to 90, lb2 takes over
    lab.host("lb1").ka.setHealthy(false);
    await waitFor("lb1's effective priority 90", async () => (await prio("lb1"))?.effective === 90, 30_000, 500);
    assert.deepEqual(await prio("lb1"), { configured: 150, effective: 90 });
    await lab.waitStates({ lb1: "BACKUP", lb2: "MASTER+vip" });
    assert.ok(!/keepalived dumps \(--dumps-interval/.test(lab.host("lb1").agent.output()), "no dump failure logged by lb1's agent");
    await lab.destroy();
  });

  it("12. an auth_pass mismatch: the split brain's auth_mismatch has keepalived's rising auth-failure counter as evidence", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s12-dumpauth", [
      { name: "lb1", octet: 11, priority: 150, dumps: 1 },
      { name: "lb2", octet: 12, priority: 100, dumps: 1 },
    ]);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    await waitFor("lb2's dumps in /metrics", async () => (await metricOf(stack.srv, "keepalived_advertisements_received_total",
      { cluster: "s12-dumpauth", node: "lb2", iname: "VI_1", intf: "eth0", vrid: "51" })) > 0, 30_000, 500);
    const lb2 = lab.host("lb2").ka;
    const t = Date.now();
    await lb2.restart({ ...lb2.spec, authPass: "0ther-pw" });
    const inc = await dualOpened(stack, timings, lab, t, "12 auth_pass mismatch, agents with dumps", "auth_mismatch");
    const dump = inc.cause.evidence.filter((e) => e.kind === "dump");
    assert.ok(dump.length > 0, `a dump counter is evidence: ${JSON.stringify(inc.cause.evidence.map((e) => [e.node, e.kind, e.line]))}`);
    assert.match(dump[0].line, /^VI_1: keepalived counted \d+ more advert\(s\) failing authentication/);
    assert.ok(inc.cause.evidence.every((e) => !/0ther-pw|s3cret/.test(e.line)), "no password in the evidence");
    const failures = async () => Math.max(...await Promise.all(["lb1", "lb2"].map((node) =>
      metricOf(stack.srv, "keepalived_authentication_failure_total", { cluster: "s12-dumpauth", node, iname: "VI_1", intf: "eth0", vrid: "51" }))));
    await waitFor("keepalived_authentication_failure_total > 0", async () => (await failures()) > 0, 20_000, 500);
    await lab.destroy();
  });
});
