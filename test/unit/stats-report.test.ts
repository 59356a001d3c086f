/**
 * The cluster report (server/stats/report.ts): on many random histories, its totals are the /api/stats
 * figures (computeClusterStats on the same input), its UTC days add up to them exactly, and availability
 * follows its definition (1 - union of NO_MASTER, DUAL_MASTER, STATE_MISMATCH of the virtual router over
 * the observed range); plus the cases that pin each definition down.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeClusterStats } from "../../server/stats/compute";
import type { StateRow } from "../../server/stats/failovers";
import { computeReport, DAY_MS, utcDays, type ReportInput } from "../../server/stats/report";
import { unionDuration } from "../../server/stats/intervals";

const MIN = 60_000;
const T0 = Date.parse("2024-05-01T00:00:00Z");
const KINDS = ["NO_MASTER", "DUAL_MASTER", "STATE_MISMATCH", "FAULT", "FLAPPING", "AGENT_OFFLINE"];

/** a small deterministic generator (mulberry32) */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInput(seed: number): ReportInput {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  // a range of 1 to 9 days starting at any minute, "now" before, inside or after it
  const from = T0 + Math.floor(r() * 3 * 24 * 60) * MIN;
  const to = from + Math.floor((1 + r() * 8) * DAY_MS);
  const now = pick([to + DAY_MS, from + Math.floor(r() * (to - from)), to]);
  const incidents = Array.from({ length: Math.floor(r() * 25) }, () => {
    const openedAt = from + Math.floor((r() * 1.2 - 0.1) * (to - from));
    const closedAt = r() < 0.15 ? null : openedAt + Math.floor(r() * 6 * 3600_000);
    return { kind: pick(KINDS), severity: pick(["critical", "warning"]), vrid: pick([51, 52, null]), instances: { a: pick(["VI_1", "VI_2"]) }, openedAt, closedAt, causeCode: pick(["link_down", "auth_mismatch", "peer_lost"]) };
  }).filter((i) => i.openedAt <= now);
  const rows: StateRow[] = [];
  for (let t = from - 3600_000; t < to + 3600_000; t += Math.floor(r() * 8 * 3600_000)) {
    rows.push({ node: pick(["a", "b", "c"]), instance: "VI_1", vrid: pick([51, 52]), state: pick(["MASTER", "MASTER", "BACKUP", "FAULT"]), ts: t });
  }
  return { cluster: "c", from, to, now, incidents, before: rows.filter((x) => x.ts < from), rows: rows.filter((x) => x.ts >= from) };
}

describe("cluster report", () => {
  it("on 300 random histories: totals are the /api/stats figures and the UTC days add up to them", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const input = randomInput(seed);
      const rep = computeReport(input);
      const where = `seed ${seed}`;
      assert.deepEqual(rep.totals, computeClusterStats(input), where);
      const sum = (f: (d: (typeof rep.days)[number]) => number) => rep.days.reduce((n, d) => n + f(d), 0);
      assert.equal(sum((d) => d.failovers), rep.totals.failovers, `${where}: failovers`);
      assert.equal(sum((d) => d.noMasterMs), rep.totals.noMasterMs, `${where}: no master`);
      assert.equal(sum((d) => d.splitBrainMs), rep.totals.splitBrainMs, `${where}: split brain`);
      assert.equal(sum((d) => d.recovered), rep.totals.recovered, `${where}: recovered`);
      // the days cover the range without gaps or overlaps, each within one UTC day
      assert.equal(rep.days[0]!.from, rep.from, where);
      assert.equal(rep.days.at(-1)!.to, rep.to, where);
      for (let i = 1; i < rep.days.length; i++) assert.equal(rep.days[i]!.from, rep.days[i - 1]!.to, where);
      for (const d of rep.days) assert.equal(Math.floor(Date.parse(d.from) / DAY_MS), Math.floor((Date.parse(d.to) - 1) / DAY_MS), `${where}: ${d.from}..${d.to}`);
      // availability, by its definition
      const observed = Math.max(0, Math.min(input.now, input.to) - input.from);
      assert.equal(rep.observedMs, observed, where);
      for (const v of rep.vrids) {
        const down = input.incidents
          .filter((i) => ["NO_MASTER", "DUAL_MASTER", "STATE_MISMATCH"].includes(i.kind))
          .filter((i) => (i.vrid === null ? Object.values(i.instances ?? {})[0] : String(i.vrid)) === v.group)
          .map((i) => ({ from: i.openedAt, to: i.closedAt }));
        const ms = unionDuration(down, input.from, input.to, Math.max(input.from, Math.min(input.now, input.to)));
        assert.equal(v.unavailableMs, ms, `${where}: ${v.group}`);
        assert.equal(v.availability, observed > 0 ? 1 - ms / observed : null, `${where}: ${v.group}`);
      }
      const causes = rep.causes.reduce((n, c) => n + c.count, 0);
      assert.equal(causes, Object.values(rep.totals.incidents).reduce((n, c) => n + (c ?? 0), 0), `${where}: causes`);
    }
  });

  it("availability: a split brain and a VIP held by nobody count, a FAULT on a BACKUP does not; open incidents run until now", () => {
    const from = T0;
    const to = T0 + 100 * MIN;
    const rep = computeReport({
      cluster: "c", from, to, now: T0 + 80 * MIN, before: [], rows: [],
      incidents: [
        { kind: "DUAL_MASTER", severity: "critical", vrid: 51, openedAt: from + 10 * MIN, closedAt: from + 20 * MIN, causeCode: "peer_lost" },
        { kind: "STATE_MISMATCH", severity: "warning", vrid: 51, openedAt: from + 15 * MIN, closedAt: from + 25 * MIN, causeCode: "vip_missing" },
        { kind: "FAULT", severity: "warning", vrid: 51, openedAt: from + 30 * MIN, closedAt: from + 40 * MIN, causeCode: "link_down" },
        { kind: "NO_MASTER", severity: "critical", vrid: 52, openedAt: from + 60 * MIN, closedAt: null, causeCode: "link_down" },
      ],
    });
    const v51 = rep.vrids.find((v) => v.vrid === 51)!;
    const v52 = rep.vrids.find((v) => v.vrid === 52)!;
    assert.equal(v51.unavailableMs, 15 * MIN); // 10..25, the overlap once
    assert.equal(v51.availability, 1 - 15 / 80); // of the 80 minutes observed so far
    assert.equal(v52.unavailableMs, 20 * MIN); // 60..now
    assert.deepEqual(rep.causes, [{ code: "link_down", count: 2 }, { code: "peer_lost", count: 1 }, { code: "vip_missing", count: 1 }]);
  });

  it("cuts a range at UTC midnights", () => {
    const d = utcDays(Date.parse("2024-05-01T22:00:00Z"), Date.parse("2024-05-03T01:00:00Z"));
    assert.deepEqual(d.map((x) => [new Date(x.from).toISOString(), new Date(x.to).toISOString()]), [
      ["2024-05-01T22:00:00.000Z", "2024-05-02T00:00:00.000Z"],
      ["2024-05-02T00:00:00.000Z", "2024-05-03T00:00:00.000Z"],
      ["2024-05-03T00:00:00.000Z", "2024-05-03T01:00:00.000Z"],
    ]);
  });
});
