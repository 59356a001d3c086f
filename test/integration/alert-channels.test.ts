/**
 * Issue 15, alert channels, each against a real receiver on loopback: a generic JSON webhook signed per
 * Standard Webhooks (verified by the receiver with the same library's Webhook.verify), PagerDuty Events
 * API v2 (a local HTTP receiver stands in for events.pagerduty.com, which the tests cannot reach), and
 * email through a real SMTP server (`smtp-server`: STARTTLS with a self-signed certificate made by openssl,
 * AUTH required). The admin CLI adds the channels (the secrets it is given or makes are sealed in the
 * row: the raw row is read to show they are not there in clear); a real Notifier on a real database
 * (PGlite or PostgreSQL) sends the incidents the way the detection host hands them over: open and resolve
 * to every channel, a warning incident not to a critical-only channel, a retried post with the same
 * webhook-id, logs without secrets; `webhook test` sends now and prints the receiver's answer.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { pino } from "pino";
import { Webhook } from "standardwebhooks";
import { openDatabase, type Database } from "../../server/db/database";
import { Notifier } from "../../server/incidents/notifier";
import { getIncident } from "../../server/incidents/incident-store";
import { loadSecretBox } from "../../server/incidents/secret-box";
import { ClusterScope } from "../../server/auth/scope";
import { Counters } from "../../server/metrics";
import { createLogger } from "../../server/log";
import { createTestDb, testDbKind, type TestDb } from "../helpers/db";
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type Received, type SmtpReceiver } from "../helpers/receivers";
import { ROOT } from "../helpers/server";
import { waitFor } from "../helpers/wait";

const run = promisify(execFile);
const DASHBOARD = "https://monitor.example.net";
const ROUTING_KEY = "R0utingKey0123456789abcdefABCDEF";
const SMTP_USER = "alerts";
const SMTP_PASSWORD = "s3cret-Passw0rd-for-smtp";

let tdb: TestDb;
let db: Database;
let hooks: HttpReceiver;
let pd: HttpReceiver;
let smtp: SmtpReceiver;
const notifiers: Notifier[] = [];
/** webhook ids by name, and the signing secret the CLI showed once */
const ids: Record<string, number> = {};
let signingSecret = "";

async function admin(args: string[], o: { stdin?: string; env?: Record<string, string> } = {}) {
  const p = run(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/admin.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: tdb.databaseUrl, KAM_DATA_DIR: tdb.dataDir, KAM_PUBLIC_URL: DASHBOARD, ...o.env },
  });
  p.child.stdin!.end(o.stdin ?? "");
  return p;
}
const fails = (p: Promise<unknown>) => p.then(() => assert.fail("succeeded"), (e: { code: number; stdout: string; stderr: string }) => e);
const added = (stdout: string) => Number(/^webhook (\d+) added/m.exec(stdout)![1]);

const x = (sql: string, ...params: unknown[]) => db.prisma.$executeRawUnsafe(sql, ...params);

async function openIncident(id: number, kind: string, severity: string) {
  await x(`INSERT INTO incident (id, cluster_id, kind, severity, vrid, nodes, opened_at, cause_code, cause_summary, dedup_key, updated_at)
           VALUES ($1, 1, $2, $3, 51, '{lb1,lb2}', now(), 'adverts_not_received', $4, $5, now())`,
    id, kind, severity, `lb2 <b>became</b> MASTER & "lb1" too`, `edge:${kind}:${id}`);
  return (await getIncident(db.prisma, BigInt(id), ClusterScope.ALL))!;
}
async function closeIncident(id: number) {
  await x(`UPDATE incident SET closed_at = now(), updated_at = now() WHERE id = $1`, id);
  return (await getIncident(db.prisma, BigInt(id), ClusterScope.ALL))!;
}

/** a Notifier draining every 100 ms, the only one: those of earlier tests stop (their counters and logs are theirs) */
function notifier(counters = new Counters(), log = createLogger("silent")) {
  for (const n of notifiers.splice(0)) n.stop();
  const n = new Notifier(db.prisma, log, counters, DASHBOARD, { secrets: loadSecretBox({ keyFile: "", dataDir: tdb.dataDir }) });
  notifiers.push(n);
  n.start(100);
  return n;
}

