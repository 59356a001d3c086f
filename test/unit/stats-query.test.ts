import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_RANGE_MS, parseStatsQuery } from "../../server/stats/query";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const parse = (qs: string) => parseStatsQuery(new URLSearchParams(qs), NOW);

describe("GET /api/stats query", () => {
  it("defaults to the last 24 hours", () => {
    const r = parse("");
    assert.ok(r.ok);
    assert.equal(r.query.to, NOW);
    assert.equal(r.query.from, NOW - DEFAULT_RANGE_MS);
    assert.equal(r.query.cluster, undefined);
  });

  it("reads cluster, from and to", () => {
    const r = parse("cluster=shop&from=2024-04-30T00:00:00Z&to=2024-05-01T00:00:00.000Z");
    assert.ok(r.ok);
    assert.deepEqual(r.query, { cluster: "shop", from: Date.parse("2024-04-30T00:00:00Z"), to: Date.parse("2024-05-01T00:00:00Z") });
  });

  it("refuses bad times, an empty or inverted range and an over-long one with invalid_message", () => {
    for (const qs of ["from=yesterday", "to=2024-13-45", "from=2024-05-01T00:00:00Z&to=2024-05-01T00:00:00Z", "from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "from=2020-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "cluster="]) {
      const r = parse(qs);
      assert.equal(r.ok, false, qs);
      if (!r.ok) {
        assert.equal(r.error.code, "invalid_message");
        assert.ok(r.error.message.length > 0);
      }
    }
  });
});
