/**
 * Access control against the REAL server (child process, real database, real
 * socket.io): each protection has a test here that fails when it is removed.
 * Pages need a session; the read API takes a session, a read-only API token,
 * or an anonymous request from a direct loopback peer (no proxy headers);
 * every state change checks origin, CSRF token and role; /live checks Origin,
 * session and a per-address limit; wall tokens give a wall-only session.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { io, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION } from "../../server/protocol";
import { startTestServer, ROOT, type TestServer } from "../helpers/server";
import { login, request } from "../helpers/http";
import { connectFakeAgent } from "../helpers/fake-agent";
import { sleep } from "../helpers/wait";


let srv: TestServer;
const sockets: Socket[] = [];

before(async () => {
  srv = await startTestServer({
    env: { KAM_LIVE_CONNECTIONS_PER_IP: "3", KAM_LOGIN_ATTEMPTS_PER_USER: "4", KAM_WALL_FRAME_ANCESTORS: "https://noc.example.net" },
  });
});
after(async () => {
  for (const s of sockets) s.close();
  await srv?.close();
});

async function incident(cluster = "acc"): Promise<string> {
  return srv.withPrisma(async (db) => {
    const c = await db.cluster.upsert({ where: { name: cluster }, create: { name: cluster }, update: {} });
    const now = new Date();
    const row = await db.incident.create({
      data: { clusterId: c.id, kind: "FAULT", severity: "critical", nodes: ["n1"], openedAt: now, causeCode: "test", causeSummary: "test",
        dedupKey: randomUUID(), updatedAt: now },
    });
    return String(row.id);
  });
}

function live(headers: Record<string, string>): Promise<{ socket: Socket; outcome: string }> {
  return new Promise((resolve) => {
    // forceNew: each socket its own connection, so it carries its own cookie (no multiplexing)
    const socket = io(`${srv.url}/live`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: headers });
    sockets.push(socket);
    socket.once("connect", () => resolve({ socket, outcome: "connected" }));
    socket.once("connect_error", (e: Error & { data?: { code?: string } }) => resolve({ socket, outcome: e.data?.code ?? e.message }));
  });
}

const closed = (s: Socket, ms = 8000) =>
  new Promise<string>((resolve) => {
    if (!s.connected) return resolve("closed");
    s.once("disconnect", () => resolve("closed"));
    setTimeout(() => resolve("still open"), ms);
  });

describe("first admin: the one-time setup link", () => {
  it("prints a setup link at first start that creates one admin once", async () => {
    // printed right after the "listening" line
    let link: RegExpExecArray | null = null;
    for (let i = 0; i < 50 && !link; i++, await sleep(100)) link = /\/setup\?token=(kams_[A-Za-z0-9_-]{43})/.exec(srv.output());
    assert.ok(link, "setup link printed while no user exists");
    const page = await request(srv.url, `/setup?token=${link[1]}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="setup-form"/);
    const pre = page.cookie("kam_pre")!;
    const post = (token: string, name: string) =>
      request(srv.url, "/api/auth/setup", { method: "POST", headers: { origin: srv.url, cookie: pre, "x-csrf-token": pre.split("=")[1] }, body: { token, name, password: "correct horse battery" } });
    const bad = await post("kams_" + "A".repeat(43), "root");
    assert.equal(bad.status, 403);
    const ok = await post(link[1], "root");
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.cookie("kam_session"));
    assert.equal((await post(link[1], "root2")).status, 403, "a used link is void");
    const stored = await srv.withPrisma((db) => db.setupToken.findMany());
    assert.ok(stored.every((t) => !t.tokenHash.includes(link[1]) && t.tokenHash.length === 64), "only the hash is stored");
  });
});

describe("pages and the read API", () => {
  it("redirects pages to /login?next=… without a session and serves them with one", async () => {
    const anon = await request(srv.url, "/incidents?kind=FAULT");
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.location, "/login?next=%2Fincidents%3Fkind%3DFAULT");
    const { cookie } = await srv.session("viewer");
    const page = await request(srv.url, "/incidents", { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.equal((await request(srv.url, "/login")).status, 200, "/login is public");
    assert.equal((await request(srv.url, "/api/health", { headers: { "x-forwarded-for": "203.0.113.9" } })).status, 200, "health is public");
    const css = /href="(\/_next\/static\/[^"]+\.css)"/.exec((await request(srv.url, "/login")).text)?.[1];
    assert.ok(css);
    assert.equal((await request(srv.url, css!, { headers: { "x-forwarded-for": "203.0.113.9" } })).status, 200, "static assets are public");
  });

  it("allows anonymous reads only from a loopback peer without proxy headers", async () => {
    for (const p of ["/api/clusters", "/api/incidents", "/api/stats", "/metrics"]) assert.equal((await request(srv.url, p)).status, 200, p);
    for (const h of [{ "x-forwarded-for": "203.0.113.9" }, { forwarded: "for=203.0.113.9" }, { "x-real-ip": "203.0.113.9" }] as Record<string, string>[]) {
      const r = await request(srv.url, "/api/clusters", { headers: h });
      assert.equal(r.status, 401, JSON.stringify(h));
      assert.deepEqual([r.json().ok, r.json().code], [false, "unauthorized"]);
    }
  });

  it("accepts a read-only API token with its last use recorded, refuses unknown and revoked ones", async () => {
    const admin = await srv.session("admin");
    const created = await request(srv.url, "/api/admin/api-tokens", { method: "POST", headers: { origin: srv.url, cookie: admin.cookie, "x-csrf-token": admin.csrf }, body: { name: "grafana" } });
    assert.equal(created.status, 201, created.text);
    const { id, token } = created.json<{ id: number; token: string }>();
    const via = { "x-forwarded-for": "203.0.113.9" };
    assert.equal((await request(srv.url, "/api/clusters", { headers: { ...via, authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await request(srv.url, "/metrics", { headers: { ...via, authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await request(srv.url, "/api/clusters", { headers: { authorization: `Bearer kamr_${"x".repeat(43)}` } })).status, 401, "a wrong token is refused even from loopback");
    const inc = await incident();
    const write = await request(srv.url, `/api/incidents/${inc}/ack`, { method: "POST", headers: { origin: srv.url, authorization: `Bearer ${token}` }, body: {} });
    assert.equal(write.status, 403, "API tokens are read-only");
    assert.equal((await request(srv.url, "/", { headers: { authorization: `Bearer ${token}` } })).status, 303, "an API token opens no page");
    const listed = await request(srv.url, "/api/admin/tokens", { headers: { cookie: admin.cookie } });
    const row = listed.json<{ api: { id: number; lastUsedAt: string | null; prefix: string }[] }>().api.find((t) => t.id === id)!;
    assert.ok(row.lastUsedAt, "last use recorded");
    assert.ok(!JSON.stringify(listed.json()).includes(token), "the token is never listed");
    const stored = await srv.withPrisma((db) => db.apiToken.findUniqueOrThrow({ where: { id } }));
    assert.notEqual(stored.tokenHash, token);
    await request(srv.url, `/api/admin/api-tokens/${id}`, { method: "DELETE", headers: { origin: srv.url, cookie: admin.cookie, "x-csrf-token": admin.csrf } });
    assert.equal((await request(srv.url, "/api/clusters", { headers: { ...via, authorization: `Bearer ${token}` } })).status, 401, "revoked");
  });

  it("refuses other methods before Next: nothing state-changing reaches a page or read route", async () => {
    const { cookie } = await srv.session("admin");
    assert.equal((await request(srv.url, "/api/clusters", { method: "POST", headers: { cookie, origin: srv.url }, body: {} })).status, 405);
    assert.equal((await request(srv.url, "/incidents", { method: "POST", headers: { cookie, origin: srv.url, "next-action": "x" }, body: {} })).status, 405);
  });

  it("ignores identity headers sent by the client", async () => {
    const viewer = await srv.session("viewer");
    const page = await request(srv.url, "/", { headers: { cookie: viewer.cookie, "x-kam-role": "admin", "x-kam-user": "mallory" } });
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(`${viewer.user} <span`) || page.text.includes(viewer.user));
    assert.ok(!page.text.includes("mallory"));
    assert.equal((await request(srv.url, "/admin", { headers: { cookie: viewer.cookie, "x-kam-role": "admin" } })).status, 403);
    // without a session nothing of ours overwrites them: they must be dropped
    const anon = await request(srv.url, "/login", { headers: { "x-kam-user": "mallory", "x-kam-role": "admin", "x-kam-csrf": "forged" } });
    assert.equal(anon.status, 200);
    assert.ok(!anon.text.includes("mallory") && !anon.text.includes("forged"), "client x-kam-* headers reach no page");
  });
});

describe("sign-in, sessions, rate limits", () => {
  it("signs in with an HttpOnly SameSite=Lax cookie whose hash only is stored, and logout deletes it", async () => {
    const u = await srv.user("viewer");
    const { res, cookie, csrf } = await login(srv.url, u.name, u.password);
    assert.equal(res.status, 200, res.text);
    const set = [res.headers["set-cookie"]].flat().find((c) => c?.startsWith("kam_session="))!;
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Lax/);
    assert.doesNotMatch(set, /Secure/, "plain HTTP without KAM_COOKIE_SECURE");
    const secret = cookie!.split("=")[1];
    const rows = await srv.withPrisma((db) => db.session.findMany({ where: { user: { name: u.name } } }));
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].tokenHash, secret);
    assert.equal((await request(srv.url, "/", { headers: { cookie: cookie! } })).status, 200);
    // logout is a state change: it needs the CSRF token
    assert.equal((await request(srv.url, "/api/auth/logout", { method: "POST", headers: { origin: srv.url, cookie: cookie! }, body: {} })).status, 403);
    const out = await request(srv.url, "/api/auth/logout", { method: "POST", headers: { origin: srv.url, cookie: cookie!, "x-csrf-token": csrf! }, body: {} });
    assert.equal(out.status, 200);
    assert.equal((await srv.withPrisma((db) => db.session.count({ where: { user: { name: u.name } } }))), 0);
    assert.equal((await request(srv.url, "/", { headers: { cookie: cookie! } })).status, 303, "the old cookie is dead");
  });

  it("refuses a wrong password, a missing pre-session CSRF token and a foreign Origin", async () => {
    const u = await srv.user("viewer");
    assert.equal((await login(srv.url, u.name, "wrong password!")).res.status, 401);
    assert.equal((await login(srv.url, "nobody-here", "wrong password!")).res.status, 401);
    const page = await request(srv.url, "/login");
    const pre = page.cookie("kam_pre")!;
    const noToken = await request(srv.url, "/api/auth/login", { method: "POST", headers: { origin: srv.url, cookie: pre }, body: { name: u.name, password: u.password } });
    assert.deepEqual([noToken.status, noToken.json().code], [403, "csrf"]);
    const foreign = await request(srv.url, "/api/auth/login", {
      method: "POST", headers: { origin: "https://evil.example", cookie: pre, "x-csrf-token": pre.split("=")[1] }, body: { name: u.name, password: u.password },
    });
    assert.deepEqual([foreign.status, foreign.json().code], [403, "csrf"]);
  });

  it("rate-limits sign-in per user name, counted in /metrics", async () => {
    const u = await srv.user("viewer");
    for (let i = 0; i < 4; i++) assert.equal((await login(srv.url, u.name, `wrong-${i}-password`)).res.status, 401);
    const blocked = await login(srv.url, u.name, u.password);
    assert.equal(blocked.res.status, 429, "even the right password waits");
    assert.equal(blocked.res.json().code, "rate_limited");
    assert.ok(Number(blocked.res.headers["retry-after"]) > 0);
    const metrics = (await request(srv.url, "/metrics")).text;
    assert.match(metrics, /kam_login_total\{result="rate_limited"\} [1-9]/);
    assert.match(metrics, /kam_login_total\{result="bad_credentials"\} [1-9]/);
  });

  it("ends a session past its absolute expiry", async () => {
    const s = await srv.session("viewer");
    assert.equal((await request(srv.url, "/", { headers: { cookie: s.cookie } })).status, 200);
    await srv.withPrisma((db) => db.session.updateMany({ where: { user: { name: s.user } }, data: { expiresAt: new Date(Date.now() - 1000) } }));
    assert.equal((await request(srv.url, "/", { headers: { cookie: s.cookie } })).status, 303);
  });

  it("answers bad bodies with typed errors and keeps serving", async () => {
    const pre = (await request(srv.url, "/login")).cookie("kam_pre")!;
    const h = { origin: srv.url, cookie: pre, "x-csrf-token": pre.split("=")[1] };
    const form = await request(srv.url, "/api/auth/login", { method: "POST", headers: { ...h, "content-type": "application/x-www-form-urlencoded" }, rawBody: "name=a&password=b" });
    assert.deepEqual([form.status, form.json().code], [415, "invalid_message"]);
    const broken = await request(srv.url, "/api/auth/login", { method: "POST", headers: { ...h, "content-type": "application/json" }, rawBody: "{nope" });
    assert.deepEqual([broken.status, broken.json().code], [400, "invalid_message"]);
    const typed = await request(srv.url, "/api/auth/login", { method: "POST", headers: h, body: { name: ["x"], password: 5 } });
    assert.deepEqual([typed.status, typed.json().code], [400, "invalid_message"]);
    const huge = await request(srv.url, "/api/auth/login", { method: "POST", headers: { ...h, "content-type": "application/json" }, rawBody: JSON.stringify({ name: "x".repeat(70_000) }) });
    assert.deepEqual([huge.status, huge.json().code], [413, "too_large"]);
    assert.equal((await request(srv.url, "/api/health")).status, 200);
    assert.match((await request(srv.url, "/metrics")).text, /kam_access_denied_total\{code="csrf"/);
  });
});

describe("operator actions, roles and CSRF", () => {
  it("acknowledges an incident as operator (who and when in the API), only with same origin and the CSRF token", async () => {
    const id = await incident();
    const op = await srv.session("operator");
    const ack = (headers: Record<string, string>) => request(srv.url, `/api/incidents/${id}/ack`, { method: "POST", headers: { cookie: op.cookie, ...headers }, body: {} });
    assert.deepEqual([(await ack({ origin: srv.url })).status, (await ack({ origin: srv.url })).json().code], [403, "csrf"], "no token");
    assert.equal((await ack({ origin: srv.url, "x-csrf-token": "A".repeat(43) })).status, 403, "wrong token");
    assert.equal((await ack({ origin: "https://evil.example", "x-csrf-token": op.csrf })).status, 403, "foreign origin");
    assert.equal((await ack({ "x-csrf-token": op.csrf })).status, 403, "neither Origin nor Referer");
    assert.equal((await ack({ referer: "https://evil.example/x", "x-csrf-token": op.csrf })).status, 403, "foreign referer");
    const other = await srv.session("operator");
    assert.equal((await ack({ origin: srv.url, "x-csrf-token": other.csrf })).status, 403, "another session's token");
    const ok = await ack({ referer: `${srv.url}/incidents/${id}`, "x-csrf-token": op.csrf });
    assert.equal(ok.status, 200, ok.text);
    const got = (await request(srv.url, `/api/incidents/${id}`)).json<{ ackedBy: string; ackedAt: string; cause: unknown }>();
    assert.equal(got.ackedBy, op.user);
    assert.ok(!Number.isNaN(Date.parse(got.ackedAt)));
    assert.ok(got.cause, "the documented fields are all still there");
    const fresh = await incident();
    const plain = (await request(srv.url, `/api/incidents/${fresh}`)).json<Record<string, unknown>>();
    assert.ok(!("ackedBy" in plain) && !("ackedAt" in plain), "no extra fields before an acknowledgement");
  });

  it("gives a viewer 403 on every write and an operator 403 on admin routes", async () => {
    const id = await incident();
    const viewer = await srv.session("viewer");
    const op = await srv.session("operator");
    const h = (s: { cookie: string; csrf: string }) => ({ origin: srv.url, cookie: s.cookie, "x-csrf-token": s.csrf });
    const vAck = await request(srv.url, `/api/incidents/${id}/ack`, { method: "POST", headers: h(viewer), body: {} });
    assert.deepEqual([vAck.status, vAck.json().code], [403, "forbidden"]);
    assert.equal((await request(srv.url, "/api/maintenance", { method: "POST", headers: h(viewer), body: { cluster: "acc", minutes: 30 } })).status, 403);
    for (const [m, p, body] of [["GET", "/api/admin/users"], ["POST", "/api/admin/users", { name: "x1", role: "admin", password: "0123456789ab" }], ["GET", "/api/admin/tokens"],
      ["POST", "/api/admin/wall-tokens", { name: "w" }], ["DELETE", "/api/admin/agent-tokens/1"]] as const) {
      assert.equal((await request(srv.url, p, { method: m, headers: h(op), body })).status, 403, `${m} ${p}`);
    }
    assert.equal((await request(srv.url, "/admin", { headers: { cookie: op.cookie } })).status, 403);
    const admin = await srv.session("admin");
    assert.equal((await request(srv.url, "/admin", { headers: { cookie: admin.cookie } })).status, 200);
    const made = await request(srv.url, "/api/admin/users", { method: "POST", headers: h(admin), body: { name: "ops-new", role: "operator", password: "0123456789ab" } });
    assert.equal(made.status, 201, made.text);
  });

  it("creates and removes maintenance windows through the API as operator", async () => {
    await incident("maint");
    const op = await srv.session("operator");
    const h = { origin: srv.url, cookie: op.cookie, "x-csrf-token": op.csrf };
    const r = await request(srv.url, "/api/maintenance", { method: "POST", headers: h, body: { cluster: "maint", minutes: 60, reason: "switch upgrade" } });
    assert.equal(r.status, 201, r.text);
    const w = r.json<{ window: { id: number; createdBy: string } }>().window;
    assert.equal(w.createdBy, op.user);
    const stored = await srv.withPrisma((db) => db.maintenanceWindow.findUniqueOrThrow({ where: { id: w.id } }));
    assert.equal(stored.reason, "switch upgrade");
    assert.equal((await request(srv.url, "/api/maintenance", { method: "POST", headers: h, body: { cluster: "maint" } })).status, 400);
    assert.equal((await request(srv.url, `/api/maintenance/${w.id}`, { method: "DELETE", headers: { cookie: op.cookie, "x-csrf-token": op.csrf } })).status, 403, "DELETE needs same origin too");
    assert.equal((await request(srv.url, `/api/maintenance/${w.id}`, { method: "DELETE", headers: h })).status, 200);
    assert.equal(await srv.withPrisma((db) => db.maintenanceWindow.count({ where: { id: w.id } })), 0);
  });
});

describe("security headers", () => {
  it("sends a nonce-based CSP without unsafe-eval that Next's scripts carry, frame-ancestors 'none' except on /wall", async () => {
    const s = await srv.session("viewer");
    const page = await request(srv.url, "/", { headers: { cookie: s.cookie } });
    const csp = String(page.headers["content-security-policy"]);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.doesNotMatch(csp, /unsafe-eval/);
    assert.doesNotMatch(/script-src[^;]*/.exec(csp)![0], /unsafe-inline/);
    assert.match(csp, /frame-ancestors 'none'/);
    const scripts = [...page.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.ok(scripts.length > 0);
    for (const tag of scripts) assert.ok(tag.includes(`nonce="${nonce}"`), `script without this response's nonce: ${tag}`);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    assert.equal(page.headers["x-frame-options"], "DENY");
    assert.ok(page.headers["referrer-policy"]);
    const wall = await request(srv.url, "/wall", { headers: { cookie: s.cookie } });
    assert.match(String(wall.headers["content-security-policy"]), /frame-ancestors https:\/\/noc\.example\.net/);
    assert.equal(wall.headers["x-frame-options"], undefined);
    const api = await request(srv.url, "/api/clusters");
    assert.equal(api.headers["x-content-type-options"], "nosniff");
    assert.ok(api.headers["content-security-policy"]);
    const again = await request(srv.url, "/", { headers: { cookie: s.cookie } });
    assert.notEqual(/'nonce-([^']+)'/.exec(String(again.headers["content-security-policy"]))?.[1], nonce, "a fresh nonce per response");
  });
});

