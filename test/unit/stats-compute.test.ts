import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeClusterStats, type IncidentRow } from "../../server/stats/compute";
import type { StateRow } from "../../server/stats/failovers";
import { ClusterStats } from "../../server/stats/types";

const MIN = 60_000;
const T0 = Date.parse("2024-05-01T00:00:00Z");
const at = (minutes: number) => T0 + minutes * MIN;

const inc = (kind: string, severity: string, vrid: number | null, from: number, to: number | null, instances = {}): IncidentRow => ({
  kind,
  severity,
  vrid,
  instances,
  openedAt: at(from),
  closedAt: to === null ? null : at(to),
});
const st = (minutes: number, node: string, state: string, vrid = 51): StateRow => ({ node, instance: "VI_1", vrid, state, ts: at(minutes) });

const base = { cluster: "shop", from: at(0), to: at(60), now: at(120), before: [] as StateRow[], rows: [] as StateRow[] };

describe("per-range cluster statistics", () => {
  it("adds up time without MASTER as the union of NO_MASTER incidents clipped to the range", () => {
    const s = computeClusterStats({
      ...base,
      incidents: [
        inc("NO_MASTER", "critical", 51, -10, 5), // 5 min inside
        inc("NO_MASTER", "critical", 52, 3, 8), // overlaps the first: union 0..8
        inc("NO_MASTER", "critical", 51, 50, 70), // 10 min inside
        inc("FAULT", "critical", 51, 20, 30), // another kind: not counted
      ],
    });
    assert.equal(s.noMasterMs, 18 * MIN);
    assert.equal(s.splitBrainMs, 0);
    const v51 = s.vrids.find((v) => v.vrid === 51)!;
    const v52 = s.vrids.find((v) => v.vrid === 52)!;
    assert.equal(v51.noMasterMs, 15 * MIN);
    assert.equal(v52.noMasterMs, 5 * MIN);
  });

  it("counts an open split brain until now when now is inside the range", () => {
    const s = computeClusterStats({ ...base, now: at(40), incidents: [inc("DUAL_MASTER", "critical", 51, 30, null)] });
    assert.equal(s.splitBrainMs, 10 * MIN);
    const later = computeClusterStats({ ...base, now: at(500), incidents: [inc("DUAL_MASTER", "critical", 51, 30, null)] });
    assert.equal(later.splitBrainMs, 30 * MIN, "until the range end when now is after it");
  });

  it("takes MTTR over critical incidents closed inside the range, whenever they opened", () => {
    const s = computeClusterStats({
      ...base,
      incidents: [
        inc("FAULT", "critical", 51, -20, 10), // 30 min
        inc("DUAL_MASTER", "critical", 51, 40, 50), // 10 min
        inc("FLAPPING", "warning", 51, 5, 15), // not critical
        inc("NO_MASTER", "critical", 51, 55, 90), // closes after the range
        inc("FAULT", "critical", 52, 58, null), // still open
      ],
    });
    assert.equal(s.recovered, 2);
    assert.equal(s.mttrMs, 20 * MIN);
  });

  it("has no MTTR when no critical incident closed in the range", () => {
    const s = computeClusterStats({ ...base, incidents: [inc("FAULT", "critical", 51, 30, null), inc("FLAPPING", "warning", 51, 1, 2)] });
    assert.equal(s.mttrMs, null);
    assert.equal(s.recovered, 0);
  });

  it("counts incidents overlapping the range by kind and ignores the others", () => {
    const s = computeClusterStats({
      ...base,
      incidents: [
        inc("FAULT", "critical", 51, 1, 2),
        inc("FAULT", "critical", 52, 59, null),
        inc("AGENT_OFFLINE", "warning", null, -30, -20), // before the range
        inc("CONFIG_DRIFT", "warning", 51, 61, null), // after it
      ],
    });
    assert.deepEqual(s.incidents, { FAULT: 2 });
  });

  it("counts failovers from state rows, per VRID and in total", () => {
    const s = computeClusterStats({
      ...base,
      incidents: [],
      before: [st(-5, "a", "MASTER")],
      rows: [st(10, "a", "FAULT"), st(10.05, "b", "MASTER"), st(20, "c", "MASTER", 52), st(30, "b", "MASTER", 52), st(31, "c", "BACKUP", 52)],
    });
    assert.equal(s.failovers, 2);
    assert.deepEqual(
      s.vrids.map((v) => [v.group, v.failovers]),
      [
        ["51", 1],
        ["52", 1],
      ],
    );
  });

  it("groups incidents without a VRID by their instance name", () => {
    const s = computeClusterStats({ ...base, incidents: [inc("NO_MASTER", "critical", null, 0, 6, { a: "VI_9", b: "VI_9" })] });
    assert.deepEqual(s.vrids, [{ group: "VI_9", vrid: null, failovers: 0, noMasterMs: 6 * MIN, splitBrainMs: 0 }]);
  });

  it("produces a result that matches the API schema", () => {
    const s = computeClusterStats({ ...base, incidents: [inc("DUAL_MASTER", "critical", 51, 1, 3)], rows: [st(1, "a", "MASTER")] });
    assert.equal(ClusterStats.safeParse(s).success, true);
  });
});
