/**
 * The cluster feed (issue 13; server/ingest/store.ts, server/ingest/feed.ts)
 * on a real database: two database handles stand for two replicas storing
 * batches of one cluster at the same time, one of them with a clock 5 s
 * behind.
 * - Positions: 1..N, each once, and committed in their order (a reader that
 *   saw N saw every position below it).
 * - Receive times never go back along the positions (replay order = feed
 *   order), whatever each replica's clock said.
 * - A third replica's FeedFollower reads every batch back in position order,
 *   with exactly the records each storeBatch call stored (ids and seqs).
 * - Fencing: an incident write carrying a lease epoch that was bumped (the
 *   lease taken over) is refused (FencedError) and changes nothing; a write
 *   in flight holds the new holder's bump until it commits.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { openDatabase, type Database } from "../../server/db/database";
import { createLogger } from "../../server/log";
import { storeBatch, type StoreResult } from "../../server/ingest/store";
import { FeedFollower } from "../../server/ingest/feed";
import type { Ingest } from "../../server/ingest/batches";
import type { AppContext } from "../../server/app-context";
import { Counters } from "../../server/metrics";
import { EventBus } from "../../server/bus";
import { DEFAULT_CAPS } from "../../server/ingest/limits";
import type { AgentRecord } from "../../server/protocol";
import { FencedError, upsertIncident } from "../../server/incidents/incident-store";
import type { Incident } from "../../server/detect/types";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { ROOT } from "../helpers/server";

const BATCHES = 40;

describe(`cluster feed (${testDbKind()})`, () => {
  let tdb: TestDb;
  const dbs: Database[] = [];
  before(async () => {
    tdb = await createTestDb();
    const log = createLogger("warn");
    dbs.push(await openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir, cwd: ROOT, log }));
    // the embedded PGlite is one process: its one handle stands for both
    dbs.push(tdb.kind === "postgres" ? await openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir, cwd: ROOT, log }) : dbs[0]);
  });
  after(async () => {
    for (const d of new Set(dbs)) await d.close();
    await tdb?.drop();
  });

  it("orders one cluster's batches stored concurrently by two replicas, and a third reads each back exactly", { timeout: 120_000 }, async () => {
    const x = (sql: string, ...params: unknown[]) => dbs[0].prisma.$executeRawUnsafe(sql, ...params);
    await x(`INSERT INTO cluster (id, name) VALUES (1, 'f')`);
    await x(`INSERT INTO node (id, cluster_id, name) VALUES (1, 1, 'n1'), (2, 1, 'n2')`);
    const agents = [randomUUID(), randomUUID()];
    await x(`INSERT INTO agent (id, cluster_id, node_id, token_id) VALUES ($1::uuid, 1, 1, 0), ($2::uuid, 1, 2, 0)`, agents[0], agents[1]);

    const t0 = Date.now();
    const seqs = [0, 0];
    const results = await Promise.all(
      Array.from({ length: BATCHES }, (_, i) => {
        const r = i % 2; // replica r stores the batches of node r + 1; replica 1's clock is 5 s behind
        const records: AgentRecord[] = [1, 2, 3].map(() => ({
          kind: "log", seq: ++seqs[r], ts: t0 + i, source: "file", line: `Dec  5 10:00:00 n${r + 1} Keepalived_vrrp[1]: (VI_1) batch ${i}`,
        }) as AgentRecord);
        const rx = new Date(t0 + i * 3 - r * 5000).toISOString();
        return storeBatch(dbs[r].prisma, { clusterId: 1, nodeId: r + 1, agentId: agents[r] }, records, () => [], rx, `replica-${r}`).then((res) => ({ r, res }));
      }),
    );
    const byPos = [...results].sort((a, b) => Number(a.res.pos - b.res.pos));
    assert.deepEqual(byPos.map((b) => Number(b.res.pos)), Array.from({ length: BATCHES }, (_, i) => i + 1), "positions 1..N, each once");
    for (let i = 1; i < byPos.length; i++) {
      assert.ok(byPos[i].res.rxUs >= byPos[i - 1].res.rxUs, `receive time of position ${i + 1} is not before position ${i}'s`);
    }
    const [cl] = (await dbs[0].prisma.$queryRawUnsafe(`SELECT feed_pos::int AS pos FROM cluster WHERE id = 1`)) as { pos: number }[];
    assert.equal(cl.pos, BATCHES);

    // a third replica reads everything back in order
    const applied: { agentId: string; r: StoreResult }[] = [];
    const counters = new Counters();
    const log = createLogger("warn");
    const app: AppContext = {
      db: dbs[0].prisma, dbKind: tdb.kind, replica: "replica-2", log, counters, bus: new EventBus(log, counters),
      settings: { offlineMs: 15_000, caps: DEFAULT_CAPS },
    };
    // the follower's one dependency on ingest, recorded (the picture is not under test here)
    const ingest = { applyStored: (d: { agentId: string }, r: StoreResult) => applied.push({ agentId: d.agentId, r }) } as unknown as Ingest;
    const follower = new FeedFollower(app, ingest);
    await follower.start(false);
    // it started at the current positions: nothing to read
    await follower.poll();
    await follower.idle();
    assert.equal(applied.length, 0, "a follower starts at the positions the restored picture already holds");
    const fresh = new FeedFollower(app, ingest);
    await fresh.poll(); // a cluster it never saw: from position 1
    for (let i = 0; i < 50 && applied.length < BATCHES; i++) {
      await fresh.idle();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(applied.length, BATCHES);
    assert.deepEqual(applied.map((a) => Number(a.r.pos)), byPos.map((b) => Number(b.res.pos)), "read back in position order");
    for (const [i, a] of applied.entries()) {
      const stored = byPos[i];
      assert.equal(a.agentId, agents[stored.r]);
      assert.deepEqual(a.r.logs.map((l) => [l.id, l.seq, l.line]), stored.res.logs.map((l) => [l.id, l.seq, l.line]), `position ${i + 1}: the batch's records exactly`);
      assert.equal(a.r.rxUs, stored.res.rxUs);
    }
    assert.equal(await counters.registry.getSingleMetricAsString("kam_feed_read_backs_total").then((s) => Number(/ (\d+)$/m.exec(s)?.[1])), BATCHES);
  });

  it("refuses an incident write whose lease epoch was taken over, and a takeover waits for a write in flight", { timeout: 60_000 }, async () => {
    const db = dbs[0].prisma;
    const x = (sql: string, ...params: unknown[]) => db.$executeRawUnsafe(sql, ...params);
    await x(`INSERT INTO cluster (id, name) VALUES (2, 'fence')`);
    const t = Date.parse("2026-12-05T12:00:00Z");
    const inc = (closedAt: number | null): Incident => ({
      key: `fence:DUAL_MASTER:51:${t}`, kind: "DUAL_MASTER", severity: "critical", cluster: "fence", vrid: 51, family: "ipv4", scope: "51",
      instances: { a: "VI_1", b: "VI_1" }, nodes: ["a", "b"], openedAt: t, closedAt,
      cause: { code: "adverts_not_received", summary: "both nodes stopped hearing each other" }, evidence: [],
    });
    // no leases (the embedded database, one process): no fence
    await upsertIncident(db, 2, inc(null), new Date(), null);
    await x(`INSERT INTO detection_lease (cluster_id, epoch, holder, taken_at) VALUES (2, 1, 'r1', now())`);
    await upsertIncident(db, 2, inc(null), new Date(), 1n);
    // replica r2 takes the lease over: epoch 2
    await x(`UPDATE detection_lease SET epoch = 2, holder = 'r2' WHERE cluster_id = 2`);
    await assert.rejects(upsertIncident(db, 2, inc(t + 5000), new Date(), 1n), (e) => e instanceof FencedError && e.epoch === 1n);
    const rows = (await db.$queryRawUnsafe(`SELECT closed_at FROM incident WHERE cluster_id = 2`)) as { closed_at: Date | null }[];
    assert.deepEqual(rows.map((r) => r.closed_at), [null], "the fenced write changed nothing");
    await upsertIncident(db, 2, inc(t + 5000), new Date(), 2n);
    const closed = (await db.$queryRawUnsafe(`SELECT closed_at FROM incident WHERE cluster_id = 2`)) as { closed_at: Date | null }[];
    assert.equal(closed[0].closed_at?.getTime(), t + 5000);

    if (tdb.kind !== "postgres") return; // one session: nothing runs in flight beside it
    // a write in flight (its transaction open, the lease row share-locked) holds the takeover's bump until it commits
    const pool = (await import("../../server/db/database")).sqlOf(dbs[1].prisma);
    const writer = await pool.connect();
    try {
      await writer.query("BEGIN");
      await writer.query(`SELECT 1 FROM detection_lease WHERE cluster_id = 2 AND epoch = 2 FOR SHARE`);
      let bumped = false;
      const bump = x(`UPDATE detection_lease SET epoch = 3, holder = 'r3' WHERE cluster_id = 2`).then(() => (bumped = true));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(bumped, false, "the takeover waits for the write in flight");
      await writer.query("COMMIT");
      await bump;
      assert.equal(bumped, true);
    } finally {
      writer.release();
    }
  });
});
