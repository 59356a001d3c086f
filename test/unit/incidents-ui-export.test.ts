import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IncidentMsg } from "../../server/protocol";
import { csvField, evidenceCsv, exportFileName, incidentJson, toCsv } from "../../components/incidents/export";
import { incident } from "../helpers/incident";
import { parseCsv } from "../helpers/csv";

describe("CSV export of the evidence", () => {
  it("quotes only fields that need it, doubling quotes", () => {
    assert.equal(csvField("plain"), "plain");
    assert.equal(csvField("a,b"), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField("two\nlines"), '"two\nlines"');
    assert.equal(csvField("cr\rhere"), '"cr\rhere"');
    assert.equal(toCsv([["a", "b,c"], ["d", ""]]), 'a,"b,c"\r\nd,\r\n');
  });

  it("neutralises cells a spreadsheet would run as a formula (= + - @ tab CR) (issue 19)", () => {
    assert.equal(csvField('=HYPERLINK("http://evil.example","x")'), '"\'=HYPERLINK(""http://evil.example"",""x"")"');
    assert.equal(csvField("+1+cmd|' /C calc'!A0"), "'+1+cmd|' /C calc'!A0");
    assert.equal(csvField("-2+3"), "'-2+3");
    assert.equal(csvField("@SUM(A1)"), "'@SUM(A1)");
    assert.equal(csvField("\tx"), "'\tx");
    assert.equal(csvField("\rx"), '"\'\rx"');
    assert.equal(csvField("a=b"), "a=b", "only at the start");
  });

  it("writes a header and one row per evidence line, oldest first, that read back exactly", () => {
    const inc = incident({
      id: "42",
      cause: {
        code: "x",
        summary: "y",
        evidence: [
          { node: "b", at: "2024-05-01T12:00:02.000Z", line: '(VI_1) Entering MASTER STATE, "really"', kind: "log" },
          { node: "a", at: "2024-05-01T12:00:01.500Z", line: "ip addr on a: holds 198.18.0.100", kind: "vips" },
          { node: "a", at: "2024-05-01T12:00:03.000Z", line: "VI_1: advert_int 1\nsecond line", kind: "config" },
        ],
      },
    });
    const rows = parseCsv(evidenceCsv(inc));
    assert.equal(rows.length, 1 + inc.cause.evidence.length);
    assert.deepEqual(rows[0], ["node", "at", "kind", "line"]);
    assert.deepEqual(rows[1], ["a", "2024-05-01T12:00:01.500Z", "vips", "ip addr on a: holds 198.18.0.100"]);
    assert.deepEqual(rows[2], ["b", "2024-05-01T12:00:02.000Z", "log", '(VI_1) Entering MASTER STATE, "really"']);
    assert.deepEqual(rows[3], ["a", "2024-05-01T12:00:03.000Z", "config", "VI_1: advert_int 1\nsecond line"]);
  });

  it("exports the incident as JSON that parses back to a valid incident", () => {
    const inc = incident({ id: "7", cause: { code: "c", summary: "s", evidence: [{ node: "a", at: "2024-05-01T12:00:00.000Z", line: "l", kind: "log" }] } });
    const back = JSON.parse(incidentJson(inc));
    assert.deepEqual(back, inc);
    assert.equal(IncidentMsg.safeParse(back).success, true);
  });

  it("names files safely", () => {
    assert.equal(exportFileName(incident({ id: "9", cluster: "shop lb/../x" }), "csv"), "incident-9-shop_lb_.._x-DUAL_MASTER.csv");
  });
});
