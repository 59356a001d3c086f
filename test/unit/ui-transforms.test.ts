import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClusterSummary } from "../../server/protocol";
import {
  backoffDelay,
  countByStatus,
  formatSkew,
  nodesOnline,
  pageTitle,
  sortClusters,
  sortInstances,
  sortNodes,
  vipMismatch,
  worstStatus,
} from "../../components/overview/transforms";

type Node = ClusterSummary["nodes"][number];
type Instance = Node["instances"][number];

const cluster = (name: string, status: ClusterSummary["status"], nodes: Node[] = []): ClusterSummary => ({
  name,
  status,
  nodes,
  openIncidents: 0,
});
const node = (name: string, online = true, instances: Instance[] = []): Node => ({
  name,
  online,
  lastSeen: null,
  instances,
});
const inst = (name: string, vrid: number | null): Instance => ({ name, vrid, state: "BACKUP", vips: [] });

describe("sortClusters", () => {
  test("puts critical before warning before ok, then orders by name", () => {
    const sorted = sortClusters([
      cluster("b-ok", "ok"),
      cluster("z-warn", "warning"),
      cluster("a-ok", "ok"),
      cluster("m-crit", "critical"),
      cluster("a-warn", "warning"),
    ]);
    assert.deepEqual(
      sorted.map((c) => c.name),
      ["m-crit", "a-warn", "z-warn", "a-ok", "b-ok"],
    );
  });

  test("orders names naturally (lb2 before lb10) and leaves the input untouched", () => {
    const input = [cluster("lb10", "ok"), cluster("lb2", "ok"), cluster("lb1", "ok")];
    assert.deepEqual(
      sortClusters(input).map((c) => c.name),
      ["lb1", "lb2", "lb10"],
    );
    assert.deepEqual(
      input.map((c) => c.name),
      ["lb10", "lb2", "lb1"],
    );
  });
});

test("sortNodes orders nodes by natural name", () => {
  assert.deepEqual(
    sortNodes([node("node10"), node("node9"), node("Node1")]).map((n) => n.name),
    ["Node1", "node9", "node10"],
  );
});

test("sortInstances orders by VRID, unknown VRIDs last, ties by name", () => {
  const sorted = sortInstances([inst("VI_X", null), inst("VI_B", 51), inst("VI_A", 51), inst("VI_C", 7)]);
  assert.deepEqual(
    sorted.map((i) => i.name),
    ["VI_C", "VI_A", "VI_B", "VI_X"],
  );
});

describe("worstStatus", () => {
  test("returns the worst status present", () => {
    assert.equal(worstStatus(["ok", "warning", "ok"]), "warning");
    assert.equal(worstStatus(["warning", "critical", "ok"]), "critical");
    assert.equal(worstStatus(["ok"]), "ok");
  });
  test("is ok when there is nothing", () => {
    assert.equal(worstStatus([]), "ok");
  });
});

test("countByStatus counts clusters per status", () => {
  assert.deepEqual(countByStatus([cluster("a", "ok"), cluster("b", "critical"), cluster("c", "ok")]), {
    critical: 1,
    warning: 0,
    ok: 2,
  });
});

test("nodesOnline counts connected agents out of all nodes", () => {
  assert.deepEqual(nodesOnline(cluster("a", "ok", [node("n1"), node("n2", false), node("n3")])), { online: 2, total: 3 });
  assert.deepEqual(nodesOnline(cluster("a", "ok")), { online: 0, total: 0 });
});

test("pageTitle leads with the number of critical, else warning clusters", () => {
  assert.equal(pageTitle([cluster("a", "critical"), cluster("b", "critical"), cluster("c", "warning")], "T"), "(2 critical) T");
  assert.equal(pageTitle([cluster("a", "warning"), cluster("c", "ok")], "T"), "(1 warning) T");
  assert.equal(pageTitle([cluster("a", "ok")], "T"), "T");
});

test("backoffDelay doubles from 1 s and is capped", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 50].map((a) => backoffDelay(a)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
  assert.equal(backoffDelay(-3), 1000);
  assert.equal(backoffDelay(2, 100, 250), 250);
});

describe("vipMismatch", () => {
  test("flags a MASTER that does not hold its VIP", () => {
    assert.equal(vipMismatch("MASTER", false), "missing");
    assert.equal(vipMismatch("MASTER", true), null);
  });
  test("flags a VIP held by an instance that is not MASTER", () => {
    assert.equal(vipMismatch("BACKUP", true), "unexpected");
    assert.equal(vipMismatch("FAULT", true), "unexpected");
    assert.equal(vipMismatch("BACKUP", false), null);
  });
  test("says nothing when the state is unknown", () => {
    assert.equal(vipMismatch("UNKNOWN", true), null);
    assert.equal(vipMismatch("UNKNOWN", false), null);
  });
});

describe("formatSkew", () => {
  test("says nothing for network delay and NTP noise", () => {
    for (const v of [0, 1999, -1999, null, undefined, Number.NaN]) assert.equal(formatSkew(v), null);
  });
  test("names the size and the direction", () => {
    assert.equal(formatSkew(2000), "clock 2 s ahead");
    assert.equal(formatSkew(-45_400), "clock 45 s behind");
    assert.equal(formatSkew(5 * 60_000 + 20_000), "clock 5 min 20 s ahead");
    assert.equal(formatSkew(-3 * 3600_000), "clock 3 h behind");
    assert.equal(formatSkew(40 * 86_400_000 + 3600_000), "clock 40 d 1 h ahead");
  });
});
