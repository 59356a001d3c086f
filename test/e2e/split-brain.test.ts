/**
 * Split brain on real keepalived from the network: VRRP cut between the nodes
 * (link up) and VRRP dropped by an nftables rule on IP protocol 112 both make
 * both nodes MASTER; the monitor must say that adverts are not received, with
 * evidence from both nodes, and close the incident once VRRP flows again.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lab } from "./lab/lab";
import { e2eSuite } from "./lab/suite";
import { closedAfterHeal, dualOpened } from "./lab/incidents";

const suite = e2eSuite(import.meta.url, { nft: true });
const TWO = [
  { name: "lb1", octet: 11, priority: 150 },
  { name: "lb2", octet: 12, priority: 100 },
];

describe("split brain on real keepalived", () => {
  it("3. opens DUAL_MASTER \"adverts not received\" with evidence from both nodes when VRRP is cut, closes it after healing", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s3-cut", TWO);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const t = Date.now();
    lab.net.cut("lb2");
    const inc = await dualOpened(stack, timings, lab, t, "3 VRRP cut (link up)", "adverts_not_received");
    assert.match(inc.cause.summary, /adverts|advertisement/i);
    assert.deepEqual(lab.vipHolders(), ["lb1", "lb2"], "the kernel agrees: both hold the VIP");
    assert.ok(inc.cause.evidence.some((e) => e.node === "lb2" && /Receive advertisement timeout|Entering MASTER STATE/.test(e.line)));

    const t2 = Date.now();
    lab.net.heal("lb2");
    await closedAfterHeal(stack, timings, lab, inc, t2, "3 VRRP cut healed");
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    await lab.destroy();
  });

  it("4. names blocked VRRP adverts as the cause when an nftables rule drops IP protocol 112", { timeout: 120_000 }, async () => {
    const { stack, timings } = suite();
    const lab = await Lab.create(stack, "s4-nft", TWO);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const t = Date.now();
    lab.net.blockVrrp("lb2");
    const inc = await dualOpened(stack, timings, lab, t, "4 VRRP dropped by nftables (proto 112)", "adverts_not_received");
    assert.ok(lab.net.vrrpDropped("lb2") > 0, "the rule really dropped VRRP packets");
    assert.match(inc.cause.summary, /protocol 112/, "the cause names VRRP (IP protocol 112)");
    assert.match(inc.cause.summary, /firewall|blocked|not getting through/i, "the cause says the adverts are blocked");
    assert.deepEqual(lab.vipHolders(), ["lb1", "lb2"]);

    const t2 = Date.now();
    lab.net.unblockVrrp("lb2");
    await closedAfterHeal(stack, timings, lab, inc, t2, "4 nftables rule removed");
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    await lab.destroy();
  });
});
