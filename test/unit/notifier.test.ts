import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffMs, jsonPayload, slackPayload } from "../../server/incidents/notifier";
import type { IncidentMsg } from "../../server/protocol";

const inc: IncidentMsg = {
  id: "42", cluster: "shop", kind: "DUAL_MASTER", severity: "critical", vrid: 51, instances: { lb1: "VI_1", lb2: "VI_1" },
  nodes: ["lb1", "lb2"], openedAt: "2026-11-23T19:09:30.588Z", closedAt: null, silenced: false,
  cause: {
    code: "adverts_not_received",
    summary: "lb2 became MASTER while lb1 was still MASTER: VRRP adverts are not getting through.",
    evidence: [{ node: "lb2", at: "2026-11-23T19:09:30.588Z", line: "(VI_1) Entering MASTER STATE", kind: "log" }],
  },
};

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

describe("retry backoff", () => {
  it("doubles from 2 s with +-25 % jitter and is capped at 5 minutes", () => {
    assert.equal(backoffMs(1, 0.5), 2000);
    assert.equal(backoffMs(2, 0.5), 4000);
    assert.equal(backoffMs(1, 0), 1500);
    assert.equal(backoffMs(1, 1), 2500);
    assert.equal(backoffMs(30, 0.5), 300_000);
  });
});
