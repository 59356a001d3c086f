/**
 * The truth lab's oracle on configurations that differ between hosts: CONFIG_DRIFT while the written
 * configurations differ, and a host restarted with another VRID for the router (vrid_mismatch), with its
 * split brain, its drift and its instance's FAULT under the VRID it runs with. Split from
 * truth-scorer.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveTruth } from "../truth/oracle";
import { action, baseObs, dump, FIELDS, s, T0, VIP } from "../helpers/truth-obs";

test("a config mismatch is a CONFIG_DRIFT label while the written configurations differ", () => {
  const o = baseObs();
  o.configs.push({ t: s(30), host: "b", routers: { 10: { ...FIELDS, authPass: "other" } } });
  o.configs.push({ t: s(45), host: "b", routers: { 10: FIELDS } });
  const t = deriveTruth(o);
  const d = t.labels.find((l) => l.kind === "CONFIG_DRIFT");
  assert.ok(d, JSON.stringify(t.labels));
  assert.ok(Math.abs(d.start - s(30)) <= 100 && Math.abs(d.end - s(45)) <= 100);
  assert.match(d.why, /auth/);
});

test("a host restarted with another VRID for the same VIP: DUAL_MASTER on the router and CONFIG_DRIFT vrid_mismatch", () => {
  const o = baseObs();
  o.ka.push({ t: s(30), host: "b", what: "stop" }, { t: s(30.5), host: "b", what: "start" });
  o.proc.push({ t: s(30.2), host: "b", running: false }, { t: s(30.6), host: "b", running: true });
  o.configs.push({ t: s(30.1), host: "b", routers: { 11: FIELDS } });
  // b runs VRID 11 alone: MASTER with the same VIP from 34 s until it is put back at 45 s
  o.dumps.push({ t: s(35), host: "b", instances: [{ iname: "VI_b", vrid: 11, state: 2, lastTransition: s(34) }] });
  o.addr.push({ t: s(34.1), host: "b", ips: ["198.18.0.12", VIP] });
  o.configs.push({ t: s(45), host: "b", routers: { 10: FIELDS } });
  o.addr.push({ t: s(45.3), host: "b", ips: ["198.18.0.12"] });
  dump(o, 46.5, "b", 1, 45.5);
  action(o, { kind: "vrid_mismatch", host: "b", at: s(30), until: s(45.5), expect: { DUAL_MASTER: "vrid_mismatch", CONFIG_DRIFT: "any" } });
  const t = deriveTruth(o);
  const dual = t.labels.find((l) => l.kind === "DUAL_MASTER");
  const drift = t.labels.find((l) => l.kind === "CONFIG_DRIFT");
  assert.ok(dual && drift, JSON.stringify(t.labels));
  assert.deepEqual(dual.hosts, ["a", "b"]);
  assert.equal(dual.cause, "vrid_mismatch");
  assert.equal(drift.cause, "vrid_mismatch");
  assert.ok(Math.abs(drift.start - s(30.1)) <= 100 && Math.abs(drift.end - s(45)) <= 100, `${(drift.start - T0) / 1000} .. ${(drift.end - T0) / 1000}`);
  // b's VRID-10 instance is absent meanwhile: it is neither MASTER nor BACKUP of VRID 10
  assert.equal(t.labels.filter((l) => l.kind === "KEEPALIVED_DOWN").length, 0);
});

test("a host restarted with another VRID while its interface is down: its instance's FAULT is labelled under the VRID it runs with (seed 3906)", () => {
  const o = baseObs();
  // b's eth0 goes down at 20 s: FAULT of its VRID-10 instance
  o.dumps.push({ t: s(21), host: "b", instances: [{ iname: "VI_b", vrid: 10, state: 3, lastTransition: s(20.2) }] });
  // at 24 s b is restarted with VRID 11 for the router, eth0 still down: FAULT again, of VRID 11, until eth0 is up at 30 s
  o.ka.push({ t: s(24), host: "b", what: "stop" }, { t: s(24.5), host: "b", what: "start" });
  o.proc.push({ t: s(24.2), host: "b", running: false }, { t: s(24.6), host: "b", running: true });
  o.configs.push({ t: s(24.1), host: "b", routers: { 11: FIELDS } });
  o.dumps.push({ t: s(26), host: "b", instances: [{ iname: "VI_b", vrid: 11, state: 3, lastTransition: s(25) }] });
  o.dumps.push({ t: s(31), host: "b", instances: [{ iname: "VI_b", vrid: 11, state: 1, lastTransition: s(30) }] });
  action(o, { kind: "link_down", host: "b", at: s(20), until: s(30), expect: { FAULT: "interface_down" } });
  action(o, { kind: "vrid_mismatch", host: "b", at: s(24), until: s(40), expect: { DUAL_MASTER: "vrid_mismatch", CONFIG_DRIFT: "any" } });
  const faults = deriveTruth(o).labels.filter((l) => l.kind === "FAULT").map((l) => [l.vrid, l.hosts.join(), (l.start - T0) / 1000, (l.end - T0) / 1000, l.cause]);
  assert.equal(faults.length, 2, JSON.stringify(faults));
  assert.deepEqual(faults[0].slice(0, 2), [10, "b"]);
  assert.deepEqual([faults[1][0], faults[1][1], faults[1][4]], [11, "b", "interface_down"], "the restarted instance's FAULT, under VRID 11, caused by the interface");
  assert.ok(Math.abs((faults[1][2] as number) - 25) <= 0.2 && Math.abs((faults[1][3] as number) - 30) <= 0.2, JSON.stringify(faults[1]));
});
