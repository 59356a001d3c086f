/**
 * The stricter settings on a REAL server: KAM_ANONYMOUS_READ=off (no
 * anonymous read even from loopback), KAM_COOKIE_SECURE=true, a per-address
 * sign-in limit, and a short idle timeout.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server";
import { login, request } from "../helpers/http";

let srv: TestServer;
before(async () => {
  srv = await startTestServer({
    env: { KAM_ANONYMOUS_READ: "off", KAM_COOKIE_SECURE: "true", KAM_LOGIN_ATTEMPTS_PER_IP: "3", KAM_SESSION_IDLE_HOURS: "0.0005" },
  });
});
after(async () => {
  await srv?.close();
});

it("a setup link is void after 24 h", async () => {
  let link: RegExpExecArray | null = null;
  for (let i = 0; i < 50 && !link; i++, await new Promise((r) => setTimeout(r, 100))) link = /\/setup\?token=(kams_[A-Za-z0-9_-]{43})/.exec(srv.output());
  assert.ok(link);
  await srv.withPrisma((db) => db.setupToken.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } }));
  const page = await request(srv.url, `/setup?token=${link[1]}`);
  assert.doesNotMatch(page.text, /data-testid="setup-form"/);
  const pre = page.cookie("kam_pre")!;
  const r = await request(srv.url, "/api/auth/setup", {
    method: "POST", headers: { origin: srv.url, cookie: pre, "x-csrf-token": pre.split("=")[1] }, body: { token: link[1], name: "late", password: "correct horse battery" },
  });
  assert.deepEqual([r.status, r.json().code], [403, "forbidden"]);
  assert.equal(await srv.withPrisma((db) => db.user.count()), 0);
});

it("KAM_ANONYMOUS_READ=off refuses anonymous reads from loopback with a typed 401, a session still reads", async () => {
  for (const p of ["/api/clusters", "/api/incidents", "/api/incidents/1", "/api/stats", "/api/clusters/x/timeline", "/metrics"]) {
    const r = await request(srv.url, p);
    assert.equal(r.status, 401, p);
    assert.deepEqual([r.json().ok, r.json().code], [false, "unauthorized"], p);
  }
  assert.equal((await request(srv.url, "/api/health")).status, 200);
  const s = await srv.session("viewer");
  assert.equal((await request(srv.url, "/api/clusters", { headers: { cookie: s.cookie } })).status, 200);
});

it("sets Secure cookies with KAM_COOKIE_SECURE=true and limits sign-in attempts per address", async () => {
  const u = await srv.user("viewer");
  const first = await login(srv.url, u.name, u.password);
  assert.equal(first.res.status, 200);
  const set = [first.res.headers["set-cookie"]].flat().find((c) => c?.startsWith("kam_session="))!;
  assert.match(set, /; Secure/);
  // three attempts per address in the window (this one counted too): different user names do not help
  assert.equal((await login(srv.url, "someone-else", "wrong password 1")).res.status, 401);
  assert.equal((await login(srv.url, "another-one", "wrong password 2")).res.status, 401);
  const blocked = await login(srv.url, u.name, u.password);
  assert.deepEqual([blocked.res.status, blocked.res.json().code], [429, "rate_limited"]);
});

it("ends a session after the idle timeout", async () => {
  const s = await srv.session("viewer");
  assert.equal((await request(srv.url, "/", { headers: { cookie: s.cookie } })).status, 200);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal((await request(srv.url, "/", { headers: { cookie: s.cookie } })).status, 303);
  assert.equal(await srv.withPrisma((db) => db.session.count({ where: { user: { name: s.user } } })), 0, "the expired row is deleted");
});
