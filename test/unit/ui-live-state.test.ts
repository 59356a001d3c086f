import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClusterSummary } from "../../server/protocol";
import { initialLiveState, liveReducer, type LiveAction, type LiveState } from "../../components/live/liveState";

const summary = (name: string, state: "MASTER" | "BACKUP" | "FAULT" = "MASTER"): ClusterSummary => ({
  name,
  status: state === "FAULT" ? "critical" : "ok",
  openIncidents: state === "FAULT" ? 1 : 0,
  nodes: [
    {
      name: "lb1",
      online: true,
      lastSeen: "2026-11-23T18:53:53.000Z",
      instances: [{ name: "VI_1", vrid: 51, state, priority: 100, vips: [{ address: "198.18.0.100/24", held: true }] }],
    },
  ],
});

const run = (actions: LiveAction[], from: LiveState = initialLiveState()) => actions.reduce(liveReducer, from);
const stateOf = (s: LiveState, cluster: string) => s.clusters[cluster]?.nodes[0]?.instances[0]?.state;

describe("liveReducer", () => {
  test("a snapshot replaces all clusters and marks the view loaded", () => {
    const s = run([
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("a"), summary("b")], at: 10 },
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("b", "BACKUP")], at: 20 },
    ]);
    assert.equal(s.loaded, true);
    assert.deepEqual(Object.keys(s.clusters), ["b"]);
    assert.equal(stateOf(s, "b"), "BACKUP");
    assert.equal(s.lastUpdate, 20);
  });

  test("a push replaces its cluster and adds unknown clusters", () => {
    const s = run([
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("a")], at: 1 },
      { type: "push", raw: summary("a", "FAULT"), at: 2 },
      { type: "push", raw: summary("new"), at: 3 },
    ]);
    assert.equal(stateOf(s, "a"), "FAULT");
    assert.equal(stateOf(s, "new"), "MASTER");
    assert.equal(s.lastUpdate, 3);
  });

  test("a push received while the snapshot is in flight wins over that snapshot", () => {
    const s = run([
      { type: "fetchStart" },
      { type: "push", raw: summary("a", "FAULT"), at: 5 },
      // the snapshot was read before the change and arrives later
      { type: "fetchOk", clusters: [summary("a", "MASTER"), summary("b")], at: 6 },
    ]);
    assert.equal(stateOf(s, "a"), "FAULT");
    assert.equal(stateOf(s, "b"), "MASTER");
    assert.equal(s.pushedDuringFetch, null);
  });

  test("pushes before a later snapshot request do not override it", () => {
    const s = run([
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("a")], at: 1 },
      { type: "push", raw: summary("a", "FAULT"), at: 2 },
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("a", "BACKUP")], at: 3 },
    ]);
    assert.equal(stateOf(s, "a"), "BACKUP");
  });

  test("invalid pushes are ignored and counted, with the reason kept", () => {
    const before = run([
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("a")], at: 1 },
    ]);
    const s = run(
      [
        { type: "push", raw: { name: "a", status: "on fire" }, at: 2 },
        { type: "push", raw: null, at: 3 },
        { type: "push", raw: { ...summary("a"), nodes: [{ name: "x" }] }, at: 4 },
      ],
      before,
    );
    assert.equal(s.invalidPushes, 3);
    assert.ok(s.lastInvalid && s.lastInvalid.length > 0);
    assert.deepEqual(s.clusters, before.clusters);
    assert.equal(s.lastUpdate, 1);
  });

  test("a failed snapshot keeps the data shown and records why and when it is retried", () => {
    const s = run([
      { type: "fetchStart" },
      { type: "fetchOk", clusters: [summary("a")], at: 1 },
      { type: "fetchStart" },
      { type: "fetchFail", reason: "HTTP 503", retryAt: 2000 },
    ]);
    assert.deepEqual(s.fetchError, { reason: "HTTP 503", retryAt: 2000 });
    assert.equal(stateOf(s, "a"), "MASTER");
    const ok = run([{ type: "fetchOk", clusters: [summary("a")], at: 3 }], s);
    assert.equal(ok.fetchError, null);
  });
});
