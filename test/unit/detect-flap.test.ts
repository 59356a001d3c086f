import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DetectionEngine, replay, type Incident } from "../../server/detect";
import { T0, pair, threeNode, twoNode } from "../helpers/facts";

const flaps = (xs: Incident[]) => xs.filter((i) => i.kind === "FLAPPING");

describe("FLAPPING from hx1's health-check toggling (three-node capture)", () => {
  const fx = threeNode();
  // the last state change of VRID 51 on any node (hx2 handing back to hx1)
  const lastChange = fx.facts.filter((f) => f.kind === "log" && /^\(VI_WEB\) Entering \w+ STATE$/.test(f.line)).at(-1)!.ts;
  const until = lastChange + 61_000;
  // agents stay up after the capture so that only the quiet period matters
  const facts = [...fx.facts];
  for (let t = fx.end + 2000; t <= until; t += 1000) for (const n of ["hx1", "hx2", "hx3"]) facts.push({ kind: "seen", node: n, ts: t });

  it("opens one FLAPPING for VRID 51 within the flap window after the toggling began", () => {
    const found = flaps(replay(facts, until));
    assert.equal(found.length, 1);
    const f = found[0];
    assert.equal(f.vrid, 51);
    assert.ok(f.nodes.includes("hx1"));
    assert.deepEqual(f.instances.hx1, "VI_WEB");
    const start = fx.events["flap-start hx1"];
    assert.ok(f.openedAt >= start && f.openedAt <= start + 60_000, `opened ${f.openedAt - start} ms after flap-start`);
    assert.equal(f.severity, "warning");
  });

  it("blames the toggling tracked script on hx1, with the script and priority lines as evidence", () => {
    const [f] = flaps(replay(facts, until));
    assert.equal(f.cause.code, "tracked_script_toggling");
    assert.match(f.cause.summary, /chk_web on hx1/);
    const hx1 = f.evidence.filter((e) => e.node === "hx1").map((e) => e.line);
    assert.ok(hx1.includes("Script `chk_web` now returning 1"));
    assert.ok(hx1.includes("VRRP_Script(chk_web) failed (exited with status 1)"));
    assert.ok(hx1.includes("(VI_WEB) Changing effective priority from 140 to 90"));
    assert.ok(hx1.includes("(VI_WEB) Entering BACKUP STATE"));
  });

  it("closes after the quiet period, dated at the last state change", () => {
    const e = new DetectionEngine("hx");
    for (const f of facts) if (f.ts <= lastChange + 59_000) e.push(f);
    e.tick(lastChange + 59_000);
    assert.equal(flaps(e.openIncidents()).length, 1, "still open during the quiet period");
    const changes = facts.filter((f) => f.ts > lastChange + 59_000).flatMap((f) => e.push(f)).concat(e.tick(until));
    assert.deepEqual(changes.filter((c) => c.incident.kind === "FLAPPING").map((c) => c.type), ["closed"]);
    assert.equal(flaps(e.incidents())[0].closedAt, lastChange);
  });

  it("the partition alone (two changes per node) is not flapping", () => {
    const before = facts.filter((f) => f.ts < fx.events["flap-start hx1"]);
    assert.deepEqual(flaps(replay(before, fx.events["flap-start hx1"])), []);
  });
});

describe("FLAPPING thresholds and causes", () => {
  it("one failover and its failback (two changes per node) is not flapping", () => {
    const fx = twoNode();
    const until = fx.start + 20_000; // failover at 18:54:07, preemption at 18:54:10
    assert.deepEqual(flaps(replay(fx.facts.filter((f) => f.ts < until), until)), []);
  });

  it("an interface going down and up repeatedly is link_flapping", () => {
    const t = pair();
    for (let i = 0; i < 3; i++) {
      const at = T0 + 20_000 + i * 8000;
      t.lines("node1", at, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE", "(VI_1) removing VIPs."]);
      t.lines("node1", at + 3000, ["Netlink reports eth0 up", "(VI_1) Entering BACKUP STATE"]);
    }
    const [f] = flaps(replay(t.facts(), T0 + 100_000));
    assert.equal(f.cause.code, "link_flapping");
    assert.deepEqual(f.nodes, ["node1"]);
    assert.equal(f.openedAt, T0 + 20_001, "the first counted change");
    assert.ok(f.evidence.some((e) => e.line === "Netlink reports eth0 down"));
  });

  it("changes that are further apart than the window do not add up", () => {
    const t = pair({ horizonMs: 600_000 });
    for (let i = 0; i < 6; i++) {
      const at = T0 + 20_000 + i * 35_000;
      t.lines("node1", at, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE"]);
      t.lines("node1", at + 3000, ["Netlink reports eth0 up", "(VI_1) Entering BACKUP STATE"]);
    }
    assert.equal(flaps(replay(t.facts(), T0 + 300_000)).length, 1, "control: 4 changes within 60 s");
    assert.deepEqual(flaps(replay(t.facts(), T0 + 300_000, { flapWindowMs: 30_000 })), []);
  });

  it("flapping again within the hold-down re-opens the same incident", () => {
    const t = pair({ horizonMs: 600_000 });
    const burst = (from: number) => {
      for (let i = 0; i < 2; i++) {
        const at = from + i * 6000;
        t.lines("node1", at, ["Netlink reports eth0 down", "(VI_1) Entering FAULT STATE"]);
        t.lines("node1", at + 3000, ["Netlink reports eth0 up", "(VI_1) Entering BACKUP STATE"]);
      }
    };
    burst(T0 + 20_000);
    burst(T0 + 80_000); // the first burst's last change was at T0 + 29 s; closed 30 s later; 51 s < hold-down
    const e = new DetectionEngine("c", { flapQuietMs: 30_000 });
    const changes = t.facts().flatMap((f) => e.push(f)).concat(e.tick(T0 + 300_000)).filter((c) => c.incident.kind === "FLAPPING");
    assert.deepEqual(changes.map((c) => c.type), ["opened", "closed", "updated", "closed"]);
    assert.equal(flaps(e.incidents()).length, 1);
  });
});
