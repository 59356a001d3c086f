import { describe, it } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { emailPayload, escapeHtml, pagerdutyPayload, severityReaches } from "../../server/incidents/channels";
import { loadSecretBox, SecretBox, SecretKeyError } from "../../server/incidents/secret-box";
import { notificationPayload } from "../../server/incidents/notifier";
import { generateSigningSecret, secretProblem, smtpUrlProblem } from "../../server/incidents/channel-admin";
import type { IncidentMsg } from "../../server/protocol";
import { tmpDir } from "../helpers/tmp";
import { notifiedIncident } from "../helpers/incident";

const inc = notifiedIncident();

describe("PagerDuty Events API v2", () => {
  it("a trigger on open with summary, severity, source, component, group, class, details and the incident's link", () => {
    assert.deepEqual(pagerdutyPayload("opened", inc, "https://m.example"), {
      event_action: "trigger",
      dedup_key: "kam-incident-42",
      payload: {
        summary: "DUAL_MASTER in cluster shop, VRID 51: lb2 became MASTER while lb1 was still MASTER: VRRP adverts are not getting through.",
        severity: "critical", source: "lb1, lb2", component: "VRID 51", group: "shop", class: "DUAL_MASTER", timestamp: inc.openedAt,
        custom_details: {
          cause_code: "adverts_not_received", cause: inc.cause.summary, nodes: ["lb1", "lb2"], instances: inc.instances,
          evidence: ["lb2 2026-11-23T19:09:30.588Z  (VI_1) Entering MASTER STATE"], incident: "42",
        },
      },
      links: [{ href: "https://m.example/incidents/42", text: "Incident in keepalived-monitor" }],
      client: "keepalived-monitor",
      client_url: "https://m.example",
    });
  });
  it("a resolve on close with the same dedup_key and nothing else; no links without a public URL; the summary cut at 1024", () => {
    assert.deepEqual(pagerdutyPayload("resolved", inc, null), { event_action: "resolve", dedup_key: "kam-incident-42" });
    const long = pagerdutyPayload("opened", { ...inc, nodes: [], cause: { ...inc.cause, summary: "x".repeat(2000) } }, null);
    assert.equal(long.payload!.summary.length, 1024);
    assert.equal(long.payload!.source, "shop", "the cluster when no node is named");
    assert.equal(long.links, undefined);
    const [trigger, resolve] = (["opened", "resolved"] as const).map((e) => notificationPayload("pagerduty", e, inc, null) as { dedup_key: string });
    assert.equal(trigger.dedup_key, resolve.dedup_key, "the outbox's payloads: one dedup_key per incident");
  });
});

