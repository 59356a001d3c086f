/**
 * Issue 15, settings and audit in the dashboard, on the real server: every state change through the API or
 * the admin CLI lands in the audit log with its actor, action, target, masked before/after and source
 * address; GET /api/audit filters and pages it, /api/audit/export gives it as CSV, retention prunes it.
 * Alert channels through the admin API: added, listed and edited with their secrets masked (and sealed in
 * the row), a test sent to a real receiver on loopback and verified there with the signing secret, a
 * failing test answered as not delivered, the delivery log per channel. Maintenance windows: listed and
 * ended early.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { pruneOnce, DEFAULT_RETENTION } from "../../server/retention/prune";
import { upsertIncident } from "../../server/incidents/incident-store";
import type { Incident } from "../../server/detect/types";
import type { AuditEntryJson } from "../../server/audit/log";
import { checkAnswer, fetchChecked } from "../helpers/api-schema";
import { parseCsv } from "../helpers/csv";
import { testDbKind } from "../helpers/db";
import { request } from "../helpers/http";
import { startHttpReceiver, type HttpReceiver } from "../helpers/receivers";
import { metricOf, queryDb, ROOT, startTestServer, type TestServer, type TestSession } from "../helpers/server";
import { connectFakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";

/** an audit entry as the API answers it, its before and after read as objects */
type Entry = Omit<AuditEntryJson, "before" | "after"> & { before: Record<string, unknown> | null; after: Record<string, unknown> | null };
interface Page {
  entries: Entry[];
  next: string | null;
}

let srv: TestServer;
let admin: TestSession;
let hooks: HttpReceiver;

before(async () => {
  srv = await startTestServer();
  await srv.token("shop");
  admin = await srv.session("admin");
  hooks = await startHttpReceiver(200);
});

after(async () => {
  await hooks?.close();
  await srv?.close();
});

