import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, formatOffset, formatUtc, incidentDurationMs, inputToIso, isoToInput } from "../../components/incidents/format";

describe("incident time wording", () => {
  it("writes durations for humans", () => {
    assert.equal(formatDuration(850), "850 ms");
    assert.equal(formatDuration(45_000), "45 s");
    assert.equal(formatDuration(192_000), "3m 12s");
    assert.equal(formatDuration(3_720_000), "1h 02m");
    assert.equal(formatDuration(51 * 3600_000), "2d 03h");
    assert.equal(formatDuration(-1), "–");
    assert.equal(formatDuration(null), "–");
  });

  it("writes UTC times with the zone, and offsets with a sign", () => {
    assert.equal(formatUtc("2024-05-01T12:34:56.789Z"), "2024-05-01 12:34:56 UTC");
    assert.equal(formatUtc("2024-05-01T12:34:56.789Z", { ms: true }), "2024-05-01 12:34:56.789 UTC");
    assert.equal(formatUtc("nope"), "–");
    assert.equal(formatOffset("2024-05-01T12:00:01.234Z", "2024-05-01T12:00:00Z"), "+1.234 s");
    assert.equal(formatOffset("2024-05-01T11:59:59.950Z", "2024-05-01T12:00:00Z"), "\u22120.050 s");
  });

  it("measures an open incident up to now", () => {
    const now = Date.parse("2024-05-01T12:10:00Z");
    assert.equal(incidentDurationMs({ openedAt: "2024-05-01T12:00:00Z", closedAt: null }, now), 600_000);
    assert.equal(incidentDurationMs({ openedAt: "2024-05-01T12:00:00Z", closedAt: "2024-05-01T12:01:00Z" }, now), 60_000);
  });

  it("converts the UTC datetime inputs both ways", () => {
    assert.equal(isoToInput("2024-05-01T12:34:56.000Z"), "2024-05-01T12:34");
    assert.equal(inputToIso("2024-05-01T12:34"), "2024-05-01T12:34:00.000Z");
    assert.equal(inputToIso(""), null);
    assert.equal(isoToInput(null), "");
  });
});
