import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  filtersToSearch,
  incidentsApiUrl,
  matchesFilters,
  NO_FILTERS,
  parseFilters,
  reviewHref,
  statsApiUrl,
  statsRange,
  type IncidentFilters,
} from "../../components/incidents/filters";
import { incident } from "../helpers/incident";


describe("incident review filters in the URL", () => {
  it("round-trips every filter through the query string", () => {
    const f: IncidentFilters = {
      cluster: "shop lb/eu",
      kind: "NO_MASTER",
      open: false,
      from: "2024-05-01T00:00:00.000Z",
      to: "2024-05-02T00:00:00.000Z",
    };
    const qs = filtersToSearch(f);
    const back = parseFilters(new URLSearchParams(qs));
    assert.deepEqual(back, { filters: f, problems: [] });
    assert.equal(reviewHref(f), `/incidents?${qs}`);
    assert.equal(incidentsApiUrl(f), `/api/incidents?${qs}`, "the page and the API use the same names");
  });

  it("writes no query string without filters", () => {
    assert.equal(filtersToSearch(NO_FILTERS), "");
    assert.equal(reviewHref(NO_FILTERS), "/incidents");
    assert.deepEqual(parseFilters(new URLSearchParams("")), { filters: NO_FILTERS, problems: [] });
  });

  it("reads Next's searchParams object form too (first value of a repeated key)", () => {
    const { filters } = parseFilters({ cluster: ["a", "b"], open: "true", kind: undefined });
    assert.equal(filters.cluster, "a");
    assert.equal(filters.open, true);
    assert.equal(filters.kind, null);
  });

  it("normalises times to UTC ISO", () => {
    const { filters } = parseFilters(new URLSearchParams("from=2024-05-01T02:00:00%2B02:00"));
    assert.equal(filters.from, "2024-05-01T00:00:00.000Z");
  });

  it("drops unusable values and says which", () => {
    const { filters, problems } = parseFilters(new URLSearchParams("kind=NOPE&open=maybe&from=yesterday&cluster=shop"));
    assert.deepEqual(filters, { ...NO_FILTERS, cluster: "shop" });
    assert.equal(problems.length, 3);
    assert.match(problems.join(" "), /kind/);
    assert.match(problems.join(" "), /open/);
    assert.match(problems.join(" "), /from/);
  });

  it("ignores an inverted range", () => {
    const { filters, problems } = parseFilters(new URLSearchParams("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z"));
    assert.equal(filters.from, null);
    assert.equal(filters.to, null);
    assert.equal(problems.length, 1);
  });
});

describe("which incidents match the filters", () => {
  const inc = incident({ id: "1", openedAt: "2024-05-01T12:00:00.000Z", closedAt: "2024-05-01T12:10:00.000Z" });
  it("matches on cluster, kind and open/resolved", () => {
    assert.equal(matchesFilters(inc, NO_FILTERS), true);
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, cluster: "shop" }), true);
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, cluster: "other" }), false);
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, kind: "DUAL_MASTER" }), true);
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, kind: "FAULT" }), false);
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, open: true }), false);
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, open: false }), true);
    assert.equal(matchesFilters({ ...inc, closedAt: null }, { ...NO_FILTERS, open: true }), true);
  });

  it("keeps incidents overlapping the range, like the API", () => {
    const at = (t: string) => `2024-05-01T${t}:00.000Z`;
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, from: at("12:05"), to: at("13:00") }), true, "closed inside");
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, from: at("12:11") }), false, "closed before the range");
    assert.equal(matchesFilters(inc, { ...NO_FILTERS, to: at("11:59") }), false, "opened after the range");
    assert.equal(matchesFilters({ ...inc, closedAt: null }, { ...NO_FILTERS, from: at("18:00") }), true, "still open");
  });
});

describe("statistics range", () => {
  const now = Date.parse("2024-05-03T00:00:00Z");
  it("uses the filter's range, else the last 24 hours", () => {
    assert.deepEqual(statsRange(NO_FILTERS, now), { from: "2024-05-02T00:00:00.000Z", to: "2024-05-03T00:00:00.000Z" });
    assert.deepEqual(statsRange({ ...NO_FILTERS, from: "2024-04-01T00:00:00.000Z" }, now), {
      from: "2024-04-01T00:00:00.000Z",
      to: "2024-05-03T00:00:00.000Z",
    });
    const url = new URL(statsApiUrl({ ...NO_FILTERS, cluster: "shop", kind: "FAULT" }, now), "http://x");
    assert.equal(url.pathname, "/api/stats");
    assert.equal(url.searchParams.get("cluster"), "shop");
    assert.equal(url.searchParams.get("kind"), null, "stats are per cluster, not per kind");
    assert.equal(url.searchParams.get("to"), "2024-05-03T00:00:00.000Z");
  });
});