const headers = (s: TestSession) => ({ origin: srv.url, cookie: s.cookie, "x-csrf-token": s.csrf });
async function write<T = Record<string, unknown>>(method: string, p: string, body?: unknown, as: TestSession = admin) {
  const r = await request(srv.url, p, { method, headers: headers(as), body });
  return { status: r.status, body: checkAnswer<T>(method, p, r.status, r.json()) };
}
const read = <T>(p: string, as: TestSession = admin) => fetchChecked<T>(srv.url, p, { headers: { cookie: as.cookie } });
/** the newest audit entries of an action */
async function audit(action: string, extra = ""): Promise<Entry[]> {
  const r = await read<Page>(`/api/audit?action=${action}${extra}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.entries;
}

function cli(args: string[], input = "") {
  return new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/admin.ts"), ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: srv.db.databaseUrl, KAM_DATA_DIR: srv.db.dataDir, KAM_PUBLIC_URL: srv.url },
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    child.stdin!.end(input);
  });
}

describe(`the audit log (${testDbKind()})`, () => {
  it("records a user's creation and role change through the API: actor, address, before and after without the password", async () => {
    const made = await write<{ user: { id: number } }>("POST", "/api/admin/users", { name: "audited-ann", role: "viewer", password: "a long enough password 1" });
    assert.equal(made.status, 201);
    const id = made.body.user.id;
    assert.equal((await write("POST", `/api/admin/users/${id}/role`, { role: "operator" })).status, 200);
    assert.equal((await write("POST", `/api/admin/users/${id}/password`, { password: "another long password 2" })).status, 200);

    const [add] = await audit("user.add");
    assert.equal(add.actor, admin.user);
    assert.equal(add.actorKind, "user");
    assert.equal(add.sourceIp, "127.0.0.1");
    assert.equal(add.target, `user:${id}`);
    assert.equal(add.before, null, "nothing was there before");
    assert.deepEqual({ name: add.after!.name, role: add.after!.role, clusters: add.after!.clusters }, { name: "audited-ann", role: "viewer", clusters: null });
    const [role] = await audit("user.role");
    assert.equal(role.before!.role, "viewer");
    assert.equal(role.after!.role, "operator");
    assert.equal((await audit("user.password"))[0].target, `user:${id}`);
    // neither the password nor its hash is anywhere in the log
    const raw = JSON.stringify(await queryDb(srv, "SELECT * FROM audit_log"));
    for (const secret of ["a long enough password 1", "another long password 2", "scrypt$"]) assert.ok(!raw.includes(secret), secret);
  });

  it("records token creation with the prefix only, and a revocation's before and after", async () => {
    const t = await write<{ id: number; token: string }>("POST", "/api/admin/api-tokens", { name: "grafana" });
    assert.equal(t.status, 201);
    assert.equal((await write("DELETE", `/api/admin/api-tokens/${t.body.id}`)).status, 200);
    const [made] = await audit("api-token.create");
    assert.equal(made.after!.name, "grafana");
    assert.ok(t.body.token.startsWith(String(made.after!.prefix)));
    const [revoked] = await audit("api-token.revoke");
    assert.equal(revoked.before!.revokedAt, null);
    assert.equal(typeof revoked.after!.revokedAt, "string");
    assert.ok(!JSON.stringify(await queryDb(srv, "SELECT * FROM audit_log")).includes(t.body.token), "the token is not in the log");
  });

  it("records the admin CLI's changes with the operating-system user as actor", { timeout: 60_000 }, async () => {
    const add = await cli(["user", "add", "cli-bob", "--role", "viewer", "--password-stdin"], "a long enough password 3\n");
    assert.equal(add.code, 0, add.out);
    const e = (await audit("user.add")).find((x) => x.actorKind === "cli");
    assert.ok(e, "an entry of the CLI");
    assert.ok(e.actor.length > 0, "the operating-system user");
    assert.equal((await audit("user.add", `&actor=${encodeURIComponent(e.actor)}`))[0].id, e.id);
    assert.equal(e.sourceIp, null);
    assert.equal(e.after!.name, "cli-bob");
    const set = await cli(["settings", "set", "--cluster", "shop", "graceMs=4000"]);
    assert.equal(set.code, 0, set.out);
    const [s] = await audit("settings.set");
    assert.equal(s.target, "cluster:shop");
    assert.deepEqual(s.before!.settings, {});
    assert.equal((s.after!.settings as Record<string, number>).graceMs, 4000);
    // the CLI and the API change channels with the same code: a channel disabled by the CLI is disabled for the API
    // (port 1 on loopback: nothing listens there)
    const made = await write<{ channel: { id: number } }>("POST", "/api/admin/channels", { cluster: "shop", format: "slack", url: "http://127.0.0.1:1/services/T0/B0/XyZ" });
    const off = await cli(["webhook", "disable", String(made.body.channel.id)]);
    assert.equal(off.code, 0, off.out);
    assert.equal((await read<{ id: number; enabled: boolean }[]>("/api/admin/channels")).body.find((c) => c.id === made.body.channel.id)?.enabled, false);
    const [edit] = await audit("webhook.edit");
    assert.deepEqual([edit.actorKind, edit.before!.enabled, edit.after!.enabled, edit.after!.url], ["cli", true, false, "http://127.0.0.1:1/…"]);
    // a test the receiver never got is still a test that was sent: recorded, with its outcome
    const refused = await cli(["webhook", "test", String(made.body.channel.id)]);
    assert.equal(refused.code, 1, refused.out);
    const [tested] = await audit("webhook.test");
    assert.deepEqual([tested.actorKind, (tested.after!.lastTest as { ok: boolean }).ok], ["cli", false]);
    assert.equal((await write("DELETE", `/api/admin/channels/${made.body.channel.id}`)).status, 200);
    // a command that did nothing (no such window) is not recorded
    const none = await cli(["maintenance", "remove", "999999"]);
    assert.equal(none.code, 1);
    assert.equal((await audit("maintenance.remove")).length, 0);
  });

  it("filters by actor, action, time; pages with next; refuses bad filters and non-admins; exports CSV", async () => {
    const all = (await read<Page>("/api/audit?limit=1000")).body.entries;
    assert.ok(all.length >= 6);
    const mine = (await read<Page>(`/api/audit?actor=${encodeURIComponent(admin.user)}`)).body.entries;
    assert.ok(mine.length > 0 && mine.every((e) => e.actor === admin.user));
    const users = await audit("user");
    assert.ok(users.length >= 3 && users.every((e) => e.action.startsWith("user.")), "a group matches its actions");
    const future = (await read<Page>(`/api/audit?from=${new Date(Date.now() + 60_000).toISOString()}`)).body.entries;
    assert.equal(future.length, 0);
    // pages of 2 walk the whole log, newest first, without repeats
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const p: Page = (await read<Page>(`/api/audit?limit=2${next ? `&before=${next}` : ""}`)).body;
      assert.ok(p.entries.length <= 2);
      seen.push(...p.entries.map((e) => e.id));
      next = p.next;
    } while (next);
    assert.deepEqual(seen, all.map((e) => e.id));

    assert.equal((await read("/api/audit?from=yesterday")).status, 400);
    assert.equal((await read("/api/audit?limit=0")).status, 400);
    const operator = await srv.session("operator");
    assert.equal((await read("/api/audit", operator)).status, 403);
    assert.equal((await fetchChecked(srv.url, "/api/audit")).status, 401);

    const csv = await read<string>("/api/audit/export?action=user");
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(csv.headers.get("content-disposition") ?? "", /attachment; filename="audit-\d{4}-\d\d-\d\d\.csv"/);
    const rows = parseCsv(csv.body);
    assert.deepEqual(rows[0], ["id", "at", "actor_kind", "actor", "action", "target", "source_ip", "before", "after"]);
    assert.equal(rows.length - 1, users.length);
    assert.ok(rows.slice(1).every((r) => r[4].startsWith("user.")));
    assert.equal(JSON.parse(rows.find((r) => r[4] === "user.role")![8]).role, "operator");
  });

  it("is pruned by retention after KAM_RETAIN_AUDIT_DAYS", async () => {
    await queryDb(srv, `INSERT INTO audit_log (at, actor_kind, actor, action, target) VALUES (now() - interval '40 days', 'cli', 'old', 'user.add', 'user:1')`);
    const r = await srv.withPrisma((db) => pruneOnce(db, { ...DEFAULT_RETENTION, auditDays: 30 }, { pauseMs: 0 }));
    assert.equal(r.audit, 1);
    assert.equal((await queryDb(srv, "SELECT 1 FROM audit_log WHERE actor = 'old'")).length, 0);
    assert.ok((await queryDb(srv, "SELECT 1 FROM audit_log")).length > 0, "younger entries stay");
  });
});

interface Channel {
  id: number;
  url: string;
  secret: string | null;
  enabled: boolean;
  lastTest: { ok: boolean; answer: string } | null;
  lastDelivery: { status: string; error: string | null } | null;
}

describe(`alert channels through the admin API (${testDbKind()})`, () => {
  let jsonId = 0;
  let signingSecret = "";

  it("adds a signed json channel: the secret is answered once, masked in lists, sealed in the row; the URL's token never shown", async () => {
    const r = await write<{ channel: Channel; signingSecret: string }>("POST", "/api/admin/channels", { cluster: "shop", format: "json", url: `${hooks.url}/hook/T0KEN-in-path?key=abc` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    jsonId = r.body.channel.id;
    signingSecret = r.body.signingSecret;
    assert.match(signingSecret, /^whsec_/);
    assert.equal(r.body.channel.secret, "***");
    assert.equal(r.body.channel.url, `${hooks.url}/…`);
    const list = await read<Channel[]>("/api/admin/channels");
    const text = JSON.stringify(list.body);
    assert.ok(!text.includes("T0KEN") && !text.includes("whsec_"), text);
    const [row] = await queryDb<{ secret: string; url: string }>(srv, "SELECT secret, url FROM webhook WHERE id = $1", [jsonId]);
    assert.match(row.secret, /^v1\./, "sealed");
    assert.ok(!row.secret.includes(signingSecret.slice(6)));
    const [e] = await audit("webhook.add");
    assert.equal(e.target, `webhook:${jsonId}`);
    assert.equal(e.after!.secret, "***");
    assert.ok(!JSON.stringify(e).includes("T0KEN") && !JSON.stringify(e).includes(signingSecret));
  });

  it("refuses bad channels with typed errors", async () => {
    const bad = [
      { cluster: "shop", format: "json", url: "ftp://x" },
      { cluster: "shop", format: "pagerduty" },
      { cluster: "shop", format: "email", url: "smtp://127.0.0.1:2525" },
      { cluster: "shop", format: "json", url: "http://x.example", secret: "hunter2" },
    ];
    for (const body of bad) {
      const r = await write<{ code: string }>("POST", "/api/admin/channels", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, "invalid_message");
    }
    assert.equal((await write("POST", "/api/admin/channels", { cluster: "nope", format: "slack", url: "http://x.example" })).status, 404);
    assert.equal((await write("POST", "/api/admin/channels", { cluster: "shop", format: "sms" })).status, 400);
    const operator = await srv.session("operator");
    assert.equal((await write("POST", "/api/admin/channels", { cluster: "shop", format: "slack", url: "http://x.example" }, operator)).status, 403);
  });

  it("sends a test to the real receiver, signed with the channel's secret; the outcome is kept and audited", async () => {
    const before = hooks.got.length;
    const r = await write<{ delivered: boolean; steps: { event: string; ok: boolean; answer: string }[] }>("POST", `/api/admin/channels/${jsonId}/test`);
    assert.equal(r.status, 200);
    assert.equal(r.body.delivered, true, JSON.stringify(r.body));
    assert.deepEqual(r.body.steps, [{ event: "opened", ok: true, answer: "HTTP 200" }]);
    const got = hooks.got.slice(before);
    assert.equal(got.length, 1);
    assert.equal(got[0].path, "/hook/T0KEN-in-path?key=abc");
    const payload = new Webhook(signingSecret).verify(got[0].body, got[0].headers as Record<string, string>) as { event: string; incident: { cluster: string } };
    assert.deepEqual([payload.event, payload.incident.cluster], ["opened", "shop"]);
    const ch = (await read<Channel[]>("/api/admin/channels")).body.find((c) => c.id === jsonId)!;
    assert.deepEqual({ ok: ch.lastTest?.ok, answer: ch.lastTest?.answer }, { ok: true, answer: "opened: HTTP 200" });
    const [e] = await audit("webhook.test");
    assert.equal(e.target, `webhook:${jsonId}`);
    assert.equal((e.after!.lastTest as { ok: boolean }).ok, true);
  });

  it("answers a test the receiver refuses as not delivered, with its answer", async () => {
    hooks.status = 500;
    try {
      const r = await write<{ delivered: boolean; steps: { answer: string }[] }>("POST", `/api/admin/channels/${jsonId}/test`);
      assert.equal(r.status, 200);
      assert.equal(r.body.delivered, false);
      assert.equal(r.body.steps[0].answer, "HTTP 500");
      const ch = (await read<Channel[]>("/api/admin/channels")).body.find((c) => c.id === jsonId)!;
      assert.equal(ch.lastTest?.ok, false);
    } finally {
      hooks.status = 200;
    }
    assert.equal((await write("POST", "/api/admin/channels/999999/test")).status, 404);
  });

  it("keeps a PagerDuty routing key out of every answer and of the log; edits, disables and enables a channel", async () => {
    const key = "R0utingKey0123456789abcdefABCDEF";
    const r = await write<{ channel: Channel; signingSecret: string | null }>("POST", "/api/admin/channels", { cluster: "shop", format: "pagerduty", url: `${hooks.url}/pd`, secret: key, minSeverity: "critical" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.signingSecret, null);
    const id = r.body.channel.id;
    const off = await write<{ channel: Channel }>("POST", `/api/admin/channels/${id}`, { enabled: false });
    assert.equal(off.body.channel.enabled, false);
    const [e] = await audit("webhook.edit");
    assert.equal(e.before!.enabled, true);
    assert.equal(e.after!.enabled, false);
    assert.equal((await write<{ channel: Channel }>("POST", `/api/admin/channels/${id}`, { enabled: true, minSeverity: "warning" })).body.channel.enabled, true);
    assert.equal((await write("POST", `/api/admin/channels/${id}`, { secret: "short" })).status, 400);
    // the test sends a trigger and its resolve, with the routing key, to the receiver
    const before = hooks.got.length;
    const t = await write<{ delivered: boolean }>("POST", `/api/admin/channels/${id}/test`);
    assert.equal(t.body.delivered, true);
    const sent = hooks.got.slice(before).map((g) => JSON.parse(g.body) as { routing_key: string; event_action: string });
    assert.deepEqual(sent.map((s) => [s.routing_key, s.event_action]), [[key, "trigger"], [key, "resolve"]]);
    const everything = JSON.stringify([await read("/api/admin/channels"), await read("/api/audit?limit=1000"), await queryDb(srv, "SELECT * FROM audit_log"), await queryDb(srv, "SELECT * FROM webhook")]);
    assert.ok(!everything.includes(key), "the routing key is nowhere in clear");
    assert.equal((await write("DELETE", `/api/admin/channels/${id}`)).status, 200);
    assert.equal((await write("DELETE", `/api/admin/channels/${id}`)).status, 404);
    const [gone] = await audit("webhook.remove");
    assert.equal(gone.before!.format, "pagerduty");
    assert.equal(gone.after, null);
  });

  it("shows each channel's delivery log: last status and error", async () => {
    await queryDb(srv, `INSERT INTO incident (id, cluster_id, kind, severity, nodes, opened_at, cause_code, cause_summary, dedup_key, updated_at)
      SELECT 777, id, 'FAULT', 'critical', '{n1}', now(), 'x', 'x', 'audit-test-777', now() FROM cluster WHERE name = 'shop'`);
    await queryDb(srv, `INSERT INTO notification (incident_id, webhook_id, event, payload, attempts, next_at, failed_at, last_error, created_at)
      VALUES (777, $1, 'opened', '{}', 8, now(), now(), 'HTTP 503', now())`, [jsonId]);
    const log = await read<{ status: string; error: string | null; incident: string }[]>(`/api/admin/channels/${jsonId}/deliveries`);
    assert.equal(log.status, 200);
    assert.deepEqual(log.body.map((d) => [d.incident, d.status, d.error]), [["777", "failed", "HTTP 503"]]);
    const ch = (await read<Channel[]>("/api/admin/channels")).body.find((c) => c.id === jsonId)!;
    assert.deepEqual(ch.lastDelivery && [ch.lastDelivery.status, ch.lastDelivery.error], ["failed", "HTTP 503"]);
    assert.equal((await read("/api/admin/channels/999999/deliveries")).status, 404);
  });
});

describe(`maintenance windows (${testDbKind()})`, () => {
  it("lists windows and ends one early; the end is audited; an ended window cannot end again", async () => {
    const operator = await srv.session("operator");
    const w = await write<{ window: { id: number; to: string } }>("POST", "/api/maintenance", { cluster: "shop", minutes: 120, reason: "kernel upgrade" }, operator);
    assert.equal(w.status, 201);
    const id = w.body.window.id;
    const list = await read<{ id: number; reason: string }[]>("/api/maintenance?cluster=shop", operator);
    assert.equal(list.status, 200);
    assert.ok(list.body.some((x) => x.id === id && x.reason === "kernel upgrade"));
    const t0 = Date.now();
    const ended = await write<{ window: { to: string } }>("POST", `/api/maintenance/${id}/end`, undefined, operator);
    assert.equal(ended.status, 200);
    const to = Date.parse(ended.body.window.to);
    assert.ok(to >= t0 - 1000 && to <= Date.now() + 1000, ended.body.window.to);
    assert.equal((await write("POST", `/api/maintenance/${id}/end`, undefined, operator)).status, 404);
    const [e] = await audit("maintenance.end");
    assert.equal(e.actor, operator.user);
    assert.equal(e.before!.to, w.body.window.to);
    assert.equal(e.after!.to, ended.body.window.to);
    // an upcoming window is cancelled: it ends where it starts
    const later = new Date(Date.now() + 3600_000).toISOString();
    const up = await write<{ window: { id: number; from: string } }>("POST", "/api/maintenance", { cluster: "shop", from: later, minutes: 30 }, operator);
    const cancelled = await write<{ window: { from: string; to: string } }>("POST", `/api/maintenance/${up.body.window.id}/end`, undefined, operator);
    assert.equal(cancelled.body.window.to, cancelled.body.window.from);
    const viewer = await srv.session("viewer");
    assert.equal((await write("POST", `/api/maintenance/${id}/end`, undefined, viewer)).status, 403);
    assert.equal((await read("/api/maintenance?limit=0")).status, 400);
  });

  it("a window on one VRID silences that VRID's incidents only; they are recorded all the same", async () => {
    const w = await write<{ window: { id: number; vrid: number | null } }>("POST", "/api/maintenance", { cluster: "shop", minutes: 30, vrid: 51 });
    assert.equal(w.status, 201);
    assert.equal(w.body.window.vrid, 51);
    assert.equal((await write("POST", "/api/maintenance", { cluster: "shop", minutes: 30, vrid: 256 })).status, 400);
    const t = Date.now();
    const inc = (vrid: number): Incident => ({
      key: `shop:DUAL_MASTER:${vrid}:${t}`, kind: "DUAL_MASTER", severity: "critical", cluster: "shop", vrid, family: "ipv4", scope: String(vrid),
      instances: { a: "VI_1", b: "VI_1" }, nodes: ["a", "b"], openedAt: t, closedAt: null,
      cause: { code: "adverts_not_received", summary: "both nodes stopped hearing each other" }, evidence: [],
    });
    const [silenced, loud] = await srv.withPrisma(async (db) => {
      const c = await db.cluster.findUniqueOrThrow({ where: { name: "shop" } });
      return [await upsertIncident(db, c.id, inc(51)), await upsertIncident(db, c.id, inc(52))];
    });
    assert.equal(silenced.silenced, true, "VRID 51 is in maintenance");
    assert.equal(loud.silenced, false, "VRID 52 is not");
    const listed = (await read<{ id: string; vrid: number; silenced: boolean }[]>("/api/incidents?cluster=shop")).body;
    assert.deepEqual(listed.filter((i) => i.id === String(silenced.id) || i.id === String(loud.id)).map((i) => [i.vrid, i.silenced]).sort(), [[51, true], [52, false]]);
    assert.equal((await write("POST", `/api/maintenance/${w.body.window.id}/end`)).status, 200);
  });
});

describe(`detector settings per cluster (${testDbKind()})`, () => {
  it("an admin changes them through the API; the running detection applies them without a restart; audited", { timeout: 60_000 }, async () => {
    const agent = await connectFakeAgent(srv.url, await srv.token("edge", "e1"), "e1");
    try {
      await agent.log("(VI_1) Entering BACKUP STATE (init)");
      const before = await read<{ settings: object; effective: { flapCount: number; holdDownMs: number } }>("/api/clusters/edge/settings");
      assert.equal(before.status, 200);
      assert.deepEqual(before.body.settings, {});
      assert.equal(before.body.effective.flapCount, 4);
      // the engine of "edge" runs (its first facts arrived) before the change
      await waitFor("detection of edge", async () => (await metricOf(srv, "kam_detector_settings_applied_total", { cluster: "edge" })) === 0 && (await queryDb(srv, "SELECT 1 FROM state_change s JOIN cluster c ON c.id = s.cluster_id WHERE c.name = 'edge'")).length > 0);
      const set = await write<{ settings: Record<string, number>; effective: { flapCount: number; holdDownMs: number } }>("POST", "/api/clusters/edge/settings", { flapCount: 6, holdDownMs: 120000 });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(set.body.settings, { flapCount: 6, holdDownMs: 120000 });
      assert.equal(set.body.effective.flapCount, 6);
      await waitFor("the change applied by the running server", async () => (await metricOf(srv, "kam_detector_settings_applied_total", { cluster: "edge" })) === 1, 15_000);
      assert.match(srv.output(), /detector settings changed: the cluster's detection is rebuilt with them/);
      const back = await write<{ settings: Record<string, number> }>("POST", "/api/clusters/edge/settings", { holdDownMs: null });
      assert.deepEqual(back.body.settings, { flapCount: 6 }, "null: the default again");
      const [e] = await audit("settings.set");
      assert.equal(e.target, "cluster:edge");
      assert.deepEqual(e.before!.settings, { flapCount: 6, holdDownMs: 120000 });
      assert.deepEqual(e.after!.settings, { flapCount: 6 });
      for (const bad of [{ flapCount: 1 }, { nope: 1 }, { graceMs: -5 }, { offlineMs: "x" }]) {
        assert.equal((await write("POST", "/api/clusters/edge/settings", bad)).status, 400, JSON.stringify(bad));
      }
      assert.equal((await write("POST", "/api/clusters/nope/settings", { flapCount: 5 })).status, 404);
      assert.equal((await read("/api/clusters/nope/settings")).status, 404);
      const operator = await srv.session("operator");
      assert.equal((await write("POST", "/api/clusters/edge/settings", { flapCount: 5 }, operator)).status, 403);
    } finally {
      agent.close();
    }
  });
});
