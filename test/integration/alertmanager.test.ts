/**
 * Issue 15: the Alertmanager channel against a REAL Alertmanager (Debian's
 * prometheus-alertmanager, started by the test on loopback with a receiver
 * that sends nothing and a resolve_timeout of 3 s). The admin CLI adds the
 * webhook (and refuses what is not Alertmanager's base URL); a real Notifier
 * on a real database (PGlite or PostgreSQL) pushes incidents the way the
 * detection host hands them over. An open incident is an active alert with
 * its labels, kept active past the resolve_timeout by the re-push while it
 * stays open, and resolved when it closes; a hold-down re-open fires it again.
 * Last, the real server pushes a split brain its agents report, and its end.
 * Without Alertmanager installed the tests fail, saying how to install it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { openDatabase, type Database } from "../../server/db/database";
import { Notifier } from "../../server/incidents/notifier";
import { getIncident } from "../../server/incidents/incident-store";
import { ClusterScope } from "../../server/auth/scope";
import { Counters } from "../../server/metrics";
import { createLogger } from "../../server/log";
import { startAlertmanager, type GettableAlert, type TestAlertmanager } from "../helpers/alertmanager";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { backupPair, type FakeAgent } from "../helpers/fake-agent";
import { ROOT, startTestServer } from "../helpers/server";
import { sleep, waitFor } from "../helpers/wait";

const run = promisify(execFile);
/** the re-push interval of these tests (ALERT_REPUSH_MS is 60 s), well within Alertmanager's resolve_timeout here */
const REPUSH_MS = 500;
const RESOLVE_TIMEOUT_MS = 3000;
const DASHBOARD = "https://monitor.example.net";

let am: TestAlertmanager;
let tdb: TestDb;
let db: Database;
const notifiers: Notifier[] = [];

function admin(on: TestDb, ...args: string[]) {
  return run(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/admin.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: on.databaseUrl, KAM_DATA_DIR: on.dataDir },
  });
}

const x = (sql: string, ...params: unknown[]) => db.prisma.$executeRawUnsafe(sql, ...params);

/** an incident row of cluster 1 (as the detection host stores it), and what the notifier is handed */
async function openIncident(id: number, openedAt: Date) {
  await x(`INSERT INTO incident (id, cluster_id, kind, severity, vrid, nodes, opened_at, cause_code, cause_summary, dedup_key, updated_at)
           VALUES ($1, 1, 'DUAL_MASTER', 'critical', 51, '{lb1,lb2}', $2::timestamptz, 'adverts_not_received',
                   'lb2 became MASTER while lb1 was still MASTER: VRRP adverts are not getting through.', $3, now())`,
    id, openedAt.toISOString(), `edge:DUAL_MASTER:51:${id}`);
  return (await getIncident(db.prisma, BigInt(id), ClusterScope.ALL))!;
}

async function setClosed(id: number, closedAt: Date | null) {
  await x(`UPDATE incident SET closed_at = $2::timestamptz, updated_at = now() WHERE id = $1`, id, closedAt?.toISOString() ?? null);
  return (await getIncident(db.prisma, BigInt(id), ClusterScope.ALL))!;
}

function notifier() {
  const n = new Notifier(db.prisma, createLogger("silent"), new Counters(), DASHBOARD, { testOnlyRepushMs: REPUSH_MS });
  notifiers.push(n);
  n.start(100);
  return n;
}

const one = async (incident: string) => {
  const list = await am.alerts({ incident });
  assert.ok(list.length <= 1, `one alert per incident: ${JSON.stringify(list)}`);
  return list[0] as GettableAlert | undefined;
};

before(async () => {
  am = await startAlertmanager({ resolveTimeout: `${RESOLVE_TIMEOUT_MS / 1000}s` });
  tdb = await createTestDb();
  db = await openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir, cwd: ROOT, log: createLogger("warn") });
  await x(`INSERT INTO cluster (id, name) VALUES (1, 'edge')`);
  const added = await admin(tdb, "webhook", "add", "--cluster", "edge", "--url", am.url, "--format", "alertmanager");
  assert.match(added.stdout, /webhook \d+ added to cluster "edge" \(alertmanager\)/);
});

after(async () => {
  for (const n of notifiers) n.stop();
  await am?.stop();
  await db?.close();
  await tdb?.drop();
});