describe("socket.io", () => {
  it("/live needs a session and a matching Origin", async () => {
    assert.equal((await live({})).outcome, "unauthorized");
    const s = await srv.session("viewer");
    assert.equal((await live({ cookie: s.cookie, origin: "https://evil.example" })).outcome, "forbidden");
    assert.equal((await live({ cookie: "kam_session=" + "A".repeat(43), origin: srv.url })).outcome, "unauthorized");
    const ok = await live({ cookie: s.cookie, origin: srv.url });
    assert.equal(ok.outcome, "connected");
    ok.socket.close();
  });

  it("limits concurrent /live connections per address", async () => {
    const s = await srv.session("viewer");
    const open: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await live({ cookie: s.cookie });
      assert.equal(c.outcome, "connected");
      open.push(c.socket);
    }
    assert.equal((await live({ cookie: s.cookie })).outcome, "rate_limited");
    open[0].close();
    await sleep(300);
    const again = await live({ cookie: s.cookie });
    assert.equal(again.outcome, "connected", "a closed socket frees its place");
    for (const x of [...open, again.socket]) x.close();
    await sleep(300);
  });

  it("closes open /live sockets at logout and when a session is revoked elsewhere (CLI)", async () => {
    const u = await srv.user("viewer");
    const a = await login(srv.url, u.name, u.password);
    const c1 = await live({ cookie: a.cookie! });
    assert.equal(c1.outcome, "connected");
    await request(srv.url, "/api/auth/logout", { method: "POST", headers: { origin: srv.url, cookie: a.cookie!, "x-csrf-token": a.csrf! }, body: {} });
    assert.equal(await closed(c1.socket, 2000), "closed", "logout closes at once");
    const b = await srv.session("viewer");
    const c2 = await live({ cookie: b.cookie });
    assert.equal(c2.outcome, "connected");
    await srv.withPrisma((db) => db.session.deleteMany({ where: { user: { name: b.user } } }));
    assert.equal(await closed(c2.socket), "closed", "the sweep closes it within seconds");
  });

  it("revoking an agent token in the admin API disconnects its agents at once", async () => {
    const admin = await srv.session("admin");
    const h = { origin: srv.url, cookie: admin.cookie, "x-csrf-token": admin.csrf };
    const made = await request(srv.url, "/api/admin/agent-tokens", { method: "POST", headers: h, body: { cluster: "revoke-me", label: "rack 1" } });
    assert.equal(made.status, 201, made.text);
    const { id, token } = made.json<{ id: number; token: string }>();
    const agent = await connectFakeAgent(srv.url, token, "r1");
    assert.equal((await agent.log("(VI_1) Entering BACKUP STATE")).ok, true);
    const listed = (await request(srv.url, "/api/admin/tokens", { headers: { cookie: admin.cookie } })).json<{ agent: { id: number; lastUsedAt: string | null }[] }>();
    assert.ok(listed.agent.find((t) => t.id === id)?.lastUsedAt, "last use listed");
    const gone = new Promise<string>((resolve) => {
      agent.socket.once("disconnect", () => resolve("closed"));
      setTimeout(() => resolve("still open"), 3000);
    });
    assert.equal((await request(srv.url, `/api/admin/agent-tokens/${id}`, { method: "DELETE", headers: h })).status, 200);
    assert.equal(await gone, "closed");
    agent.close();
    await assert.rejects(connectFakeAgent(srv.url, token, "r1"));
  });

  it("revoking an agent token elsewhere (the CLI, another process) closes its connected agents within seconds", async () => {
    const token = await srv.token("revoke-cli");
    const agent = await connectFakeAgent(srv.url, token, "rc1");
    assert.equal((await agent.log("(VI_1) Entering BACKUP STATE")).ok, true);
    const gone = new Promise<string>((resolve) => {
      agent.socket.once("disconnect", () => resolve("closed"));
      setTimeout(() => resolve("still open"), 8000);
    });
    // what `npm run token -- revoke` does: a row update, no call into the server
    await srv.withPrisma((db) => db.agentToken.updateMany({ where: { cluster: { name: "revoke-cli" } }, data: { revokedAt: new Date() } }));
    assert.equal(await gone, "closed", "the revocation sweep closes it");
    agent.close();
    await assert.rejects(connectFakeAgent(srv.url, token, "rc1"));
  });

  it("a browser session cookie does not grant /agent", async () => {
    const s = await srv.session("admin");
    const outcome = await new Promise<string>((resolve) => {
      const a = io(`${srv.url}/agent`, {
        auth: { protocol: PROTOCOL_VERSION, agentId: randomUUID(), node: "x", hostname: "x", version: "t" },
        forceNew: true, extraHeaders: { cookie: s.cookie, origin: srv.url }, transports: ["websocket"], reconnection: false,
      });
      sockets.push(a);
      a.once("connect", () => resolve("connected"));
      a.once("connect_error", (e: Error & { data?: { code?: string } }) => resolve(e.data?.code ?? e.message));
    });
    assert.notEqual(outcome, "connected");
  });
});

