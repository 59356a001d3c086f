/**
 * DetectionHost with a stand-in for the database (a stub whose cluster lookup
 * resolves late, to reproduce the race the e2e suite found): the real
 * engine, the real incident-change plumbing.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { DetectionHost } from "../../server/incidents/detection-host";
import { Counters } from "../../server/metrics";
import { EventBus } from "../../server/bus";
import { createLogger } from "../../server/log";
import type { Db } from "../../server/db/database";
import type { Notifier } from "../../server/incidents/notifier";
import type { Fact } from "../../server/detect/types";

it("feeds that arrive while a new cluster's engine is being created all reach the same engine, in order", async () => {
  let lookups = 0;
  const stubDb = {
    cluster: {
      findUnique: async () => {
        lookups++;
        await new Promise((r) => setTimeout(r, 20));
        return { id: 1, name: "c", settings: {} };
      },
    },
  } as unknown as Db;
  const host = new DetectionHost(stubDb, createLogger("silent"), new Counters(), {} as Notifier, new EventBus(createLogger("silent"), new Counters()));
  const t = Date.now();
  const seen = (node: string, ts: number): Fact => ({ kind: "seen", node, ts });
  host.feed(1, "c", [seen("a", t)]);
  host.feed(1, "c", [seen("b", t + 1)]);
  host.feed(1, "c", [seen("c", t + 2)]);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lookups, 1, "one engine created");
  const engine = (host as unknown as { engines: Map<number, { engine: { nodeStates(): { node: string }[] } }> }).engines.get(1)!.engine;
  assert.deepEqual(engine.nodeStates().map((n) => n.node).sort(), ["a", "b", "c"], "every node's facts reached it");
  host.stop();
});

it("does not judge a cluster by the wall clock while a reconnected agent replays its backlog", async () => {
  const stubDb = { cluster: { findUnique: async () => ({ id: 1, name: "c", settings: {} }) } } as unknown as Db;
  const changes: string[] = [];
  const host = new DetectionHost(stubDb, createLogger("silent"), new Counters(), {} as Notifier, new EventBus(createLogger("silent"), new Counters()));
  (host as unknown as { apply: (ce: unknown, ch: { type: string; incident: { kind: string } }[]) => void }).apply = (_ce, ch) => {
    for (const c of ch) changes.push(`${c.type} ${c.incident.kind}`);
  };
  const t = Date.now() - 60_000; // the failover happened a minute ago, while both agents were down
  const cfg = (node: string): Fact => ({ kind: "config", node, ts: t - 20_000, id: `c-${node}`, instances: [{
    name: "VI_1", vrid: 51, interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: null, authPassHash: null,
    vips: [], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null }] });
  const line = (node: string, ts: number, state: "MASTER" | "BACKUP"): Fact =>
    ({ kind: "log", node, ts, id: `${node}${ts}`, line: `(VI_1) Entering ${state} STATE`, event: { type: "state", instance: "VI_1", state } });
  // before: b MASTER, a BACKUP, both agents seen
  host.feed(1, "c", [cfg("a"), cfg("b"), line("b", t - 10_000, "MASTER"), line("a", t - 10_000, "BACKUP"),
    { kind: "seen", node: "a", ts: t - 9000 }, { kind: "seen", node: "b", ts: t - 9000 }]);
  await new Promise((r) => setTimeout(r, 20));
  // both agents reconnect; a's backlog arrives first: a became MASTER at t
  host.agentConnected(1, "agent-a");
  host.agentConnected(1, "agent-b");
  host.feed(1, "c", [line("a", t, "MASTER")]);
  host.tick(Date.now()); // a wall-clock tick now would see a and (stale) b MASTER for a minute
  // b's backlog: it had handed over just before
  host.feed(1, "c", [line("b", t - 10, "BACKUP")]);
  host.agentOutbox("agent-a", 0);
  host.agentOutbox("agent-b", 0);
  host.tick(Date.now());
  assert.deepEqual(changes.filter((c) => c.endsWith("DUAL_MASTER")), []);
  host.stop();
});

it("a MASTER line replayed late from a reconnected agent's backlog gets a full grace before DUAL_MASTER, so the peer's backlog can end it", async () => {
  const { DetectionEngine } = await import("../../server/detect");
  const e = new DetectionEngine("c");
  const t = 1_800_000_000_000;
  const cfg = (node: string): Fact => ({ kind: "config", node, ts: t - 20_000, id: `c-${node}`, instances: [{
    name: "VI_1", vrid: 51, interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: null, authPassHash: null,
    vips: [], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null }] });
  const line = (node: string, ts: number, state: "MASTER" | "BACKUP"): Fact =>
    ({ kind: "log", node, ts, id: `${node}${ts}`, line: `(VI_1) Entering ${state} STATE`, event: { type: "state", instance: "VI_1", state } });
  const out: string[] = [];
  const push = (f: Fact) => out.push(...e.push(f).map((c) => `${c.type} ${c.incident.kind}`));
  for (const f of [cfg("a"), cfg("b"), line("b", t - 10_000, "MASTER"), line("a", t - 10_000, "BACKUP")]) push(f);
  // agents away and back: the clock is 20 s later; a's backlog says it took over at t
  push({ kind: "seen", node: "a", ts: t + 20_000 });
  push({ kind: "seen", node: "b", ts: t + 20_000 });
  push(line("a", t, "MASTER"));
  out.push(...e.tick(t + 20_500).map((c) => `${c.type} ${c.incident.kind}`));
  push(line("b", t - 10, "BACKUP")); // b's backlog: it had handed over just before
  out.push(...e.tick(t + 25_000).map((c) => `${c.type} ${c.incident.kind}`));
  assert.deepEqual(out.filter((c) => c.endsWith("DUAL_MASTER")), []);
  // and a real late split still opens, at the moment it began
  push(line("b", t + 21_000, "MASTER"));
  out.push(...e.tick(t + 30_000).map((c) => `${c.type} ${c.incident.kind}`));
  const d = e.incidents().filter((i) => i.kind === "DUAL_MASTER");
  assert.equal(d.length, 1);
  assert.equal(d[0].openedAt, t + 21_000);
});

it("a split brain learnt late that ends before its deferred grace is reported when it lasted the grace by its members' own times (truth lab seed 2207)", async () => {
  const { DetectionEngine } = await import("../../server/detect");
  const t = 1_800_000_000_000;
  const cfg = (node: string): Fact => ({ kind: "config", node, ts: t - 20_000, id: `c-${node}`, instances: [{
    name: "VI_1", vrid: 51, interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: null, authPassHash: null,
    vips: [], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null }] });
  const line = (node: string, ts: number, state: "MASTER" | "BACKUP"): Fact =>
    ({ kind: "log", node, ts, id: `${node}${ts}`, line: `(VI_1) Entering ${state} STATE`, event: { type: "state", instance: "VI_1", state } });
  /** a MASTER since t - 10 s; b's MASTER line at t arrives 2.5 s late (its deferred grace ends at t + 4 s); then `end` */
  const run = (end: (e: InstanceType<typeof DetectionEngine>) => void) => {
    const e = new DetectionEngine("c");
    for (const f of [cfg("a"), cfg("b"), line("a", t - 10_000, "MASTER"), line("b", t - 10_000, "BACKUP")]) e.push(f);
    e.push({ kind: "seen", node: "a", ts: t + 2_500 });
    e.push({ kind: "seen", node: "b", ts: t + 2_500 });
    e.push(line("b", t, "MASTER"));
    e.tick(t + 3_000);
    end(e);
    e.tick(t + 30_000);
    return e.incidents().filter((i) => i.kind === "DUAL_MASTER");
  };
  // a yields 3 s after the overlap began (its own time): past the 1.5 s grace, before the deferred deadline
  const [d, ...more] = run((e) => e.push(line("a", t + 3_000, "BACKUP")));
  assert.equal(more.length, 0);
  assert.ok(d, "reported");
  assert.equal(d.openedAt, t);
  assert.equal(d.closedAt, t + 3_000);
  assert.deepEqual(d.nodes, ["a", "b"]);
  assert.ok(d.evidence.some((x) => x.node === "b" && x.line === "(VI_1) Entering MASTER STATE"), "b's MASTER line is evidence");
  // b's backlog ends it 1 s after it began (its own time): under the grace, nothing
  assert.deepEqual(run((e) => e.push(line("b", t + 1_000, "BACKUP"))), []);
  // a's agent goes away: the picture ends, not the overlap: nothing claimed
  assert.deepEqual(run((e) => e.push({ kind: "disconnected", node: "a", ts: t + 3_000 })), []);
});
