/** Pure parts of access control: password hashing, secret and cookie parsing, CSRF and origin checks, role matrix, net rules, CSP. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword, parsePasswordHash, passwordProblem, verifyPassword } from "../../server/auth/password";
import { newSecret, parseBearer, parseSecret, readCookie, sha256 } from "../../server/auth/secrets";
import { csrfTokenFor, csrfValid, normaliseOrigins, originMatches, preCsrfValid, sameOriginRequest } from "../../server/auth/csrf";
import { can, ROLES, type Action } from "../../server/auth/roles";
import { anonymousReadAllowed, clientAddress, isLoopback } from "../../server/auth/net";
import { WindowLimiter } from "../../server/auth/rate-limit";
import { contentSecurityPolicy, validFrameAncestors } from "../../server/auth/headers";
import { safeNext } from "../../server/http/respond";

const FAST = { N: 1024, r: 8, p: 1 };

describe("passwords (scrypt)", () => {
  it("stores parameters, salt and hash, and verifies only the right password", async () => {
    const h = await hashPassword("correct horse battery", FAST);
    assert.match(h, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
    assert.ok(!h.includes("correct horse"));
    assert.equal(await verifyPassword("correct horse battery", h), true);
    assert.equal(await verifyPassword("correct horse batterY", h), false);
    assert.notEqual(await hashPassword("correct horse battery", FAST), h, "a fresh salt each time");
  });
  it("uses the default cost when none is given", async () => {
    assert.match(await hashPassword("0123456789"), /^scrypt\$32768\$8\$1\$/);
  });
  it("refuses malformed or absurd stored hashes without throwing", async () => {
    for (const bad of ["", "plain", "scrypt$1024$8$1$c2FsdA$", "scrypt$3$8$1$c2FsdHNhbHQ$" + "A".repeat(43), "scrypt$4194304$8$1$c2FsdHNhbHQ$" + "A".repeat(43), "bcrypt$x$y$z$a$b"]) {
      assert.equal(parsePasswordHash(bad), null, bad);
      assert.equal(await verifyPassword("whatever", bad), false);
    }
  });
  it("asks for at least 10 characters", () => {
    assert.ok(passwordProblem("short"));
    assert.equal(passwordProblem("0123456789"), null);
  });
});

describe("secrets, cookies, bearer tokens", () => {
  it("makes prefixed 32-byte secrets and parses only well-formed ones", () => {
    const api = newSecret("api");
    assert.match(api, /^kamr_[A-Za-z0-9_-]{43}$/);
    assert.equal(parseSecret("api", api), api);
    assert.equal(parseSecret("wall", api), null, "a token of another kind");
    assert.equal(parseSecret("session", newSecret("session").slice(1)), null);
    for (const v of [undefined, null, 5, {}, "kamr_", "kamr_" + "!".repeat(43)]) assert.equal(parseSecret("api", v), null);
    assert.equal(sha256("x").length, 64);
  });
  it("reads cookies and bearer headers", () => {
    assert.equal(readCookie("a=1; kam_session=abc; b=2", "kam_session"), "abc");
    assert.equal(readCookie("xkam_session=abc", "kam_session"), null);
    assert.equal(readCookie("kam_session=%E0%A4%A", "kam_session"), null, "bad escapes do not throw");
    assert.equal(readCookie(undefined, "x"), null);
    assert.equal(parseBearer("Bearer kamr_abc"), "kamr_abc");
    assert.equal(parseBearer("bearer   tok "), "tok");
    assert.equal(parseBearer("Basic dXNlcg=="), null);
    assert.equal(parseBearer("Bearer a b"), null);
  });
});

describe("CSRF and origin checks", () => {
  it("derives a per-session token that another session's token does not match", () => {
    const a = newSecret("session");
    const b = newSecret("session");
    assert.equal(csrfValid(a, csrfTokenFor(a)), true);
    assert.equal(csrfValid(a, csrfTokenFor(b)), false);
    assert.equal(csrfValid(a, undefined), false);
    assert.equal(csrfValid(a, ""), false);
    assert.equal(csrfValid(a, ["x"]), false);
  });
  it("double-submit before sign-in needs the header equal to the cookie", () => {
    const v = "x".repeat(32);
    assert.equal(preCsrfValid(v, v), true);
    assert.equal(preCsrfValid(v, "y".repeat(32)), false);
    assert.equal(preCsrfValid(null, v), false);
    assert.equal(preCsrfValid("short", "short"), false);
  });
  it("accepts the own host (any scheme, behind a TLS proxy) and allowed origins only", () => {
    const policy = { allowed: normaliseOrigins("https://NOC.example.net, http://10.0.0.5:8080") };
    assert.ok(originMatches("http://monitor:3000", "monitor:3000", policy));
    assert.ok(originMatches("https://monitor.example.net", "monitor.example.net", policy));
    assert.ok(originMatches("https://noc.example.net", "monitor:3000", policy));
    assert.ok(!originMatches("https://monitor.example.net.evil.io", "monitor.example.net", policy));
    assert.ok(!originMatches("http://monitor:3001", "monitor:3000", policy));
    assert.ok(!originMatches("null", "monitor:3000", policy));
    assert.ok(!originMatches("file:///x", "monitor:3000", policy));
    assert.throws(() => normaliseOrigins("ftp://x"));
  });
  it("needs Origin, else Referer, on state changes", () => {
    const p = { allowed: [] };
    assert.ok(sameOriginRequest({ origin: "http://h:1", host: "h:1" }, p));
    assert.ok(sameOriginRequest({ referer: "http://h:1/incidents/4", host: "h:1" }, p));
    assert.ok(!sameOriginRequest({ host: "h:1" }, p), "neither header");
    assert.ok(!sameOriginRequest({ origin: "null", referer: "http://h:1/", host: "h:1" }, p), "an opaque origin wins over a referer");
    assert.ok(!sameOriginRequest({ origin: "http://evil", referer: "http://h:1/", host: "h:1" }, p));
  });
  it("sends local paths only after sign-in", () => {
    assert.equal(safeNext("/incidents?x=1"), "/incidents?x=1");
    for (const bad of ["//evil.example", "/\\evil.example", "https://evil.example", "", 5, "/a\r\nSet-Cookie: x"]) assert.equal(safeNext(bad), "/");
  });
});

describe("role matrix", () => {
  it("viewer reads, operator also acknowledges and manages maintenance, admin also manages users, tokens and channels and reads the audit log", () => {
    const expect: Record<Action, string[]> = {
      read: ["viewer", "operator", "admin"],
      "incident.ack": ["operator", "admin"],
      "maintenance.write": ["operator", "admin"],
      "admin.users": ["admin"],
      "admin.tokens": ["admin"],
      "admin.channels": ["admin"],
      "admin.settings": ["admin"],
      "admin.audit": ["admin"],
    };
    for (const [action, roles] of Object.entries(expect) as [Action, string[]][]) {
      assert.deepEqual(ROLES.filter((r) => can(r, action)), roles, action);
    }
  });
});

describe("loopback and proxies", () => {
  it("recognises loopback peers", () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) assert.ok(isLoopback(a), a);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "::", "1.127.0.0", undefined, "127.0.0.1.evil"]) assert.ok(!isLoopback(a), String(a));
  });
  it("allows anonymous reads only to a direct loopback peer in loopback mode", () => {
    const host = { host: "127.0.0.1:3000" };
    assert.ok(anonymousReadAllowed("loopback", "127.0.0.1", host));
    assert.ok(anonymousReadAllowed("loopback", "::1", { host: "localhost:3000" }));
    assert.ok(!anonymousReadAllowed("off", "127.0.0.1", host));
    assert.ok(!anonymousReadAllowed("loopback", "10.1.1.1", host));
    assert.ok(!anonymousReadAllowed("loopback", "127.0.0.1", { ...host, "x-forwarded-for": "1.2.3.4" }));
    assert.ok(!anonymousReadAllowed("loopback", "127.0.0.1", { ...host, forwarded: "for=1.2.3.4" }));
    assert.ok(!anonymousReadAllowed("loopback", "::1", { ...host, "x-real-ip": "1.2.3.4" }));
    // DNS rebinding: a loopback peer whose Host names another site, or no Host at all
    assert.ok(!anonymousReadAllowed("loopback", "127.0.0.1", { host: "evil.example:3000" }));
    assert.ok(!anonymousReadAllowed("loopback", "127.0.0.1", {}));
  });
  it("takes the client address from X-Forwarded-For only from a trusted proxy", () => {
    assert.equal(clientAddress("10.0.0.9", { "x-forwarded-for": "1.1.1.1" }, []), "10.0.0.9");
    assert.equal(clientAddress("10.0.0.9", { "x-forwarded-for": "6.6.6.6, 1.1.1.1" }, ["10.0.0.9"]), "1.1.1.1");
    assert.equal(clientAddress("127.0.0.1", { "x-forwarded-for": "1.1.1.1" }, ["loopback"]), "1.1.1.1");
  });
});

describe("login rate limit window", () => {
  it("counts per key within the window and forgets old keys past its bound", () => {
    const l = new WindowLimiter(2, 1000, 3);
    assert.ok(l.hit("a", 0) && l.hit("a", 10));
    assert.ok(!l.hit("a", 20));
    assert.ok(l.over("a", 30));
    assert.ok(l.hit("a", 1000), "a new window");
    for (const k of ["b", "c", "d", "e"]) l.hit(k, 1001);
    assert.ok(!l.over("a", 1002));
  });
});

describe("content security policy", () => {
  it("is nonce-based without unsafe-eval in production, with it only in dev", () => {
    const prod = contentSecurityPolicy({ nonce: "abc", dev: false, frameAncestors: "'none'" });
    assert.match(prod, /script-src 'self' 'nonce-abc' 'strict-dynamic'/);
    assert.doesNotMatch(prod, /unsafe-eval/);
    assert.match(prod, /frame-ancestors 'none'/);
    assert.match(contentSecurityPolicy({ nonce: "abc", dev: true, frameAncestors: "'none'" }), /'unsafe-eval'/);
  });
  it("accepts only well-formed frame ancestors", () => {
    assert.ok(validFrameAncestors("'none'"));
    assert.ok(validFrameAncestors("'self' https://noc.example.net https://*.example.org:8443"));
    assert.ok(!validFrameAncestors("https://x; script-src *"));
    assert.ok(!validFrameAncestors("*"));
  });
});