describe("NOC wall tokens", () => {
  it("exchanges a wall token for a wall-only session, and revoking it ends the session and its socket", async () => {
    const admin = await srv.session("admin");
    const made = await request(srv.url, "/api/admin/wall-tokens", { method: "POST", headers: { origin: srv.url, cookie: admin.cookie, "x-csrf-token": admin.csrf }, body: { name: "noc-1" } });
    assert.equal(made.status, 201, made.text);
    const { id, path: wallPath } = made.json<{ id: number; path: string }>();
    assert.equal((await request(srv.url, "/wall?token=kamw_" + "B".repeat(43))).status, 401);
    const ex = await request(srv.url, wallPath);
    assert.equal(ex.status, 303);
    assert.equal(ex.headers.location, "/wall", "the token leaves the URL");
    const cookie = ex.cookie("kam_session")!;
    assert.ok(cookie);
    assert.equal((await request(srv.url, "/wall", { headers: { cookie } })).status, 200);
    const home = await request(srv.url, "/", { headers: { cookie } });
    assert.deepEqual([home.status, home.headers.location], [303, "/wall"]);
    assert.equal((await request(srv.url, "/incidents", { headers: { cookie } })).status, 303);
    const via = { cookie, "x-forwarded-for": "203.0.113.9" };
    assert.equal((await request(srv.url, "/api/clusters", { headers: via })).status, 200);
    assert.equal((await request(srv.url, "/api/incidents?open=true", { headers: via })).status, 200);
    for (const p of ["/api/stats", "/api/incidents/1", "/metrics", "/api/admin/users"]) assert.equal((await request(srv.url, p, { headers: via })).status, 403, p);
    const inc = await incident();
    assert.equal((await request(srv.url, `/api/incidents/${inc}/ack`, { method: "POST", headers: { ...via, origin: srv.url }, body: {} })).status, 403);
    const sock = await live({ cookie, origin: srv.url });
    assert.equal(sock.outcome, "connected");
    const rev = await request(srv.url, `/api/admin/wall-tokens/${id}`, { method: "DELETE", headers: { origin: srv.url, cookie: admin.cookie, "x-csrf-token": admin.csrf } });
    assert.equal(rev.status, 200);
    assert.equal(await closed(sock.socket, 2000), "closed", "its socket closes at once");
    assert.equal((await request(srv.url, "/wall", { headers: { cookie } })).status, 303);
    assert.equal((await request(srv.url, wallPath)).status, 401, "the link is dead");
  });
});

