/**
 * Scenario 10: the server is killed and restarted during a failover, and
 * PostgreSQL is stopped for 30 s during another one. The agents keep
 * collecting into their outboxes; after recovery every line keepalived wrote
 * is stored exactly once and the states are right.
 *
 * The server runs on a PRIVATE PostgreSQL (initdb in a temporary directory,
 * its own port), so stopping it affects no other test process on the machine.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lab } from "./lab/lab";
import { assertExactlyOnce, waitAllStored } from "./lab/checks";
import { startPrivatePg, type PrivatePg } from "./lab/pg-private";
import { e2eSuite } from "./lab/suite";
import { sleep } from "../helpers/wait";
import { stateMap } from "./lab/stack";
import { secondsSince } from "./lab/timing";

const OUTAGE_MS = 30_000;
/** the catch-up after PostgreSQL is back: the agents are told to resume (target 2 s p99; a loaded CI machine) */
const CATCH_UP_BOUND_S = 10;
let pgsrv: PrivatePg | null = null;

const suite = e2eSuite(import.meta.url, {
  postgres: true,
  server: async () => {
    pgsrv = await startPrivatePg();
    console.log(`e2e database: a private PostgreSQL on 127.0.0.1:${pgsrv.port} (stopped and started by this test)`);
    return { db: await pgsrv.testDb() };
  },
});

describe("server and database outages on real keepalived", () => {
  it("10. stores every event exactly once after a server restart and a 30 s PostgreSQL outage during failovers", { timeout: 240_000 }, async () => {
    const { stack, timings } = suite();
    const health = await stack.api<{ ok: boolean; db: string }>("/api/health");
    assert.equal(health.db, "postgres");
    const lab = await Lab.create(stack, "s10-db", [
      { name: "lb1", octet: 11, priority: 150 },
      { name: "lb2", octet: 12, priority: 100 },
    ]);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    const lb1 = lab.host("lb1").ka;

    // a) the server dies (SIGKILL) as the failover begins, and comes back 3 s later
    const t1 = Date.now();
    lb1.setHealthy(false);
    await sleep(500);
    await stack.srv.kill("SIGKILL");
    await sleep(3000);
    await stack.srv.restart();
    const a = await stack.waitSummary("lb2 MASTER with the VIP after the server restart", lab.cluster,
      (c) => stateMap(c).lb2 === "MASTER+vip" && stateMap(c).lb1 === "BACKUP", t1, 60_000);
    timings.add({ scenario: "10a server SIGKILLed during failover, back after 3 s", expected: "failover shown, every line once",
      got: JSON.stringify(stateMap(a.msg)), seconds: secondsSince(t1, a.at) });
    await waitAllStored(stack, lab, null, 30_000);
    await assertExactlyOnce(stack, lab, null);

    // b) PostgreSQL stops for 30 s; lb1 recovers and preempts meanwhile
    const t2 = Date.now();
    pgsrv!.stop();
    let restarted = false;
    try {
      await sleep(1000);
      lb1.setHealthy(true);
      await sleep(OUTAGE_MS - 1000);
      assert.deepEqual(lab.vipHolders(), ["lb1"], "keepalived preempted during the outage");
      pgsrv!.start();
      restarted = true;
    } finally {
      if (!restarted) pgsrv!.start();
    }
    const t3 = Date.now();
    const b = await stack.waitSummary("lb1 MASTER with the VIP after PostgreSQL is back", lab.cluster,
      (c) => stateMap(c).lb1 === "MASTER+vip" && stateMap(c).lb2 === "BACKUP", t3, 60_000)
      .catch((e: Error) => { throw new Error(`${e.message}\n--- server:\n${stack.srv.output().slice(-4000)}`); });
    const stored = await waitAllStored(stack, lab, null, 60_000);
    const catchUpS = secondsSince(t3, Math.max(b.at, stored));
    timings.add({ scenario: "10b PostgreSQL stopped 30 s during failover", expected: "preemption shown, every line once (s after PG start)",
      got: JSON.stringify(stateMap(b.msg)), seconds: catchUpS });
    assert.ok(t3 - t2 >= OUTAGE_MS);
    // the server tells the agents to resume when PostgreSQL answers again (issue 13: 2 s p99); before, they waited
    // out their backoff (up to 30 s). Asserted generously: CATCH_UP_BOUND_S on a loaded machine.
    assert.ok(catchUpS <= CATCH_UP_BOUND_S, `the outage's events were shown and stored ${catchUpS} s after PostgreSQL was back (bound ${CATCH_UP_BOUND_S} s)`);

    await sleep(1500); // a late duplicate would show up by now
    const { states } = await assertExactlyOnce(stack, lab, null);
    // lb1: BACKUP (init), MASTER, BACKUP, MASTER; lb2: BACKUP (init), MASTER, BACKUP
    assert.equal(states, 7);
    const health2 = await stack.api<{ ok: boolean }>("/api/health");
    assert.equal(health2.ok, true);
    await lab.destroy();
  });
});
