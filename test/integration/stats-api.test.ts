/**
 * GET /api/stats on the real server: hand-made history written straight into its database gives
 * known answers (time without MASTER, split brain, failovers, MTTR); a failover reported by two
 * agents through the real ingest is counted; bad queries get typed errors.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connectForCli } from "../../server/db/connect-cli";
import { createLogger } from "../../server/log";
import type { PrismaClient } from "../../server/generated/prisma/client";
import { StatsResponse } from "../../server/stats/types";
import { backupPair, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";
import { testDbKind } from "../helpers/db";
import { fetchChecked } from "../helpers/api-schema";
import { ROOT, startTestServer, type TestServer } from "../helpers/server";

const MIN = 60_000;
const R = Date.parse("2024-03-01T00:00:00Z");
const at = (m: number) => new Date(R + m * MIN);

let srv: TestServer;
let db: { prisma: PrismaClient; close(): Promise<void> };
const agents: FakeAgent[] = [];
let logId = 9_000_000_000n;

async function getStats(qs: string): Promise<{ status: number; body: unknown }> {
  // every answer, success or error, is checked against the route's schema
  const r = await fetchChecked(srv.url, `/api/stats?${qs}`);
  return { status: r.status, body: r.body };
}

async function seed(): Promise<void> {
  const p = db.prisma;
  const c = await p.cluster.create({ data: { name: "stats-a" } });
  await p.cluster.create({ data: { name: "stats-b" } });
  const a = await p.node.create({ data: { clusterId: c.id, name: "a" } });
  const b = await p.node.create({ data: { clusterId: c.id, name: "b" } });
  const sc = (node: number, minute: number, state: string, vrid: number | null = 51, inst = "VI_1") => ({
    clusterId: c.id,
    nodeId: node,
    instance: inst,
    vrid,
    state,
    ts: at(minute),
    logRecordId: logId++,
  });
  await p.stateChange.createMany({
    data: [
      sc(a.id, -10, "MASTER"), // before the range: a is MASTER when it starts
      sc(b.id, -10, "BACKUP"),
      sc(a.id, 10, "FAULT"),
      sc(b.id, 10.02, "MASTER"), // failover 1: a -> b
      sc(a.id, 20, "BACKUP"),
      sc(a.id, 30, "MASTER"), // failover 2: b -> a (preemption) ...
      sc(b.id, 30.001, "BACKUP"), // ... b steps down just after
      sc(b.id, 70, "MASTER"), // after the range: not counted
    ],
  });
  let n = 0;
  const inc = (kind: string, severity: string, from: number, to: number | null) => ({
    clusterId: c.id,
    kind,
    severity,
    vrid: 51,
    nodes: ["a", "b"],
    openedAt: at(from),
    closedAt: to === null ? null : at(to),
    causeCode: "test",
    causeSummary: "hand-made",
    dedupKey: `stats-test:${++n}`,
    updatedAt: new Date(),
  });
  await p.incident.createMany({
    data: [
      inc("NO_MASTER", "critical", -5, 5), // 5 min inside; 10 min long
      inc("DUAL_MASTER", "critical", 40, 43), // 3 min
      inc("DUAL_MASTER", "critical", 42, 45), // overlaps: split brain union 5 min
      inc("FAULT", "critical", 10, 20), // 10 min
      inc("FLAPPING", "warning", 50, 52), // not critical: not in MTTR
      inc("FAULT", "critical", 90, null), // after the range
    ],
  });
}

before(async () => {
  srv = await startTestServer();
  db = await connectForCli({ databaseUrl: srv.db.databaseUrl, dataDir: srv.db.dataDir }, ROOT, createLogger("warn"));
  await seed();
});

after(async () => {
  for (const a of agents) a.close();
  await db?.close();
  await srv?.close();
});

describe(`GET /api/stats (${testDbKind()})`, () => {
  const range = `from=${at(0).toISOString()}&to=${at(60).toISOString()}`;

  it("answers time without MASTER, split brain, failovers and MTTR of hand-made history", async () => {
    const { status, body } = await getStats(`cluster=stats-a&${range}`);
    assert.equal(status, 200);
    const stats = StatsResponse.parse(body);
    assert.equal(stats.from, at(0).toISOString());
    assert.equal(stats.to, at(60).toISOString());
    assert.equal(stats.clusters.length, 1);
    const s = stats.clusters[0]!;
    assert.equal(s.cluster, "stats-a");
    assert.equal(s.noMasterMs, 5 * MIN);
    assert.equal(s.splitBrainMs, 5 * MIN);
    assert.equal(s.failovers, 2);
    assert.equal(s.recovered, 4);
    assert.equal(s.mttrMs, ((10 + 3 + 3 + 10) / 4) * MIN);
    assert.deepEqual(s.incidents, { NO_MASTER: 1, DUAL_MASTER: 2, FAULT: 1, FLAPPING: 1 });
    assert.deepEqual(s.vrids, [{ group: "51", vrid: 51, failovers: 2, noMasterMs: 5 * MIN, splitBrainMs: 5 * MIN }]);
  });

  it("lists every cluster without a cluster filter, a quiet one with zeros", async () => {
    const { status, body } = await getStats(range);
    assert.equal(status, 200);
    const stats = StatsResponse.parse(body);
    const quiet = stats.clusters.find((c) => c.cluster === "stats-b");
    assert.ok(stats.clusters.some((c) => c.cluster === "stats-a"));
    assert.deepEqual(quiet, { cluster: "stats-b", noMasterMs: 0, splitBrainMs: 0, failovers: 0, mttrMs: null, recovered: 0, incidents: {}, vrids: [] });
  });

  it("counts a failover that two agents report through the real ingest", { timeout: 60_000 }, async () => {
    agents.push(...(await backupPair(srv.url, await srv.token("stats-live"))));
    const [a, b] = agents.slice(-2) as [FakeAgent, FakeAgent];
    await a.log("(VI_1) Entering MASTER STATE");
    await new Promise((r) => setTimeout(r, 1100)); // console stamps have second precision
    await a.log("(VI_1) Entering FAULT STATE");
    await b.log("(VI_1) Entering MASTER STATE");
    const s = await waitFor("the failover counted", async () => {
      const { body } = await getStats("cluster=stats-live");
      const c = StatsResponse.parse(body).clusters[0]!;
      return c.failovers === 1 ? c : null;
    }, 15_000);
    assert.deepEqual(s.vrids.map((v) => [v.vrid, v.failovers]), [[51, 1]]);
  });

  it("refuses bad queries with a typed error and an unknown cluster with not_found", async () => {
    for (const qs of ["from=yesterday", `from=${at(60).toISOString()}&to=${at(0).toISOString()}`, "cluster="]) {
      const { status, body } = await getStats(qs);
      assert.equal(status, 400, qs);
      assert.equal((body as { ok: boolean; code: string }).code, "invalid_message");
      assert.equal((body as { ok: boolean }).ok, false);
    }
    const { status, body } = await getStats("cluster=nope");
    assert.equal(status, 404);
    assert.equal((body as { code: string }).code, "not_found");
  });
});
