import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ALERTNAMES, alertmanagerPayload, alertsUrl, backoffMs, jsonPayload, slackPayload, webhookUrlProblem } from "../../server/incidents/notifier";
import type { IncidentMsg } from "../../server/protocol";
import { notifiedIncident } from "../helpers/incident";

const inc = notifiedIncident();

describe("webhook payloads", () => {
  it("Slack: one text line naming kind, cluster, VRID, nodes and cause, a link, and the evidence as a code block", () => {
    const p = slackPayload("opened", inc, "https://monitor.example.net");
    assert.match(p.text, /DUAL_MASTER opened: cluster \*shop\*, VRID 51, nodes lb1, lb2\. lb2 became MASTER/);
    assert.match(p.text, /<https:\/\/monitor\.example\.net\/incidents\/42\|open in the dashboard>/);
    assert.equal(p.blocks.length, 2);
    assert.match(JSON.stringify(p.blocks[1]), /lb2 19:09:30  \(VI_1\) Entering MASTER STATE/);
    assert.match(slackPayload("resolved", inc, null).text, /^:white_check_mark: DUAL_MASTER resolved/);
  });
  it("escapes data for Slack: no <!channel>, no disguised link, no way out of the code block (issue 19)", () => {
    const evil: IncidentMsg = {
      ...inc,
      nodes: ["<!channel>", "lb2"],
      cause: {
        ...inc.cause,
        summary: "lb2 <https://evil.example|click> & <@U123> <!here>",
        evidence: [{ node: "lb2", at: inc.openedAt, line: "``` *bold* <!channel> ```", kind: "log" }],
      },
    };
    const p = slackPayload("opened", evil, "https://monitor.example.net");
    const all = JSON.stringify(p);
    assert.ok(!all.includes("<!channel>") && !all.includes("<!here>") && !all.includes("<@U123>"), all);
    assert.ok(!all.includes("<https://evil.example"), "no link from data");
    assert.match(p.text, /&lt;!channel&gt;/);
    assert.match(p.text, /&lt;https:\/\/evil\.example\|click&gt; &amp; /);
    assert.match(p.text, /<https:\/\/monitor\.example\.net\/incidents\/42\|open in the dashboard>/, "our own link stays a link");
    const code = (p.blocks[1] as { text: { text: string } }).text.text;
    assert.ok(code.startsWith("```") && code.endsWith("```"));
    assert.equal(code.slice(3, -3).includes("`"), false, "the block cannot be closed from data");
  });
  it("generic JSON: the event, the whole incident and its dashboard URL", () => {
    assert.deepEqual(jsonPayload("resolved", inc, "https://m.example"), { event: "resolved", incident: inc, url: "https://m.example/incidents/42" });
    assert.equal(jsonPayload("opened", inc, null).url, null);
  });
});

describe("Alertmanager alerts (API v2 postable alerts)", () => {
  it("an open incident: labels that identify it, the cause as annotations, startsAt = openedAt, no endsAt, the dashboard link", () => {
    assert.deepEqual(alertmanagerPayload(inc, "https://monitor.example.net"), [
      {
        labels: { alertname: "KeepalivedDualMaster", cluster: "shop", kind: "DUAL_MASTER", severity: "critical", incident: "42", vrid: "51" },
        annotations: {
          summary: "DUAL_MASTER in cluster shop, VRID 51 (lb1, lb2)",
          description: "lb2 became MASTER while lb1 was still MASTER: VRRP adverts are not getting through.",
          cause_code: "adverts_not_received",
          nodes: "lb1, lb2",
        },
        startsAt: "2026-11-23T19:09:30.588Z",
        generatorURL: "https://monitor.example.net/incidents/42",
      },
    ]);
  });
  it("closed: the same labels with endsAt = closedAt (resolved); no link without a public URL", () => {
    const [open] = alertmanagerPayload(inc, null);
    const [closed] = alertmanagerPayload({ ...inc, closedAt: "2026-11-23T19:12:00.000Z", nodes: ["lb1", "lb2", "lb3"] }, null);
    assert.deepEqual(closed.labels, open.labels, "labels never change while the incident lives (nodes are not one)");
    assert.equal(closed.endsAt, "2026-11-23T19:12:00.000Z");
    assert.equal(open.endsAt, undefined);
    assert.equal(closed.generatorURL, undefined);
  });
  it("a node label for the kinds about one node, no vrid label when it is unknown, an alertname per kind", () => {
    const [down] = alertmanagerPayload({ ...inc, kind: "KEEPALIVED_DOWN", severity: "warning", vrid: null, nodes: ["lb1"] }, null);
    assert.deepEqual(down.labels, { alertname: "KeepalivedDown", cluster: "shop", kind: "KEEPALIVED_DOWN", severity: "warning", incident: "42", node: "lb1" });
    assert.equal(down.annotations.summary, "KEEPALIVED_DOWN in cluster shop (lb1)");
    const [fault] = alertmanagerPayload({ ...inc, kind: "FAULT", nodes: ["lb2"] }, null);
    assert.equal(fault.labels.node, "lb2");
    assert.equal(fault.labels.vrid, "51");
    const names = Object.values(ALERTNAMES);
    assert.equal(new Set(names).size, names.length, "one alertname per kind");
    for (const n of names) assert.match(n, /^Keepalived[A-Z][A-Za-z]+$/);
  });
  it("posts to the base URL's /api/v2/alerts, a path prefix kept", () => {
    assert.equal(alertsUrl("http://am.example:9093"), "http://am.example:9093/api/v2/alerts");
    assert.equal(alertsUrl("https://ops.example/alertmanager/"), "https://ops.example/alertmanager/api/v2/alerts");
  });
});

describe("webhook URL validation (admin CLI)", () => {
  it("takes http(s) URLs; Alertmanager's base URL only", () => {
    assert.equal(webhookUrlProblem("https://hooks.slack.com/services/T/B/x", "slack"), null);
    assert.equal(webhookUrlProblem("http://127.0.0.1:8080/hook?x=1", "json"), null);
    assert.equal(webhookUrlProblem("http://am.example:9093", "alertmanager"), null);
    assert.equal(webhookUrlProblem("https://ops.example/alertmanager/", "alertmanager"), null);
  });
  it("refuses what no delivery could use, and anything but a base URL for Alertmanager, saying why", () => {
    assert.match(webhookUrlProblem("ftp://x.example/", "json")!, /http:\/\/ or https:\/\//);
    assert.match(webhookUrlProblem("http://exa mple.invalid/hook", "json")!, /http:\/\/ or https:\/\//);
    assert.match(webhookUrlProblem("http://[::1/hook", "slack")!, /http:\/\/ or https:\/\//, "what URL() refuses (issue 19)");
    assert.match(webhookUrlProblem("http://user:secret@am.example:9093", "alertmanager")!, /user name or password/);
    assert.match(webhookUrlProblem("http://am.example:9093/api/v2/alerts", "alertmanager")!, /without \/api\/v2\/alerts \(e\.g\. http:\/\/am\.example:9093\)/);
    assert.match(webhookUrlProblem("http://am.example:9093/?x=1", "alertmanager")!, /no \?query or #fragment/);
  });
});

describe("retry backoff", () => {
  it("doubles from 2 s with +-25 % jitter and is capped at 5 minutes", () => {
    assert.equal(backoffMs(1, 0.5), 2000);
    assert.equal(backoffMs(2, 0.5), 4000);
    assert.equal(backoffMs(1, 0), 1500);
    assert.equal(backoffMs(1, 1), 2500);
    assert.equal(backoffMs(30, 0.5), 300_000);
  });
});