describe(`Alertmanager channel, real Alertmanager (${testDbKind()})`, () => {
  it("the admin CLI refuses Alertmanager's alerts endpoint instead of its base URL, saying so", { timeout: 60_000 }, async () => {
    const r = await admin(tdb, "webhook", "add", "--cluster", "edge", "--url", `${am.url}/api/v2/alerts`, "--format", "alertmanager").then(
      () => assert.fail("accepted"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--url is Alertmanager's base URL, without \/api\/v2\/alerts \(e\.g\. http:\/\/127\.0\.0\.1:\d+\)/);
    const hooks = await db.prisma.webhook.findMany();
    assert.deepEqual(hooks.map((h) => [h.format, h.url]), [["alertmanager", am.url]], "only the base URL was added");
  });

  it("webhook test pushes a made-up alert now, active until it ends by itself, and prints Alertmanager's answer", { timeout: 60_000 }, async () => {
    const { id } = await db.prisma.webhook.findFirstOrThrow();
    const r = await admin(tdb, "webhook", "test", String(id));
    assert.match(r.stdout, new RegExp(`^webhook ${id} \\(alertmanager\\) test alert: HTTP 200\\n$`));
    const alert = await waitFor("the test alert", async () => (await am.alerts({ cluster: "edge" })).find((a) => a.labels.incident.startsWith(`test-${id}-`)), 10_000, 50);
    assert.equal(alert.status.state, "active");
    assert.ok(Date.parse(alert.endsAt) - Date.now() > 60_000, "ends by itself, minutes from now");
  });

  it("an open incident is an active alert with its labels, re-pushed past resolve_timeout, and resolved when it closes", { timeout: 60_000 }, async () => {
    const n = notifier();
    const inc = await openIncident(7, new Date(Date.now() - 10_000));
    assert.equal(await n.enqueue(1, 7n, "opened", inc), 1);

    const first = await waitFor("the alert in Alertmanager", () => one("7"), 10_000, 50);
    assert.deepEqual(first.labels, {
      alertname: "KeepalivedDualMaster", cluster: "edge", kind: "DUAL_MASTER", severity: "critical", vrid: "51", incident: "7",
    });
    assert.deepEqual(first.annotations, {
      summary: "DUAL_MASTER in cluster edge, VRID 51 (lb1, lb2)",
      description: "lb2 became MASTER while lb1 was still MASTER: VRRP adverts are not getting through.",
      cause_code: "adverts_not_received",
      nodes: "lb1, lb2",
    });
    assert.equal(first.status.state, "active");
    assert.equal(Date.parse(first.startsAt), Date.parse(inc.openedAt), "startsAt = openedAt");
    assert.equal(first.generatorURL, `${DASHBOARD}/incidents/7`);

    // no endsAt from us: Alertmanager keeps it for resolve_timeout after a push, then resolves it itself
    // unless it is pushed again; it is still active well past that
    await sleep(Date.parse(first.endsAt) - Date.now() + 1000);
    const later = await one("7");
    assert.ok(later, "still there after resolve_timeout: re-pushed");
    assert.equal(later.status.state, "active");
    assert.ok(Date.parse(later.updatedAt) > Date.parse(first.updatedAt), "pushed again");
    const row = await db.prisma.notification.findFirstOrThrow({ where: { incidentId: 7n } });
    assert.equal(row.event, "alert");
    assert.equal(row.deliveredAt, null, "not done while the incident is open");
    assert.equal(row.failedAt, null);

    const before = await one("7");
    assert.ok(before);
    const closed = await setClosed(7, new Date(Date.now() - 500));
    await n.enqueue(1, 7n, "resolved", closed);
    await waitFor("the alert resolved in Alertmanager", async () => (await one("7")) === undefined, 10_000, 20);
    assert.ok(Date.now() < Date.parse(before.endsAt), "resolved by the push (endsAt = closedAt), not expired after resolve_timeout");
    const done = await waitFor("the row delivered", async () => {
      const r = await db.prisma.notification.findFirstOrThrow({ where: { incidentId: 7n } });
      return r.deliveredAt ? r : null;
    }, 5000, 20);

    await sleep(3 * REPUSH_MS);
    assert.equal(await one("7"), undefined, "no firing push after the resolution");
    const still = await db.prisma.notification.findFirstOrThrow({ where: { incidentId: 7n } });
    assert.deepEqual(still.deliveredAt, done.deliveredAt, "nothing pushed after the resolution");
  });

  it("an incident re-opened within the hold-down fires its alert again, and it resolves again on close", { timeout: 60_000 }, async () => {
    const n = notifier();
    const inc = await openIncident(8, new Date(Date.now() - 20_000));
    await n.enqueue(1, 8n, "opened", inc);
    await waitFor("the alert active", async () => (await one("8"))?.status.state === "active", 10_000, 50);
    await n.enqueue(1, 8n, "resolved", await setClosed(8, new Date(Date.now() - 5000)));
    await waitFor("the alert resolved", async () => (await one("8")) === undefined, 10_000, 50);
    // the detection host reports a re-open as "updated": the same incident, open again
    await n.enqueue(1, 8n, "updated", await setClosed(8, null));
    const again = await waitFor("the alert active again", () => one("8"), 10_000, 50);
    assert.equal(again.status.state, "active");
    assert.equal(again.labels.incident, "8");
    await n.enqueue(1, 8n, "resolved", await setClosed(8, new Date()));
    await waitFor("the alert resolved again", async () => (await one("8")) === undefined, 10_000, 50);
  });

  it("the real server pushes a split brain its agents report, linked to its page, and resolves it when it ends", { timeout: 120_000 }, async () => {
    const srv = await startTestServer({ env: { KAM_PUBLIC_URL: DASHBOARD } });
    const agents: FakeAgent[] = [];
    try {
      const token = await srv.token("split");
      await admin(srv.db, "webhook", "add", "--cluster", "split", "--url", am.url, "--format", "alertmanager");
      const [a, b] = await backupPair(srv.url, token);
      agents.push(a, b);
      await a.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
      await b.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
      const alert = await waitFor("the split brain in Alertmanager", async () => (await am.alerts({ cluster: "split" }))[0], 30_000, 100);
      const { incident, ...labels } = alert.labels;
      assert.deepEqual(labels, { alertname: "KeepalivedDualMaster", cluster: "split", kind: "DUAL_MASTER", severity: "critical", vrid: "51" });
      assert.match(incident, /^\d+$/);
      assert.equal(alert.generatorURL, `${DASHBOARD}/incidents/${incident}`);
      assert.equal(alert.annotations.nodes, "a, b");
      assert.equal(alert.status.state, "active");
      await b.log("(VI_1) Master received advert from 198.18.0.1 with higher priority 150, ours 100", "(VI_1) Entering BACKUP STATE");
      await waitFor("the split brain resolved in Alertmanager", async () => (await am.alerts({ cluster: "split" })).length === 0, 30_000, 100);
    } finally {
      for (const ag of agents) ag.close();
      await srv.close();
    }
  });
});
