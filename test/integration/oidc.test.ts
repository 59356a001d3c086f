/**
 * Sign-in with the identity provider (issue 15) against a REAL OpenID Connect provider (oidc-provider, started
 * here on 127.0.0.1, PKCE required) and the REAL server: the whole authorization code flow with a cookie-keeping
 * HTTP client that submits the provider's own login and consent forms. The provider answers nothing until the
 * server has started (test/helpers/oidc.ts), so the server's discovery at start fails and is retried at the
 * first sign-in. Checked: the session and the mapped role, a user without a mapped group refused, a tampered
 * state refused and counted, a name taken by a local user refused, local passwords still working, the audit log.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { login, request } from "../helpers/http";
import { CookieJar, startTestIdp, walkSignIn, type Hop, type TestIdp } from "../helpers/oidc";
import { parsePromText, samplesOf } from "../helpers/prom-text";
import { waitFor } from "../helpers/wait";
import { OIDC_ERRORS } from "../../server/auth/oidc-errors";

let idp: TestIdp;
let srv: TestServer;
let whileDown: Awaited<ReturnType<typeof request>>;

before(async () => {
  idp = await startTestIdp({
    alice: { groups: ["ops-admins", "staff"] },
    bob: { groups: ["ops"] },
    carol: { groups: ["marketing"] },
    dave: { groups: ["ops"] },
  });
  srv = await startTestServer({
    env: {
      KAM_OIDC_ISSUER: idp.issuer, KAM_OIDC_CLIENT_ID: idp.clientId, KAM_OIDC_CLIENT_SECRET: idp.clientSecret,
      KAM_OIDC_SCOPES: "openid profile email groups", KAM_OIDC_ROLE_MAP: "admin=ops-admins,operator=ops", KAM_OIDC_PROVIDER_NAME: "Test IdP",
    },
  });
  // the provider answers only once the server's discovery at start has failed (as when it is down)
  await waitFor("the discovery error in the server log", () => /discovery of the identity provider failed: check KAM_OIDC_ISSUER/.test(srv.output()) || null);
  // a sign-in meanwhile tries discovery again, and is sent back to the login page: the provider is unavailable
  whileDown = await request(srv.url, "/api/auth/oidc/login?next=%2Fincidents");
  idp.attach(`${srv.url}/api/auth/oidc/callback`);
});
after(async () => {
  await srv?.close();
  await idp?.close();
});

const last = (hops: Hop[]) => hops[hops.length - 1];
const sessionOf = (jar: CookieJar) => jar.get("kam_session");

async function oidcCount(result: string): Promise<number> {
  const r = await request(srv.url, "/metrics");
  assert.equal(r.status, 200);
  return samplesOf(parsePromText(r.text), "kam_oidc_login_total", { result }).reduce((n, s) => n + s.value, 0);
}

async function whoAmI(jar: CookieJar): Promise<{ status: number; user?: { name: string; role: string } }> {
  const r = await request(srv.url, "/api/auth/session", { headers: { cookie: jar.header("/api/auth/session") } });
  return r.status === 200 ? { status: 200, user: r.json<{ user: { name: string; role: string } }>().user } : { status: r.status };
}

describe(`OIDC sign-in against a real provider (${testDbKind()})`, () => {
  it("starts although the provider did not answer discovery, saying which setting to check", async () => {
    assert.match(srv.output(), /discovery of the identity provider failed: check KAM_OIDC_ISSUER \(http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration/);
    assert.equal(whileDown.status, 303);
    assert.equal(whileDown.headers.location, "/login?oidc_error=unavailable&next=%2Fincidents");
    // tried at start, and again at the sign-in (the server's log reaches us through a pipe: wait for it)
    await waitFor("the second discovery error", () => srv.output().match(/discovery of the identity provider failed/g)?.length === 2 || null);
    assert.equal(await oidcCount("unavailable"), 1);
    const told = await request(srv.url, "/login?oidc_error=unavailable");
    assert.ok(told.text.includes("cannot be reached right now"));
    assert.doesNotMatch(srv.output(), new RegExp(idp.clientSecret), "the client secret is never logged");
    const page = await request(srv.url, "/login");
    assert.equal(page.status, 200);
    assert.match(page.text, /Sign in with <!-- -->Test IdP|Sign in with Test IdP/);
    assert.match(page.text, /data-testid="login-form"/, "the local form is still there");
  });

  it("signs in an admin through the provider's pages (code + PKCE), with the role its group maps to", async () => {
    const jar = new CookieJar();
    const hops = await walkSignIn(jar, `${srv.url}/api/auth/oidc/login?next=${encodeURIComponent("/incidents")}`, "alice", srv.url);
    const authorize = new URL(hops[0].location!);
    assert.equal(authorize.origin, idp.issuer, "the first hop goes to the provider (discovery retried at this sign-in)");
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorize.searchParams.get("code_challenge") && authorize.searchParams.get("state") && authorize.searchParams.get("nonce"));
    assert.equal(authorize.searchParams.get("redirect_uri"), `${srv.url}/api/auth/oidc/callback`);
    assert.match(hops[0].body + JSON.stringify(hops.map((h) => h.url)), /interaction/, "the provider's interaction pages were used");
    const end = last(hops);
    assert.equal(new URL(end.url).pathname, "/api/auth/oidc/callback", hops.map((h) => `${h.method} ${h.url} ${h.status}`).join("\n"));
    assert.equal(end.status, 303);
    assert.equal(end.location, `${srv.url}/incidents`, "back where the sign-in started");
    assert.ok(sessionOf(jar), "a session cookie");
    assert.equal(jar.get("kam_oidc"), null, "the flow cookie is cleared");
    assert.deepEqual((await whoAmI(jar)).user, { name: "alice", role: "admin" });
    // the admin API takes the session like any other
    const users = await request(srv.url, "/api/admin/users", { headers: { cookie: `kam_session=${sessionOf(jar)}` } });
    assert.equal(users.status, 200);
    const alice = users.json<{ name: string; role: string; signIn: string }[]>().find((u) => u.name === "alice");
    assert.deepEqual(alice && { role: alice.role, signIn: alice.signIn }, { role: "admin", signIn: "oidc" });
    // the dashboard's pages too
    const page = await request(srv.url, "/incidents", { headers: { cookie: `kam_session=${sessionOf(jar)}` } });
    assert.equal(page.status, 200);
    assert.ok((await oidcCount("ok")) >= 1);
    // a replayed callback (the flow cookie is gone, the code used) signs nobody in
    const replay = await request(srv.url, new URL(end.url).pathname + new URL(end.url).search);
    assert.equal(replay.status, 303);
    assert.match(String(replay.headers.location), /^\/login\?oidc_error=state/);
    assert.equal(replay.cookie("kam_session"), null);
  });

  it("gives an operator the operator role, and re-evaluates it at each sign-in", async () => {
    const jar = new CookieJar();
    await walkSignIn(jar, `${srv.url}/api/auth/oidc/login`, "bob", srv.url);
    assert.deepEqual((await whoAmI(jar)).user, { name: "bob", role: "operator" });
    const ack = await request(srv.url, "/api/admin/users", { headers: { cookie: `kam_session=${sessionOf(jar)}` } });
    assert.equal(ack.status, 403, "an operator is not an admin");
    idp.users.bob.groups = ["ops-admins"];
    const again = new CookieJar();
    await walkSignIn(again, `${srv.url}/api/auth/oidc/login`, "bob", srv.url);
    assert.deepEqual((await whoAmI(again)).user, { name: "bob", role: "admin" }, "the new group gives the new role");
    assert.deepEqual((await whoAmI(jar)).user, { name: "bob", role: "admin" }, "one user: the older session has the new role too");
    const users = await srv.withPrisma((db) => db.user.findMany({ where: { name: "bob" } }));
    assert.equal(users.length, 1);
    assert.equal(users[0].passwordHash, null, "no password for a provider's user");
    assert.equal(users[0].oidcIssuer, idp.issuer);
    assert.equal(users[0].oidcSubject, "bob");
  });

  it("refuses a user none of whose groups maps to a role, with a clear message, and counts it", async () => {
    const before = await oidcCount("no_role");
    const jar = new CookieJar();
    const hops = await walkSignIn(jar, `${srv.url}/api/auth/oidc/login`, "carol", srv.url);
    const end = last(hops);
    assert.equal(end.status, 303);
    assert.equal(end.location, `${srv.url}/login?oidc_error=no_role`);
    assert.equal(sessionOf(jar), null, "no session");
    assert.equal((await whoAmI(jar)).status, 401);
    const page = await request(srv.url, "/login?oidc_error=no_role");
    assert.ok(page.text.includes("none of your groups gives access to this dashboard"), page.text.slice(0, 500));
    assert.equal(await oidcCount("no_role"), before + 1);
    assert.equal(await srv.withPrisma((db) => db.user.count({ where: { name: "carol" } })), 0, "no user made");
  });

  it("refuses a tampered state, and counts it", async () => {
    const before = await oidcCount("state");
    const jar = new CookieJar();
    const hops = await walkSignIn(jar, `${srv.url}/api/auth/oidc/login`, "alice", srv.url, (u) => {
      u.searchParams.set("state", `${u.searchParams.get("state")}x`);
      return u;
    });
    const end = last(hops);
    assert.equal(new URL(end.url).pathname, "/api/auth/oidc/callback");
    assert.equal(end.status, 303);
    assert.equal(end.location, `${srv.url}/login?oidc_error=state`);
    assert.equal(sessionOf(jar), null);
    assert.equal(await oidcCount("state"), before + 1);
    // without the flow cookie at all (another browser)
    const bare = await request(srv.url, new URL(end.url).pathname + new URL(end.url).search);
    assert.match(String(bare.headers.location), /oidc_error=state/);
    assert.equal(await oidcCount("state"), before + 2);
    const page = await request(srv.url, "/login?oidc_error=state");
    assert.ok(page.text.includes(OIDC_ERRORS.state.slice(0, 40)));
    assert.match(srv.output(), /sign-in through the identity provider refused/);
  });

  it("refuses an altered code or issuer in the callback, each with its reason, and counts them", async () => {
    const cases: [string, (u: URL) => void, string][] = [
      ["code", (u) => u.searchParams.set("code", `${u.searchParams.get("code")}x`), "token_refused"],
      ["iss", (u) => u.searchParams.set("iss", "https://evil.example.net"), "invalid_response"],
    ];
    for (const [what, change, code] of cases) {
      const before = await oidcCount(code);
      const jar = new CookieJar();
      const hops = await walkSignIn(jar, `${srv.url}/api/auth/oidc/login`, "alice", srv.url, (u) => {
        change(u);
        return u;
      });
      assert.equal(last(hops).location, `${srv.url}/login?oidc_error=${code}`, `${what}: ${hops.map((h) => `${h.method} ${h.url} ${h.status}`).join("\n")}`);
      assert.equal(sessionOf(jar), null, what);
      assert.equal(await oidcCount(code), before + 1, what);
    }
    const page = await request(srv.url, "/login?oidc_error=invalid_response");
    assert.ok(page.text.includes("failed validation"));
  });

  it("never takes over a local user of the same name", async () => {
    const local = await srv.user("viewer", "dave");
    const jar = new CookieJar();
    const hops = await walkSignIn(jar, `${srv.url}/api/auth/oidc/login`, "dave", srv.url);
    assert.equal(last(hops).location, `${srv.url}/login?oidc_error=name_taken`);
    assert.equal(sessionOf(jar), null);
    const u = await srv.withPrisma((db) => db.user.findUniqueOrThrow({ where: { name: "dave" } }));
    assert.equal(u.oidcSubject, null);
    assert.equal(u.role, "viewer");
    assert.equal((await login(srv.url, "dave", local.password)).res.status, 200, "the local dave signs in with the password");
  });

  it("keeps local password sign-in (break-glass); a provider's user has no password here", async () => {
    const { name, password } = await srv.user("admin", "breakglass");
    const ok = await login(srv.url, name, password);
    assert.equal(ok.res.status, 200);
    assert.equal(ok.res.json<{ user: { role: string } }>().user.role, "admin");
    assert.equal((await login(srv.url, "alice", "any password at all")).res.status, 401);
    // an admin cannot give the provider's user a password
    const set = await srv.withPrisma(async (db) => {
      const { setPassword } = await import("../../server/auth/store");
      return setPassword(db, "alice", "a long enough password 1").then(() => "set", (e: Error) => e.message);
    });
    assert.match(set, /signs in through the identity provider/);
  });

  it("records sign-in (password and provider) and sign-out in the audit log", async () => {
    const admin = await srv.user("admin", "auditor");
    const s = await login(srv.url, admin.name, admin.password);
    assert.equal(s.res.status, 200);
    const out = await request(srv.url, "/api/auth/logout", { method: "POST", headers: { origin: srv.url, cookie: s.cookie!, "x-csrf-token": s.csrf! } });
    assert.equal(out.status, 200);
    const reader = await srv.session("admin");
    const r = await request(srv.url, "/api/audit?action=auth&limit=200", { headers: { cookie: reader.cookie } });
    assert.equal(r.status, 200, r.text);
    const entries = r.json<{ entries: { action: string; actor: string; actorKind: string; target: string; before: unknown; after: { role?: string; sessions?: number } | null; sourceIp: string | null }[] }>().entries;
    const oidc = entries.filter((e) => e.action === "auth.login.oidc" && e.actor === "alice");
    assert.ok(oidc.length >= 1, JSON.stringify(entries.slice(0, 5)));
    const first = oidc[oidc.length - 1];
    assert.equal(first.before, null, "the first sign-in made the user");
    assert.equal(first.after?.role, "admin");
    assert.equal(first.actorKind, "user");
    assert.equal(first.sourceIp, "127.0.0.1");
    const bobs = entries.filter((e) => e.action === "auth.login.oidc" && e.actor === "bob").reverse();
    assert.deepEqual(bobs.map((e) => e.after?.role), ["operator", "admin"], "the role change is in the record");
    assert.deepEqual((bobs[1].before as { role: string }).role, "operator");
    assert.ok(entries.some((e) => e.action === "auth.login.password" && e.actor === admin.name));
    const logout = entries.find((e) => e.action === "auth.logout" && e.actor === admin.name);
    assert.ok(logout, "sign-out recorded");
    assert.equal((logout.after as { sessions: number }).sessions, (logout.before as { sessions: number }).sessions - 1);
    assert.ok(!entries.some((e) => e.actor === "carol"), "a refused sign-in is counted, not recorded");
    assert.doesNotMatch(r.text, new RegExp(idp.clientSecret));
  });
});
