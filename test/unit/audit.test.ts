/**
 * The audit log's pure parts (issue 15): secrets masked in what it records, its query string and CSV, and
 * the rule that every state-changing route and CLI command says what is recorded of it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MASK, maskUrl, redact } from "../../server/audit/redact";
import { auditCsv, parseAuditQuery } from "../../server/audit/query";
import { unaudited } from "../../server/http/router";
import { ROUTES } from "../../server/http/routes";
import { ACCESS_COMMANDS } from "../../server/cli/users";
import { parseCsv } from "../helpers/csv";

describe("redact", () => {
  it("masks fields named as secrets, keeping whether they were set", () => {
    const r = redact({ name: "ann", password: "hunter2", secret: "whsec_x", token: "kamr_x", tokenHash: "ab", routingKey: "R0", passwordHash: "scrypt$", empty: { secret: null }, prefix: "kamr_ab" });
    assert.deepEqual(r, { name: "ann", password: MASK, secret: MASK, token: MASK, tokenHash: MASK, routingKey: MASK, passwordHash: MASK, empty: { secret: null }, prefix: "kamr_ab" });
  });
  it("keeps a URL up to its host: a path or query may hold a token, a user or password is dropped", () => {
    assert.equal(maskUrl("https://hooks.slack.com/services/T000/B000/XXXX"), "https://hooks.slack.com/…");
    assert.equal(maskUrl("http://user:pw@127.0.0.1:9093/"), "http://127.0.0.1:9093");
    assert.equal(maskUrl("smtp://mail.example:587"), "smtp://mail.example:587");
    assert.equal(maskUrl("not a url"), "(unparseable URL)");
    assert.deepEqual(redact({ url: "https://h.example/x?token=1", publicUrl: "https://m.example/a", urls: ["https://a.example/s"] }), {
      url: "https://h.example/…", publicUrl: "https://m.example/…", urls: ["https://a.example/s"],
    });
  });
  it("walks arrays and nested objects; bigints and dates become strings; never mutates", () => {
    const v = { list: [{ password: "x" }], id: 5n, at: new Date("2026-01-02T03:04:05Z") };
    assert.deepEqual(redact(v), { list: [{ password: MASK }], id: "5", at: "2026-01-02T03:04:05.000Z" });
    assert.equal(v.list[0].password, "x");
  });
});

describe("the audit query and CSV", () => {
  const q = (s: string) => parseAuditQuery(new URLSearchParams(s));
  it("parses filters and pages; refuses bad values with a typed error", () => {
    const ok = q("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&actor=ann&action=user&before=42&limit=5");
    assert.ok(ok.ok);
    assert.deepEqual(ok.query, { from: new Date("2026-01-01T00:00:00Z"), to: new Date("2026-02-01T00:00:00Z"), actor: "ann", action: "user", before: 42n, limit: 5 });
    const d = q("");
    assert.ok(d.ok);
    assert.equal(d.query.limit, 100);
    for (const bad of ["from=yesterday", "limit=0", "limit=1001", "action=DROP TABLE", "before=x", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"]) {
      const r = q(bad);
      assert.ok(!r.ok, bad);
      assert.equal(r.error.code, "invalid_message");
    }
  });
  it("writes CSV that reads back, formulas defused, before and after as JSON", () => {
    const csv = auditCsv([{ id: "1", at: "2026-01-01T00:00:00.000Z", actorKind: "user", actor: "=cmd()", action: "user.add", target: "user:1", before: null, after: { name: "a,\"b\"" }, sourceIp: "127.0.0.1" }]);
    const rows = parseCsv(csv);
    assert.equal(rows[1][3], "'=cmd()");
    assert.equal(rows[1][7], "");
    assert.deepEqual(JSON.parse(rows[1][8]), { name: "a,\"b\"" });
  });
});

describe("what the audit log covers", () => {
  it("every state-changing route declares its audit action (sign-in and sign-out say false)", () => {
    assert.deepEqual(unaudited(ROUTES), []);
    const off = ROUTES.filter((r) => r.audit === false).map((r) => r.path).sort();
    assert.deepEqual(off, ["/api/auth/login", "/api/auth/logout"]);
    const actions = ROUTES.flatMap((r) => (r.audit ? [r.audit.action] : []));
    for (const a of ["user.add", "api-token.create", "webhook.add", "webhook.edit", "webhook.test", "webhook.remove", "maintenance.add", "maintenance.end", "incident.ack", "auth.setup"]) {
      assert.ok(actions.includes(a), a);
    }
  });
  it("every access command of the CLI that changes state declares its audit action", () => {
    const missing = ACCESS_COMMANDS.filter((c) => !/(^| )(list|show)$/.test(c.name) && !c.audit).map((c) => c.name);
    assert.deepEqual(missing, []);
  });
});
