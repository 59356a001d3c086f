/** The one time and duration wording of the UI (components/format.ts): UTC, fixed English words. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatAgo,
  formatAvailability,
  formatDay,
  formatDuration,
  formatOffset,
  formatTime,
  formatTimeOfDay,
  fromInputValue,
  toInputValue,
} from "../../components/format";
import { incidentDurationMs } from "../../components/incidents/feed";
import { inputToIso, isoToInput } from "../../components/incidents/filters";

describe("durations", () => {
  it("are written one way on every page", () => {
    assert.equal(formatDuration(850), "850 ms");
    assert.equal(formatDuration(45_000), "45 s");
    assert.equal(formatDuration(192_000), "3 min 12 s");
    assert.equal(formatDuration(15 * 60_000), "15 min");
    assert.equal(formatDuration(350_000), "5 min 50 s");
    assert.equal(formatDuration(3_720_000), "1 h 2 min");
    assert.equal(formatDuration(24 * 3600_000), "24 h");
    assert.equal(formatDuration(51 * 3600_000), "2 d 3 h");
    assert.equal(formatDuration(7 * 86_400_000), "7 d");
  });
  it("read – when negative or unknown", () => {
    assert.equal(formatDuration(-1), "–");
    assert.equal(formatDuration(null), "–");
    assert.equal(formatDuration(Number.NaN), "–");
  });
});

describe("times", () => {
  it("are UTC, with the zone where a time stands alone", () => {
    assert.equal(formatTime("2024-05-01T12:34:56.789Z"), "2024-05-01 12:34:56 UTC");
    assert.equal(formatTime("2024-05-01T12:34:56.789Z", { ms: true }), "2024-05-01 12:34:56.789 UTC");
    assert.equal(formatTime(Date.parse("2024-05-01T12:34:56Z"), { zone: false }), "2024-05-01 12:34:56");
    assert.equal(formatTime("nope"), "–");
  });
  it("write the hour after midnight as 00, never 24 (the server's render and the browser's agree)", () => {
    assert.equal(formatTimeOfDay(Date.UTC(2026, 10, 24, 0, 5, 7)), "00:05:07");
    assert.equal(formatTimeOfDay(Date.UTC(2026, 10, 24, 23, 59, 59)), "23:59:59");
    assert.equal(formatTimeOfDay("2026-11-24T23:59:59.123Z", { ms: true }), "23:59:59.123");
    assert.equal(formatTimeOfDay(Date.UTC(2026, 10, 24, 7, 5), { seconds: false }), "07:05");
  });
  it("name a UTC day without the locale", () => {
    assert.equal(formatDay(Date.UTC(2026, 11, 4, 23, 59)), "Fri 4 Dec");
  });
  it("write offsets with a sign", () => {
    assert.equal(formatOffset("2024-05-01T12:00:01.234Z", "2024-05-01T12:00:00Z"), "+1.234 s");
    assert.equal(formatOffset("2024-05-01T11:59:59.950Z", "2024-05-01T12:00:00Z"), "\u22120.050 s");
  });
  it("convert the UTC datetime inputs both ways", () => {
    assert.equal(toInputValue(Date.parse("2024-05-01T12:34:56Z")), "2024-05-01T12:34");
    assert.equal(fromInputValue("2024-05-01T12:34"), Date.parse("2024-05-01T12:34:00Z"));
    assert.ok(Number.isNaN(fromInputValue("yesterday")));
    assert.ok(Number.isNaN(fromInputValue("")));
    assert.equal(isoToInput("2024-05-01T12:34:56.000Z"), "2024-05-01T12:34");
    assert.equal(inputToIso("2024-05-01T12:34"), "2024-05-01T12:34:00.000Z");
    assert.equal(inputToIso(""), null);
    assert.equal(isoToInput(null), "");
  });
});

describe("formatAgo", () => {
  const now = Date.parse("2026-11-23T18:00:00Z");
  it("words the age in the largest whole unit, in the duration's words", () => {
    assert.equal(formatAgo(now - 2_000, now), "just now");
    assert.equal(formatAgo(now - 42_000, now), "42 s ago");
    assert.equal(formatAgo(now - 5 * 60_000 - 59_000, now), "5 min ago");
    assert.equal(formatAgo(now - 3 * 3_600_000, now), "3 h ago");
    assert.equal(formatAgo(now - 47 * 3_600_000, now), "47 h ago");
    assert.equal(formatAgo(now - 3 * 86_400_000, now), "3 d ago");
    assert.equal(formatAgo("2026-11-23T17:59:30Z", now), "30 s ago");
  });
  it("says never for a missing time and unknown for garbage", () => {
    assert.equal(formatAgo(null, now), "never");
    assert.equal(formatAgo(undefined, now), "never");
    assert.equal(formatAgo("not a date", now), "unknown");
  });
  it("tolerates small clock skew but flags times clearly ahead", () => {
    assert.equal(formatAgo(now + 3_000, now), "just now");
    assert.equal(formatAgo(now + 60_000, now), "in the future");
  });
});

describe("incidentDurationMs", () => {
  it("measures an open incident up to now", () => {
    const now = Date.parse("2024-05-01T12:10:00Z");
    assert.equal(incidentDurationMs({ openedAt: "2024-05-01T12:00:00Z", closedAt: null }, now), 600_000);
    assert.equal(incidentDurationMs({ openedAt: "2024-05-01T12:00:00Z", closedAt: "2024-05-01T12:01:00Z" }, now), 60_000);
  });

  it("writes an availability that falls short of 100 % never as 100", () => {
    assert.equal(formatAvailability(1), "100 %");
    assert.equal(formatAvailability(1 - 2 / (7 * 86_400)), "99.999 %");
    assert.equal(formatAvailability(0.5), "50.000 %");
    assert.equal(formatAvailability(0), "0.000 %");
    assert.equal(formatAvailability(null), "–");
  });
});