/** a logger whose lines the test reads */
function capturedLog() {
  const lines: string[] = [];
  return { lines, log: pino({ level: "info" }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) })) };
}

const onPath = (r: HttpReceiver, p: string) => r.got.filter((g) => g.path === p);
const bodyOf = (g: Received) => JSON.parse(g.body) as Record<string, unknown>;
const incidentOf = (g: Received) => (bodyOf(g).incident as { id: string }).id;

/** the receiver's check: Webhook.verify of the standardwebhooks package throws unless the signature is right */
function verify(g: Received, secret = signingSecret) {
  return new Webhook(secret).verify(g.body, {
    "webhook-id": g.headers["webhook-id"] as string,
    "webhook-timestamp": g.headers["webhook-timestamp"] as string,
    "webhook-signature": g.headers["webhook-signature"] as string,
  });
}

before(async () => {
  [hooks, pd, smtp] = await Promise.all([startHttpReceiver(200), startHttpReceiver(202), startSmtpReceiver(SMTP_USER, SMTP_PASSWORD)]);
  tdb = await createTestDb();
  db = await openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir, cwd: ROOT, log: createLogger("warn") });
  await x(`INSERT INTO cluster (id, name) VALUES (1, 'edge')`);
});

after(async () => {
  for (const n of notifiers) n.stop();
  await Promise.all([hooks?.close(), pd?.close(), smtp?.close()]);
  await db?.close();
  await tdb?.drop();
});

