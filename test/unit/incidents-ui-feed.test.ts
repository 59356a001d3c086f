import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyIncidentPush, feedReducer, initialFeed, sortIncidents } from "../../components/incidents/feed";
import { NO_FILTERS } from "../../components/incidents/filters";
import { incident } from "../helpers/incident";


const ids = (l: { id: string }[]) => l.map((i) => i.id);

describe("incident list updates", () => {
  it("sorts newest first, then by id as a number", () => {
    const l = sortIncidents([
      incident({ id: "9", openedAt: "2024-05-01T10:00:00Z" }),
      incident({ id: "10", openedAt: "2024-05-01T11:00:00Z" }),
      incident({ id: "11", openedAt: "2024-05-01T11:00:00Z" }),
    ]);
    assert.deepEqual(ids(l), ["11", "10", "9"]);
  });

  it("adds a pushed incident that matches, replaces a known one, and drops one that stops matching", () => {
    const list = [incident({ id: "1", openedAt: "2024-05-01T10:00:00Z" })];
    const added = applyIncidentPush(list, { change: "opened", incident: incident({ id: "2", openedAt: "2024-05-01T11:00:00Z" }) }, NO_FILTERS);
    assert.deepEqual(ids(added), ["2", "1"]);
    const closed = incident({ id: "2", openedAt: "2024-05-01T11:00:00Z", closedAt: "2024-05-01T11:05:00Z" });
    const replaced = applyIncidentPush(added, { change: "closed", incident: closed }, NO_FILTERS);
    assert.deepEqual(ids(replaced), ["2", "1"]);
    assert.equal(replaced[0]!.closedAt, closed.closedAt);
    const openOnly = applyIncidentPush(added, { change: "closed", incident: closed }, { ...NO_FILTERS, open: true });
    assert.deepEqual(ids(openOnly), ["1"], "a closed incident leaves an open-only list");
    const otherCluster = applyIncidentPush(list, { change: "opened", incident: incident({ id: "3", cluster: "x" }) }, { ...NO_FILTERS, cluster: "shop" });
    assert.deepEqual(ids(otherCluster), ["1"]);
  });

  it("marks pushed arrivals as new, validates pushes and counts invalid ones", () => {
    let s = initialFeed(NO_FILTERS, [incident({ id: "1", openedAt: "2024-05-01T10:00:00Z" })], 1000);
    s = feedReducer(s, { type: "push", raw: { change: "opened", incident: incident({ id: "2" }) }, at: 2000 });
    assert.deepEqual(ids(s.incidents), ["2", "1"]);
    assert.deepEqual(s.arrived, { "2": 2000 });
    assert.equal(s.lastUpdate, 2000);
    s = feedReducer(s, { type: "push", raw: { change: "opened", incident: { id: 3 } }, at: 3000 });
    assert.equal(s.invalidPushes, 1);
    assert.deepEqual(ids(s.incidents), ["2", "1"]);
  });

  it("re-applies pushes that arrived while a snapshot was loading", () => {
    let s = initialFeed(NO_FILTERS);
    assert.equal(s.loaded, false);
    s = feedReducer(s, { type: "fetchStart" });
    const pushed = incident({ id: "5", openedAt: "2024-05-01T13:00:00Z" });
    s = feedReducer(s, { type: "push", raw: { change: "opened", incident: pushed }, at: 10 });
    s = feedReducer(s, { type: "fetchOk", incidents: [incident({ id: "4", openedAt: "2024-05-01T09:00:00Z" })], at: 20 });
    assert.deepEqual(ids(s.incidents), ["5", "4"]);
    assert.equal(s.loaded, true);
    assert.equal(s.pending, null);
  });

  it("on a filter change keeps only what still matches until the new snapshot lands", () => {
    let s = initialFeed(NO_FILTERS, [incident({ id: "1" }), incident({ id: "2", cluster: "other" })], 0);
    s = feedReducer(s, { type: "filters", filters: { ...NO_FILTERS, cluster: "other" } });
    assert.deepEqual(ids(s.incidents), ["2"]);
  });
});