describe("email", () => {
  it("a subject, a text body and an HTML body linking to the incident", () => {
    const m = emailPayload("opened", inc, "https://m.example");
    assert.equal(m.subject, "[keepalived-monitor] DUAL_MASTER opened: cluster shop, VRID 51");
    assert.match(m.text, /^DUAL_MASTER opened in cluster shop, VRID 51\n\nSeverity: critical\nCluster: shop\nVRID: 51\nNodes: lb1, lb2\n/);
    assert.match(m.text, /Evidence:\n  lb2 2026-11-23T19:09:30.588Z  \(VI_1\) Entering MASTER STATE/);
    assert.match(m.text, /Open in the dashboard: https:\/\/m\.example\/incidents\/42/);
    assert.match(m.html, /<a href="https:\/\/m\.example\/incidents\/42">Open in the dashboard<\/a>/);
    assert.match(emailPayload("resolved", { ...inc, closedAt: "2026-11-23T19:12:00.000Z" }, null).text, /resolved[\s\S]*Closed: 2026-11-23T19:12:00.000Z/);
    assert.doesNotMatch(emailPayload("opened", inc, null).text, /dashboard/);
  });
  it("escapes every value from the data in the HTML, and keeps line breaks out of the subject", () => {
    const evil: IncidentMsg = {
      ...inc, cluster: "a\r\nBcc: x@evil.example", nodes: ["<script>alert(1)</script>"],
      cause: { ...inc.cause, summary: `"><img src=x onerror=alert(1)> & co`, evidence: [{ ...inc.cause.evidence[0], line: "</pre><b>" }] },
    };
    const m = emailPayload("opened", evil, "https://m.example/?a=1&b=\"2\"");
    assert.ok(!m.html.includes("<script>") && !m.html.includes("<img") && !m.html.includes("</pre><b>"), m.html);
    assert.match(m.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(m.html, /&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt; &amp; co/);
    assert.match(m.html, /href="https:\/\/m\.example\/\?a=1&amp;b=&quot;2&quot;\/incidents\/42"/);
    assert.doesNotMatch(m.subject, /[\r\n]/);
    assert.equal(escapeHtml(`<a href='x'>&</a>`), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
  });
});

describe("routing by minimum severity", () => {
  it("info takes all, warning takes warning and critical, critical only critical", () => {
    assert.deepEqual(["info", "warning", "critical"].map((s) => severityReaches(s, "info")), [true, true, true]);
    assert.deepEqual(["info", "warning", "critical"].map((s) => severityReaches(s, "warning")), [false, true, true]);
    assert.deepEqual(["info", "warning", "critical"].map((s) => severityReaches(s, "critical")), [false, false, true]);
  });
});

describe("secrets at rest (AES-256-GCM)", () => {
  const box = new SecretBox(crypto.randomBytes(32), "/k/secrets.key");
  it("seals to a fresh ciphertext each time and opens it again; the plain text is not in the sealed form", () => {
    const a = box.seal("whsec_abc", "webhook-secret");
    const b = box.seal("whsec_abc", "webhook-secret");
    assert.notEqual(a, b, "a fresh IV each time");
    assert.ok(!a.includes("abc") && !a.includes(Buffer.from("whsec_abc").toString("base64url")));
    assert.equal(box.open(a, "webhook-secret"), "whsec_abc");
  });
  it("another key: an error naming KAM_SECRETS_KEY_FILE; an altered value: refused, not garbage", () => {
    const other = new SecretBox(crypto.randomBytes(32), "/other.key");
    const sealed = box.seal("rk", "webhook-secret");
    assert.throws(() => other.open(sealed, "webhook-secret"), (e: Error) => e instanceof SecretKeyError && /sealed with another key .*\/other\.key \(KAM_SECRETS_KEY_FILE/.test(e.message));
    const parts = sealed.split(".");
    parts[4] = Buffer.from("xx").toString("base64url");
    assert.throws(() => box.open(parts.join("."), "webhook-secret"), /altered/);
    assert.throws(() => box.open("plain-text", "webhook-secret"), /not in the sealed form/);
    assert.throws(() => new SecretBox(Buffer.alloc(16), "/short.key"), /must be 32 bytes/);
  });
  it("the default key file is created in the data directory with mode 0600 and reused; a named one must exist", (t) => {
    const dir = tmpDir(t, "kam-key-");
    const a = loadSecretBox({ keyFile: "", dataDir: path.join(dir, "data") });
    const file = path.join(dir, "data", "secrets.key");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const b = loadSecretBox({ keyFile: "", dataDir: path.join(dir, "data") });
    assert.equal(b.open(a.seal("x", "webhook-secret"), "webhook-secret"), "x", "the same key next time");
    assert.equal(loadSecretBox({ keyFile: file, dataDir: "/nowhere" }).keyId, a.keyId);
    assert.throws(() => loadSecretBox({ keyFile: path.join(dir, "missing.key"), dataDir: dir }), /cannot read the secrets key file .*missing\.key \(KAM_SECRETS_KEY_FILE\): ENOENT/);
    fs.writeFileSync(path.join(dir, "bad.key"), "not base64 !\n");
    assert.throws(() => loadSecretBox({ keyFile: path.join(dir, "bad.key"), dataDir: dir }), /must hold 32 bytes in base64/);
  });
});

describe("channel secrets and SMTP URLs (admin CLI)", () => {
  it("a generated signing secret is whsec_ and 32 bytes; given ones are checked per format", () => {
    const s = generateSigningSecret();
    assert.match(s, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(secretProblem("json", s), null);
    assert.match(secretProblem("json", "whsec_c2hvcnQ=")!, /24 to 64 bytes/);
    assert.match(secretProblem("json", "hunter2")!, /whsec_/);
    assert.equal(secretProblem("pagerduty", "R0utingKey0123456789abcdefABCDEF"), null);
    assert.match(secretProblem("pagerduty", "short")!, /routing key/);
    assert.equal(secretProblem("email", "a pass phrase with spaces"), null, "an SMTP password is taken as it is");
  });
  it("an SMTP server is smtp://HOST[:PORT], without credentials or path", () => {
    assert.equal(smtpUrlProblem("smtp://mail.example:587"), null);
    assert.equal(smtpUrlProblem("smtp://[::1]:25"), null);
    assert.match(smtpUrlProblem("http://mail.example")!, /smtp:\/\/HOST/);
    assert.match(smtpUrlProblem("smtp://u:p@mail.example")!, /--smtp-user/);
  });
});
