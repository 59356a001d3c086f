import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseLogQuery, parseTimelineQuery } from "../../server/timeline/query";

const NOW = Date.parse("2026-03-10T12:00:00.000Z");
const q = (s: string) => new URLSearchParams(s);

describe("timeline query", () => {
  test("defaults to the last hour up to now, 1200 pixels", () => {
    const r = parseTimelineQuery("edge", q(""), NOW);
    assert.deepEqual(r, { ok: true, query: { cluster: "edge", from: NOW - 3600_000, to: NOW, width: 1200, evidence: "full" } });
  });

  test("takes from, to and width", () => {
    const r = parseTimelineQuery("edge", q("from=2026-03-10T10:00:00Z&to=2026-03-10T11:00:00.500Z&width=640"), NOW);
    assert.deepEqual(r, { ok: true, query: { cluster: "edge", from: Date.parse("2026-03-10T10:00:00Z"), to: Date.parse("2026-03-10T11:00:00.500Z"), width: 640, evidence: "full" } });
  });

  test("evidence=none asks for the incidents without their evidence lines; nothing else is taken", () => {
    const r = parseTimelineQuery("edge", q("evidence=none"), NOW);
    assert.ok(r.ok && r.query.evidence === "none");
    const bad = parseTimelineQuery("edge", q("evidence=some"), NOW);
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.error.message, /evidence/);
  });

  test("a range given only its start runs to now", () => {
    const r = parseTimelineQuery("edge", q("from=2026-03-09T12:00:00Z"), NOW);
    assert.ok(r.ok && r.query.to === NOW);
  });

  test("refuses bad times, reversed or too long ranges and silly widths, with a typed error", () => {
    for (const s of ["from=yesterday", "to=2026-13-45", "from=2026-03-10T11:00:00Z&to=2026-03-10T10:00:00Z", "from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "width=5", "width=1e9", "width=12.5"]) {
      const r = parseTimelineQuery("edge", q(s), NOW);
      assert.equal(r.ok, false, s);
      if (!r.ok) {
        assert.equal(r.error.code, "invalid_message");
        assert.ok(r.error.message.length > 0);
      }
    }
    assert.equal(parseTimelineQuery("x".repeat(200), q(""), NOW).ok, false, "cluster name too long");
  });
});

describe("log query", () => {
  test("around alone means ten minutes on each side, half the limit before and half after", () => {
    const r = parseLogQuery("edge", q("around=2026-03-10T11:00:00Z&node=lb1&limit=40"), NOW);
    const at = Date.parse("2026-03-10T11:00:00Z");
    assert.deepEqual(r, { ok: true, query: { cluster: "edge", from: at - 600_000, to: at + 600_000, around: at, node: "lb1", limit: 40 } });
  });

  test("limit defaults to 200 and may not pass 2000; around must lie inside the range", () => {
    const r = parseLogQuery("edge", q(""), NOW);
    assert.ok(r.ok && r.query.limit === 200 && r.query.around === null && r.query.node === null);
    assert.equal(parseLogQuery("edge", q("limit=2001"), NOW).ok, false);
    assert.equal(parseLogQuery("edge", q("limit=0"), NOW).ok, false);
    assert.equal(parseLogQuery("edge", q("from=2026-03-10T10:00:00Z&to=2026-03-10T10:30:00Z&around=2026-03-10T11:00:00Z"), NOW).ok, false);
  });
});
