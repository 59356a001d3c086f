import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClusterSummary, IncidentMsg } from "../../server/protocol";
import type { DataGap, TimelineLane, TimelineResponse } from "../../server/timeline/types";
import { clockTickMs, fixedRange, liveRefreshMs, MIN_SPAN_MS, pan, parseRange, rangeQuery, windowOf, zoom } from "../../components/timeline/range";
import {
  applyLiveSummary,
  gapSpan,
  gapSummary,
  groupLanes,
  incidentAt,
  incidentTouchesLane,
  incidentTrack,
  laneStrip,
  segmentAt,
  timeTicks,
  upsertIncident,
  xScale,
} from "../../components/timeline/transforms";
import { STATE_PAINT, SEVERITY_PAINT, utilityColour } from "../../components/paint";
import { STATE_LOOK } from "../../components/status";

const NOW = Date.parse("2026-03-10T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

describe("range in the URL", () => {
  test("a preset is a live range that ends now", () => {
    const spec = parseRange(new URLSearchParams("range=24h"));
    assert.deepEqual(spec, { kind: "live", preset: "24h" });
    assert.deepEqual(windowOf(spec, NOW), { from: NOW - 86_400_000, to: NOW });
  });

  test("a fixed range round-trips through the query string, other parameters kept", () => {
    const spec = { kind: "fixed" as const, from: NOW - 3600_000, to: NOW - 600_000 };
    const q = rangeQuery(spec, new URLSearchParams("range=1h&foo=bar"));
    const back = new URLSearchParams(q);
    assert.equal(back.get("foo"), "bar");
    assert.equal(back.has("range"), false);
    assert.deepEqual(parseRange(back), spec);
    assert.equal(rangeQuery({ kind: "live", preset: "7d" }, back), "foo=bar&range=7d");
  });

  test("anything unusable falls back to the last hour, live", () => {
    for (const q of ["", "range=2y", "from=nope&to=2026-01-01T00:00:00Z", `from=${iso(NOW)}&to=${iso(NOW - 1)}`, `from=${iso(NOW - 40 * 86_400_000)}&to=${iso(NOW)}`]) {
      assert.deepEqual(parseRange(new URLSearchParams(q)), { kind: "live", preset: "1h" }, q);
    }
  });

  test("a zoom selection never reaches past now and never goes below the minimum span", () => {
    assert.deepEqual(fixedRange(NOW - 1000, NOW + 60_000, NOW), { kind: "fixed", from: NOW - 61_000, to: NOW });
    const tiny = fixedRange(NOW - 100_000, NOW - 99_000, NOW);
    assert.equal(tiny.kind === "fixed" && tiny.to - tiny.from, MIN_SPAN_MS);
    assert.deepEqual(fixedRange(NOW - 10_000, NOW - 50_000, NOW), { kind: "fixed", from: NOW - 50_000, to: NOW - 10_000 }, "either drag direction");
  });

  test("panning moves by a fraction of the span; zooming out doubles it around the centre", () => {
    const spec = { kind: "fixed" as const, from: NOW - 4 * 3600_000, to: NOW - 2 * 3600_000 };
    assert.deepEqual(pan(spec, -0.5, NOW), { kind: "fixed", from: NOW - 5 * 3600_000, to: NOW - 3 * 3600_000 });
    assert.deepEqual(pan(spec, 2, NOW), { kind: "fixed", from: NOW - 2 * 3600_000, to: NOW }, "not past now");
    assert.deepEqual(zoom(spec, 2, NOW), { kind: "fixed", from: NOW - 5 * 3600_000, to: NOW - 3600_000 });
    assert.deepEqual(pan({ kind: "live", preset: "1h" }, -0.5, NOW), { kind: "fixed", from: NOW - 5400_000, to: NOW - 1800_000 });
  });

});

describe("the chart's clock", () => {
  test("a live range ticks once per pixel of time, between 1 s and 1 min; a fixed range every 30 s", () => {
    assert.equal(clockTickMs({ kind: "live", preset: "1h" }, 1658), 2171, "1 h over 1,658 px: a pixel every 2.2 s");
    assert.equal(clockTickMs({ kind: "live", preset: "15m" }, 1658), 1000, "faster than a second: every second");
    assert.equal(clockTickMs({ kind: "live", preset: "7d" }, 1658), 60_000, "a pixel every 6 min: every minute at most");
    assert.equal(clockTickMs({ kind: "live", preset: "24h" }, 0), 60_000, "not measured yet: no division by zero");
    assert.equal(clockTickMs({ kind: "fixed", from: 0, to: 3600_000 }, 1658), 30_000);
  });

  test("a live range reloads in full every two pixels of time, between 30 s and 5 min", () => {
    assert.equal(liveRefreshMs({ kind: "live", preset: "1h" }, 1658), 30_000);
    assert.equal(liveRefreshMs({ kind: "live", preset: "24h" }, 1658), 104_222);
    assert.equal(liveRefreshMs({ kind: "live", preset: "7d" }, 1658), 300_000);
    assert.equal(liveRefreshMs({ kind: "fixed", from: 0, to: 3600_000 }, 1658), 30_000, "fixed ranges do not reload on a timer (the hook ignores it)");
  });
});

describe("scales and ticks", () => {
  test("maps the window onto the pixels", () => {
    const x = xScale(1000, 2000, 500);
    assert.equal(x(1000), 0);
    assert.equal(x(1500), 250);
    assert.equal(x(2000), 500);
  });

  test("ticks fall on round times, inside the window, spaced for the width", () => {
    const from = NOW - 3600_000 + 17_000;
    const ticks = timeTicks(from, NOW, 1200);
    assert.ok(ticks.length >= 5 && ticks.length <= 13, `${ticks.length} ticks`);
    for (const t of ticks) {
      assert.ok(t.t >= from && t.t <= NOW);
      assert.equal(new Date(t.t).getUTCSeconds(), 0);
    }
    const step = ticks[1].t - ticks[0].t;
    assert.ok((step / 3600_000) * 1200 >= 96, "at least 96 px apart");
    const week = timeTicks(NOW - 7 * 86_400_000, NOW, 1200);
    assert.ok(week.every((t) => t.t % 86_400_000 === 0), "days start at midnight UTC");
  });
});

const lane = (node: string, vrid: number | null, instance = "VI_1", segments: TimelineLane["segments"] = []): TimelineLane => ({
  node, instance, vrid, segments, vipHeld: [], vips: ["198.18.0.100"], transitions: 0,
});

const incident = (over: Partial<IncidentMsg>): IncidentMsg => ({
  id: "1", cluster: "c", kind: "FAULT", severity: "critical", vrid: 51, instances: {}, nodes: ["a"], openedAt: iso(NOW - 600_000),
  closedAt: iso(NOW - 300_000), silenced: false, cause: { code: "x", summary: "y", evidence: [] }, ...over,
});

describe("incident overlays", () => {
  test("an incident concerns the lanes of its VRID on its nodes; one without VRID every lane of its nodes", () => {
    const fault = incident({ vrid: 51, nodes: ["a"] });
    assert.equal(incidentTouchesLane(fault, lane("a", 51)), true);
    assert.equal(incidentTouchesLane(fault, lane("b", 51)), false);
    assert.equal(incidentTouchesLane(fault, lane("a", 52)), false);
    const offline = incident({ kind: "AGENT_OFFLINE", vrid: null, nodes: ["b"] });
    assert.equal(incidentTouchesLane(offline, lane("b", 51)), true);
    assert.equal(incidentTouchesLane(offline, lane("b", 52)), true);
    assert.equal(incidentTouchesLane(offline, lane("a", 52)), false);
  });

  test("overlapping incidents go to separate rows; open ones run to now; those outside the window are left out", () => {
    const bands = incidentTrack(
      [
        incident({ id: "1", openedAt: iso(NOW - 50 * 60_000), closedAt: iso(NOW - 40 * 60_000) }),
        incident({ id: "2", openedAt: iso(NOW - 45 * 60_000), closedAt: null }),
        incident({ id: "3", openedAt: iso(NOW - 30 * 60_000), closedAt: iso(NOW - 20 * 60_000) }),
        incident({ id: "4", openedAt: iso(NOW - 5 * 3600_000), closedAt: iso(NOW - 4 * 3600_000) }),
      ],
      NOW - 3600_000,
      NOW,
      NOW,
      3000,
    );
    assert.deepEqual(bands.map((b) => [b.kind === "incident" ? b.incident.id : "group", b.row]), [["1", 0], ["2", 1], ["3", 0]]);
    assert.equal(bands[1].to, NOW);
  });

  test("a very short incident is widened so it stays visible", () => {
    const [b] = incidentTrack([incident({ openedAt: iso(NOW - 100_000), closedAt: iso(NOW - 99_999) })], NOW - 3600_000, NOW, NOW, 1000, { minPx: 5 });
    assert.equal(b.kind, "incident");
    assert.equal(b.to - b.from, 5000);
  });

  test("short incidents close together form one group with the worst severity; long ones stay alone", () => {
    const min = (n: number) => NOW - n * 60_000;
    const items = incidentTrack(
      [
        incident({ id: "1", severity: "warning", openedAt: iso(min(50)), closedAt: iso(min(50) + 1000) }),
        incident({ id: "2", severity: "critical", openedAt: iso(min(49.9)), closedAt: iso(min(49.9) + 500) }),
        incident({ id: "3", severity: "warning", openedAt: iso(min(49.8)), closedAt: iso(min(49.8) + 500) }),
        incident({ id: "4", severity: "warning", openedAt: iso(min(30)), closedAt: iso(min(30) + 500) }),
        incident({ id: "5", severity: "critical", openedAt: iso(min(49.85)), closedAt: iso(min(10)) }),
      ],
      NOW - 3600_000,
      NOW,
      NOW,
      3600_000 / 1200, // 3 s per pixel
    );
    const group = items.find((i) => i.kind === "group");
    assert.ok(group && group.kind === "group");
    assert.deepEqual(group.incidents.map((i) => i.id), ["1", "2", "3"]);
    assert.equal(group.severity, "critical");
    const singles = items.filter((i) => i.kind === "incident").map((i) => (i.kind === "incident" ? i.incident.id : ""));
    assert.deepEqual(singles.sort(), ["4", "5"], "a lone short incident and a long one are drawn as themselves");
    const long = items.find((i) => i.kind === "incident" && i.incident.id === "5")!;
    assert.notEqual(long.row, group.row, "overlapping items use different rows");
  });

  test("a lane's strip joins its incidents per severity and a click picks the worst there", () => {
    const l = lane("a", 51);
    const list = [
      incident({ id: "1", severity: "warning", openedAt: iso(NOW - 600_000), closedAt: iso(NOW - 500_000) }),
      incident({ id: "2", severity: "warning", openedAt: iso(NOW - 500_000), closedAt: iso(NOW - 400_000) }),
      incident({ id: "3", severity: "critical", openedAt: iso(NOW - 450_000), closedAt: iso(NOW - 420_000) }),
      incident({ id: "4", severity: "critical", vrid: 52, openedAt: iso(NOW - 450_000), closedAt: iso(NOW - 420_000) }),
    ];
    const strip = laneStrip(list, l, NOW - 3600_000, NOW, NOW, 1000);
    assert.deepEqual(strip.map((p) => [p.severity, p.ids, p.to - p.from]), [["warning", ["1", "2"], 200_000], ["critical", ["3"], 30_000]]);
    assert.equal(incidentAt(list, l, NOW - 430_000, NOW, 0)?.id, "3");
    assert.equal(incidentAt(list, l, NOW - 550_000, NOW, 0)?.id, "1");
    assert.equal(incidentAt(list, l, NOW - 100_000, NOW, 1000), null);
  });

  test("a live incident push replaces its earlier version or is added", () => {
    const list = [incident({ id: "1" }), incident({ id: "2" })];
    const closed = upsertIncident(list, incident({ id: "2", closedAt: iso(NOW) }));
    assert.equal(closed.length, 2);
    assert.equal(closed[1].closedAt, iso(NOW));
    assert.deepEqual(upsertIncident(list, incident({ id: "3" })).map((i) => i.id), ["3", "1", "2"]);
  });
});

describe("live updates of the fetched timeline", () => {
  const data = (lanes: TimelineLane[]): TimelineResponse => ({ from: iso(NOW - 3600_000), to: iso(NOW), now: iso(NOW), width: 1200, lanes, incidents: [], incidentsTruncated: false });
  const summary = (state: "MASTER" | "BACKUP" | "FAULT" | "UNKNOWN", held: boolean, extra: ClusterSummary["nodes"][number]["instances"] = []): ClusterSummary => ({
    name: "c", status: "ok", openIncidents: 0,
    nodes: [{ name: "a", online: true, lastSeen: null, instances: [{ name: "VI_1", vrid: 51, state, priority: 100, vips: [{ address: "198.18.0.100", held }] }, ...extra] }],
  });

  test("a changed state closes the open segment now and opens a new one", () => {
    const d = data([{ ...lane("a", 51, "VI_1", [{ state: "BACKUP", from: iso(NOW - 3600_000), to: null }]), vipHeld: [] }]);
    const next = applyLiveSummary(d, summary("MASTER", true), NOW + 5000);
    assert.deepEqual(next.lanes[0].segments, [
      { state: "BACKUP", from: iso(NOW - 3600_000), to: iso(NOW + 5000) },
      { state: "MASTER", from: iso(NOW + 5000), to: null },
    ]);
    assert.deepEqual(next.lanes[0].vipHeld, [{ from: iso(NOW + 5000), to: null }]);
    assert.equal(next.lanes[0].transitions, 1);
    const released = applyLiveSummary(next, summary("BACKUP", false), NOW + 9000);
    assert.deepEqual(released.lanes[0].vipHeld, [{ from: iso(NOW + 5000), to: iso(NOW + 9000) }]);
  });

  test("an unchanged summary leaves the data as it is (no re-render, no refetch)", () => {
    const d = data([{ ...lane("a", 51, "VI_1", [{ state: "MASTER", from: iso(NOW - 60_000), to: null }]), vipHeld: [{ from: iso(NOW - 60_000), to: null }] }]);
    assert.equal(applyLiveSummary(d, summary("MASTER", true), NOW), d);
  });

  test("an instance not drawn yet gets a lane; nothing known stays nothing", () => {
    const d = data([lane("a", 51, "VI_1", [{ state: "MASTER", from: iso(NOW - 60_000), to: null }])]);
    const extra = [{ name: "VI_2", vrid: 52, state: "BACKUP" as const, priority: 100, vips: [] }];
    const next = applyLiveSummary(d, summary("MASTER", false, extra), NOW);
    assert.equal(next.lanes.length, 2);
    assert.deepEqual(next.lanes[1].segments, [{ state: "BACKUP", from: iso(NOW), to: null }]);
    const unknown = applyLiveSummary(data([lane("a", 51)]), summary("UNKNOWN", false), NOW);
    assert.deepEqual(unknown.lanes[0].segments, []);
  });
});

describe("lanes and hit testing", () => {
  test("groups lanes by VRID and names the group by its instances", () => {
    const g = groupLanes([lane("a", 51, "web"), lane("b", 51, "web-b"), lane("a", 52, "db"), lane("a", null, "odd")]);
    assert.deepEqual(g.map((x) => [x.title, x.lanes.length]), [["VRID 51 · web, web-b", 2], ["VRID 52 · db", 1], ["odd (VRID unknown)", 1]]);
  });

  test("finds the segment under a time", () => {
    const l = lane("a", 51, "VI_1", [
      { state: "BACKUP", from: iso(NOW - 300), to: iso(NOW - 200) },
      { state: "MASTER", from: iso(NOW - 200), to: null },
    ]);
    assert.equal(segmentAt(l, NOW - 250, NOW), 0);
    assert.equal(segmentAt(l, NOW - 200, NOW), 1);
    assert.equal(segmentAt(l, NOW - 400, NOW), -1);
    assert.equal(segmentAt(l, NOW + 1, NOW), -1);
  });
});

describe("timeline paint follows components/status.ts", () => {
  test("every state's fill, text and outline come from its badge's colours, light and dark", () => {
    for (const [state, look] of Object.entries(STATE_LOOK)) {
      const bg = utilityColour(look.badge, "bg");
      assert.ok(bg, `${state} badge has a background colour`);
      const paint = STATE_PAINT[state as keyof typeof STATE_PAINT];
      assert.ok(paint.fill.includes(`--color-${bg.light}`) && paint.fill.includes(`--color-${bg.dark}`), `${state}: ${paint.fill}`);
      assert.ok(utilityColour(look.badge, "text") && utilityColour(look.badge, "ring"), `${state} has text and ring colours`);
    }
    for (const p of Object.values(SEVERITY_PAINT)) assert.match(p.fill, /var\(--color-/);
  });

  test("reads light and dark colours and ignores sizes and other variants", () => {
    assert.deepEqual(utilityColour("bg-red-600 text-white ring-1 ring-red-700 dark:bg-red-500 hover:bg-red-700", "bg"), { light: "red-600", dark: "red-500" });
    assert.deepEqual(utilityColour("ring-1 ring-sky-400 dark:ring-sky-600", "ring"), { light: "sky-400", dark: "sky-600" });
    assert.deepEqual(utilityColour("text-white", "text"), { light: "white", dark: "white" });
    assert.equal(utilityColour("hatched", "bg"), null);
  });
});

describe("data gaps", () => {
  const g = (over: Partial<DataGap> = {}): DataGap => ({
    node: "lb2", at: "2026-11-23T10:05:50.000Z", since: "2026-11-23T10:00:00.000Z", fromSeq: 41, toSeq: 1274, dropped: 1234, reason: "outbox full", ...over,
  });
  test("spans from the last delivered line to the report", () => {
    assert.deepEqual(gapSpan(g()), { from: Date.parse("2026-11-23T10:00:00.000Z"), to: Date.parse("2026-11-23T10:05:50.000Z") });
  });
  test("is a point at the report when nothing was delivered before it", () => {
    const at = Date.parse("2026-11-23T10:05:50.000Z");
    assert.deepEqual(gapSpan(g({ since: null })), { from: at, to: at });
  });
  test("never runs backwards when the node clock jumped", () => {
    const s = gapSpan(g({ since: "2026-11-23T10:09:00.000Z" }));
    assert.ok(s.from <= s.to);
  });
  test("says who, how many, why, which seqs and how long the history is incomplete", () => {
    const text = gapSummary(g());
    assert.match(text, /^lb2: 1,234 records lost \(outbox full\), seq 41–1274; history incomplete from .* to .* \(5 min 50 s\)$/);
    assert.match(gapSummary(g({ dropped: 1, fromSeq: 7, toSeq: 7, since: null })), /^lb2: 1 record lost \(outbox full\), seq 7; reported /);
  });
});