describe(`alert channels, real receivers on loopback (${testDbKind()})`, () => {
  it("the admin CLI adds each channel; the secrets are sealed in the row, the signing secret shown once", { timeout: 120_000 }, async () => {
    const json = await admin(["webhook", "add", "--cluster", "edge", "--url", `${hooks.url}/hook?token=q-secret`]);
    assert.match(json.stdout, /^webhook \d+ added to cluster "edge" \(json\)\n/);
    signingSecret = /signing secret \(shown once.*\): (whsec_\S+)/.exec(json.stdout)![1];
    ids.json = added(json.stdout);
    const crit = await admin(["webhook", "add", "--cluster", "edge", "--url", `${hooks.url}/crit`, "--min-severity", "critical", "--secret-stdin"], { stdin: `${signingSecret}\n` });
    assert.match(crit.stdout, /^webhook \d+ added to cluster "edge" \(json\): critical incidents and above\n$/, "a given secret is not printed");
    ids.crit = added(crit.stdout);
    ids.pd = added((await admin(["webhook", "add", "--cluster", "edge", "--format", "pagerduty", "--url", `${pd.url}/v2/enqueue`, "--secret-stdin"], { stdin: `${ROUTING_KEY}\n` })).stdout);
    ids.email = added((await admin([
      "webhook", "add", "--cluster", "edge", "--format", "email", "--url", `smtp://127.0.0.1:${smtp.port}`, "--to", "ops@example.com, noc@example.com",
      "--from", "kam@example.com", "--smtp-user", SMTP_USER, "--smtp-ca-file", smtp.certFile, "--secret-stdin",
    ], { stdin: `${SMTP_PASSWORD}\n` })).stdout);

    // what the CLI refuses, saying why (exit 2)
    const noKey = await fails(admin(["webhook", "add", "--cluster", "edge", "--format", "pagerduty"]));
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /--format pagerduty needs the routing key on stdin \(--secret-stdin\)/);
    const badSecret = await fails(admin(["webhook", "add", "--cluster", "edge", "--url", hooks.url, "--secret-stdin"], { stdin: "hunter2\n" }));
    assert.equal(badSecret.code, 2);
    assert.match(badSecret.stderr, /a signing secret is whsec_ followed by 24 to 64 bytes/);
    const badSmtp = await fails(admin(["webhook", "add", "--cluster", "edge", "--format", "email", "--url", "smtp://u:p@127.0.0.1:25", "--to", "a@example.com", "--from", "b@example.com"]));
    assert.match(badSmtp.stderr, /--url must be smtp:\/\/HOST\[:PORT\] only/);

    // the raw rows: no secret, key or password in clear, anywhere in the webhook table
    const raw = await db.prisma.$queryRawUnsafe<{ row: string; secret: string | null }[]>(`SELECT w::text AS row, secret FROM webhook w ORDER BY id`);
    const all = raw.map((r) => r.row).join("\n");
    for (const s of [signingSecret, signingSecret.slice(6), ROUTING_KEY, SMTP_PASSWORD]) assert.ok(!all.includes(s), `not in the table in clear: ${s.slice(0, 8)}…`);
    assert.equal(raw.length, 4);
    for (const r of raw) assert.match(r.secret!, /^v1\.[0-9a-f]{8}\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const key = path.join(tdb.dataDir, "secrets.key");
    assert.equal(fs.statSync(key).mode & 0o777, 0o600, "the key file made for the embedded default is 0600");

    const list = await admin(["webhook", "list"]);
    assert.match(list.stdout, new RegExp(`${ids.crit}  edge\\s+json\\s+critical http://127\\.0\\.0\\.1:\\d+/…  \\(signed\\)`));
    assert.match(list.stdout, new RegExp(`${ids.email}  edge\\s+email\\s+info\\s+smtp://127\\.0\\.0\\.1:${smtp.port} -> ops@example\\.com, noc@example\\.com`));
    assert.ok(!list.stdout.includes("q-secret"), "no query string listed");
  });

  it("a critical incident: signed JSON, a PagerDuty trigger and an email on open, and each resolved on close", { timeout: 60_000 }, async () => {
    const n = notifier();
    assert.equal(await n.enqueue(1, 7n, "opened", await openIncident(7, "DUAL_MASTER", "critical")), 4);
    await waitFor("the open at every channel", () => onPath(hooks, "/hook?token=q-secret").length === 1 && onPath(hooks, "/crit").length === 1 && pd.got.length === 1 && smtp.mails.length === 1, 20_000, 50);

    const [j] = onPath(hooks, "/hook?token=q-secret");
    assert.deepEqual(verify(j), bodyOf(j), "Webhook.verify accepts the signature");
    assert.throws(() => verify(j, `whsec_${crypto.randomBytes(32).toString("base64")}`), /signature/i, "another secret does not verify");
    assert.equal(j.headers["webhook-id"], `kam-7-${ids.json}-opened`);
    assert.equal(j.headers["idempotency-key"], j.headers["webhook-id"]);
    assert.ok(Math.abs(Number(j.headers["webhook-timestamp"]) - Date.now() / 1000) < 30);
    assert.equal(bodyOf(j).event, "opened");
    assert.equal(bodyOf(j).url, `${DASHBOARD}/incidents/7`);

    const trigger = bodyOf(pd.got[0]);
    assert.equal(pd.got[0].path, "/v2/enqueue");
    assert.equal(trigger.routing_key, ROUTING_KEY);
    assert.equal(trigger.event_action, "trigger");
    assert.equal(trigger.dedup_key, "kam-incident-7");
    assert.deepEqual({ ...(trigger.payload as object), timestamp: undefined, custom_details: undefined }, {
      summary: `DUAL_MASTER in cluster edge, VRID 51: lb2 <b>became</b> MASTER & "lb1" too`,
      severity: "critical", source: "lb1, lb2", component: "VRID 51", group: "edge", class: "DUAL_MASTER", timestamp: undefined, custom_details: undefined,
    });
    assert.deepEqual(trigger.links, [{ href: `${DASHBOARD}/incidents/7`, text: "Incident in keepalived-monitor" }]);

    const [mail] = smtp.mails;
    assert.equal(mail.subject, "[keepalived-monitor] DUAL_MASTER opened: cluster edge, VRID 51");
    assert.deepEqual((Array.isArray(mail.to) ? mail.to : [mail.to!]).flatMap((a) => a.value.map((v) => v.address)), ["ops@example.com", "noc@example.com"]);
    assert.equal(mail.from?.value[0].address, "kam@example.com");
    assert.match(mail.text!, /DUAL_MASTER opened in cluster edge, VRID 51/);
    assert.match(mail.text!, /Cause: lb2 <b>became<\/b> MASTER & "lb1" too \(adverts_not_received\)/);
    assert.match(mail.text!, /Open in the dashboard: https:\/\/monitor\.example\.net\/incidents\/7/);
    assert.match(mail.html as string, /<a href="https:\/\/monitor\.example\.net\/incidents\/7">Open in the dashboard<\/a>/);
    assert.match(mail.html as string, /lb2 &lt;b&gt;became&lt;\/b&gt; MASTER &amp; &quot;lb1&quot; too/, "data escaped in the HTML");
    assert.ok(!(mail.html as string).includes("<b>became"), "no markup from data");
    assert.deepEqual(smtp.sessions, [{ secure: true, user: SMTP_USER }], "STARTTLS before AUTH, with the stored password");

    await n.enqueue(1, 7n, "resolved", await closeIncident(7));
    await waitFor("the resolve at every channel", () => onPath(hooks, "/hook?token=q-secret").length === 2 && pd.got.length === 2 && smtp.mails.length === 2, 20_000, 50);
    const resolved = onPath(hooks, "/hook?token=q-secret")[1];
    assert.equal((verify(resolved) as { event: string }).event, "resolved");
    assert.equal(resolved.headers["webhook-id"], `kam-7-${ids.json}-resolved`);
    const resolve = bodyOf(pd.got[1]);
    assert.deepEqual(resolve, { routing_key: ROUTING_KEY, event_action: "resolve", dedup_key: trigger.dedup_key }, "the resolve carries the trigger's dedup_key");
    assert.match(smtp.mails[1].subject!, /^\[keepalived-monitor\] DUAL_MASTER resolved/);
    assert.match(smtp.mails[1].text!, /Closed: \d{4}-/);

    // the outbox holds no secret either
    const payloads = (await db.prisma.$queryRawUnsafe<{ p: string }[]>(`SELECT payload::text AS p FROM notification`)).map((r) => r.p).join("\n");
    assert.ok(!payloads.includes(ROUTING_KEY) && !payloads.includes(SMTP_PASSWORD));
  });

  it("a warning incident does not reach the critical-only channel, open or resolve; the others get both", { timeout: 60_000 }, async () => {
    const n = notifier();
    const before = { crit: onPath(hooks, "/crit").length, pd: pd.got.length, mails: smtp.mails.length };
    assert.equal(await n.enqueue(1, 8n, "opened", await openIncident(8, "KEEPALIVED_DOWN", "warning")), 3);
    await n.enqueue(1, 8n, "resolved", await closeIncident(8));
    await waitFor("open and resolve of the warning", () => onPath(hooks, "/hook?token=q-secret").filter((g) => incidentOf(g) === "8").length === 2 && pd.got.length === before.pd + 2 && smtp.mails.length === before.mails + 2, 20_000, 50);
    assert.equal(onPath(hooks, "/crit").length, before.crit, "nothing at the critical-only channel");
    assert.equal(await db.prisma.notification.count({ where: { incidentId: 8n, webhookId: ids.crit } }), 0);
  });

  it("a resolve goes only where the open went: a channel added while the incident was open gets neither", { timeout: 60_000 }, async () => {
    const n = notifier();
    await n.enqueue(1, 9n, "opened", await openIncident(9, "FAULT", "critical"));
    await waitFor("the open", () => pd.got.some((g) => bodyOf(g).dedup_key === "kam-incident-9"), 20_000, 50);
    const late = added((await admin(["webhook", "add", "--cluster", "edge", "--url", `${hooks.url}/late`])).stdout);
    await n.enqueue(1, 9n, "resolved", await closeIncident(9));
    await waitFor("the resolve", () => pd.got.filter((g) => bodyOf(g).dedup_key === "kam-incident-9").length === 2, 20_000, 50);
    await n.drain();
    assert.equal(onPath(hooks, "/late").length, 0);
    assert.equal(await db.prisma.notification.count({ where: { webhookId: late } }), 0);
    await db.prisma.webhook.delete({ where: { id: late } });
  });

  it("a failed post is retried with the same webhook-id, counted by format, and logged without the URL's query or any secret", { timeout: 60_000 }, async () => {
    const { lines, log } = capturedLog();
    const counters = new Counters();
    hooks.status = 503;
    const n = notifier(counters, log);
    await n.enqueue(1, 10n, "opened", await openIncident(10, "NO_MASTER", "critical"));
    const at = (id: string) => onPath(hooks, "/hook?token=q-secret").filter((g) => incidentOf(g) === id);
    await waitFor("the failed post", () => at("10").length === 1, 20_000, 50);
    hooks.status = 200;
    await waitFor("the retry", () => at("10").length === 2, 20_000, 50);
    // the critical-only channel (the same receiver) may have failed too: every row delivered before going on
    await waitFor("every notification of incident 10 delivered", async () => (await db.prisma.notification.count({ where: { incidentId: 10n, deliveredAt: null } })) === 0, 20_000, 50);
    const [first, retry] = at("10");
    assert.equal(retry.headers["webhook-id"], first.headers["webhook-id"], "one notification, one webhook-id");
    verify(first);
    verify(retry);
    const metric = await counters.registry.getSingleMetric("kam_notifications_total")!.get();
    const count = (labels: Record<string, string>) => metric.values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0;
    assert.ok(count({ result: "retry", format: "json" }) >= 1, JSON.stringify(metric.values));
    assert.ok(count({ result: "delivered", format: "pagerduty" }) >= 1, JSON.stringify(metric.values));
    const text = lines.join("");
    assert.match(text, /webhook failed, will retry/);
    assert.match(text, /"host":"127\.0\.0\.1:\d+"/);
    assert.match(text, /"error":"HTTP 503"/);
    for (const s of ["q-secret", signingSecret.slice(6, 20), ROUTING_KEY, SMTP_PASSWORD]) assert.ok(!text.includes(s), `not logged: ${s.slice(0, 6)}…`);
  });

  it("a notification the receiver refuses (HTTP 400) is given up at once; a 429 is retried", { timeout: 60_000 }, async () => {
    const { lines, log } = capturedLog();
    const counters = new Counters();
    const at = (id: string) => onPath(hooks, "/hook?token=q-secret").filter((g) => incidentOf(g) === id);
    try {
      hooks.status = 400;
      const n = notifier(counters, log);
      await n.enqueue(1, 11n, "opened", await openIncident(11, "NO_MASTER", "critical"));
      await waitFor("the refused post's row marked failed", async () =>
        (await db.prisma.notification.count({ where: { incidentId: 11n, failedAt: { not: null } } })) >= 1, 20_000, 50);
      const rows = await db.prisma.notification.findMany({ where: { incidentId: 11n, webhook: { url: { contains: "/hook?token=q-secret" } } } });
      assert.ok(rows.length >= 1);
      for (const r of rows) {
        assert.equal(r.attempts, 1, "tried once");
        assert.ok(r.failedAt, "given up");
        assert.equal(r.lastError, "HTTP 400");
      }
      await n.drain();
      assert.equal(at("11").length, 1, "not sent again");
      assert.match(lines.join(""), /webhook failed, giving up/);

      hooks.status = 429;
      await n.enqueue(1, 12n, "opened", await openIncident(12, "NO_MASTER", "critical"));
      await waitFor("the throttled post", () => at("12").length === 1, 20_000, 50);
      hooks.status = 200;
      await waitFor("its retry", () => at("12").length === 2, 20_000, 50);
    } finally {
      hooks.status = 200;
    }
  });

  it("webhook test sends now and prints the receiver's answer; a failure exits 1 with the error", { timeout: 120_000 }, async () => {
    const before = { pd: pd.got.length, mails: smtp.mails.length, hooks: onPath(hooks, "/crit").length };
    const p = await admin(["webhook", "test", String(ids.pd)]);
    assert.match(p.stdout, new RegExp(`webhook ${ids.pd} \\(pagerduty\\) test trigger: HTTP 202\\nwebhook ${ids.pd} \\(pagerduty\\) test resolve: HTTP 202`));
    const [trig, res] = pd.got.slice(before.pd).map(bodyOf);
    assert.equal(trig.event_action, "trigger");
    assert.equal(res.event_action, "resolve");
    assert.equal(res.dedup_key, trig.dedup_key);
    const j = await admin(["webhook", "test", String(ids.crit)]);
    assert.match(j.stdout, /test opened: HTTP 200/);
    const sent = onPath(hooks, "/crit").slice(before.hooks).find((g) => incidentOf(g).startsWith(`test-${ids.crit}-`));
    assert.ok(sent, "the test post arrived");
    assert.match((verify(sent) as { incident: { cause: { summary: string } } }).incident.cause.summary, /test notification/);
    const m = await admin(["webhook", "test", String(ids.email)]);
    assert.match(m.stdout, /\(email\) test opened: 250 /);
    assert.equal(smtp.mails.length, before.mails + 1);

    const closed = await startHttpReceiver();
    await closed.close();
    const gone = added((await admin(["webhook", "add", "--cluster", "edge", "--url", `${closed.url}/x`])).stdout);
    const f = await fails(admin(["webhook", "test", String(gone)]));
    assert.equal(f.code, 1);
    assert.match(f.stderr, new RegExp(`webhook ${gone} \\(json\\) test opened: failed: fetch failed`));
    // a password the SMTP server refuses: the server's answer, not the password
    const wrongPw = added((await admin([
      "webhook", "add", "--cluster", "edge", "--format", "email", "--url", `smtp://127.0.0.1:${smtp.port}`, "--to", "ops@example.com",
      "--from", "kam@example.com", "--smtp-user", SMTP_USER, "--smtp-ca-file", smtp.certFile, "--secret-stdin",
    ], { stdin: "not-the-password-4711\n" })).stdout);
    const denied = await fails(admin(["webhook", "test", String(wrongPw)]));
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, new RegExp(`webhook ${wrongPw} \\(email\\) test opened: failed: Invalid login: 535 .*Invalid username or password`));
    assert.ok(!denied.stderr.includes("4711") && !denied.stdout.includes("4711"), "the password is not printed");
    assert.equal(smtp.mails.length, before.mails + 1, "nothing sent");
    await db.prisma.webhook.delete({ where: { id: wrongPw } });

    const none = await fails(admin(["webhook", "test", "999"]));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no webhook 999/);
    await db.prisma.webhook.delete({ where: { id: gone } });
  });

  it("a key that cannot open the stored secrets is a clear error naming KAM_SECRETS_KEY_FILE", { timeout: 60_000 }, async () => {
    const other = path.join(tdb.dataDir, "other.key");
    fs.writeFileSync(other, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
    const wrong = await fails(admin(["webhook", "test", String(ids.pd)], { env: { KAM_SECRETS_KEY_FILE: other } }));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /sealed with another key .* set KAM_SECRETS_KEY_FILE to the key file it was sealed with/);
    const { lines, log } = capturedLog();
    const n = new Notifier(db.prisma, log, new Counters(), null, { secrets: loadSecretBox({ keyFile: other, dataDir: tdb.dataDir }) });
    assert.deepEqual(await n.checkSecrets(), [ids.json, ids.crit, ids.pd, ids.email], "every sealed channel, found at start");
    assert.match(lines.join(""), /"level":50.*sealed with another key than KAM_SECRETS_KEY_FILE's/);
    assert.deepEqual(await notifier().checkSecrets(), [], "none with the right key");
    const missing = await fails(admin(["webhook", "test", String(ids.pd)], { env: { KAM_SECRETS_KEY_FILE: path.join(tdb.dataDir, "nope.key") } }));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the secrets key file .*nope\.key \(KAM_SECRETS_KEY_FILE\): ENOENT/);
    assert.ok(!fs.existsSync(path.join(tdb.dataDir, "nope.key")), "a key file named by the setting is never created");
  });
});