describe("admin CLI", () => {
  const cli = (args: string[], input?: string) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/admin.ts"), ...args], {
        cwd: ROOT, env: { ...process.env, DATABASE_URL: srv.db.databaseUrl, KAM_DATA_DIR: srv.db.dataDir, KAM_PUBLIC_URL: srv.url },
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
      child.stdin!.end(input ?? "");
    });

  it("adds a user from stdin, lists, changes role and password, revokes sessions, removes; manages API and wall tokens", { timeout: 120_000 }, async () => {
    assert.equal((await cli(["user", "add", "cli-admin", "--role", "admin", "--password-stdin"], "short\n")).code, 2, "a short password is refused");
    const add = await cli(["user", "add", "cli-admin", "--role", "admin", "--password-stdin"], "a long enough password\n");
    assert.equal(add.code, 0, add.out);
    assert.ok(!add.out.includes("a long enough password"));
    const s = await login(srv.url, "cli-admin", "a long enough password");
    assert.equal(s.res.status, 200);
    assert.match((await cli(["user", "list"])).out, /cli-admin\s+admin/);
    assert.equal((await cli(["user", "role", "cli-admin", "operator"])).code, 0);
    assert.equal((await request(srv.url, "/api/admin/users", { headers: { cookie: s.cookie! } })).status, 403, "the new role applies at once");
    assert.match((await cli(["session", "list"])).out, /user cli-admin/);
    assert.match((await cli(["session", "revoke", "--user", "cli-admin"])).out, /1 session\(s\) revoked/);
    assert.equal((await request(srv.url, "/", { headers: { cookie: s.cookie! } })).status, 303);
    assert.equal((await cli(["user", "passwd", "cli-admin", "--password-stdin"], "another long password\n")).code, 0);
    assert.equal((await login(srv.url, "cli-admin", "another long password")).res.status, 200);
    const api = await cli(["api-token", "create", "--name", "prometheus"]);
    const token = /\n(kamr_[A-Za-z0-9_-]{43})\n/.exec(api.out)?.[1];
    assert.ok(token, api.out);
    assert.equal((await request(srv.url, "/metrics", { headers: { authorization: `Bearer ${token}`, "x-forwarded-for": "203.0.113.9" } })).status, 200);
    assert.match((await cli(["api-token", "list"])).out, /prometheus\s+kamr_/);
    const wall = await cli(["wall-token", "create", "--name", "lobby"]);
    assert.match(wall.out, /\/wall\?token=kamw_/);
    assert.match((await cli(["agent-token", "list"])).out, /no agent tokens|kam_/);
    assert.equal((await cli(["user", "remove", "cli-admin"])).code, 0);
    assert.equal((await cli(["user", "remove", "cli-admin"])).code, 1);
    // exit codes (README): nothing by that ID is a failure (1), a bad value a usage error (2)
    assert.equal((await cli(["api-token", "revoke", "99999"])).code, 1);
    assert.equal((await cli(["webhook", "remove", "99999"])).code, 1);
    assert.equal((await cli(["user", "role", "nobody", "boss"])).code, 2);
  });
});
