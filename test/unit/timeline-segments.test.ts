import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildSegments, countTransitions, offlineIntervals, type LaneEvent, type Seg } from "../../server/timeline/segments";
import { assembleLanes, type NodeInput, type StateRow } from "../../server/timeline/lanes";
import { instance } from "../helpers/fake-agent";

const T = 1_700_000_000_000;
const s = (n: number) => T + n * 1000;
const range = { from: s(0), to: s(100) };
const ev = (sec: number, state: LaneEvent["state"]): LaneEvent => ({ ts: s(sec), state });
const brief = (segs: Seg[]) => segs.map((x) => `${x.state}:${(x.from - T) / 1000}-${(x.to - T) / 1000}${x.open ? "+" : ""}`);

describe("events to segments", () => {
  test("starts from the state before the range and splits at each change", () => {
    const segs = buildSegments("BACKUP", [ev(10, "MASTER"), ev(40, "BACKUP")], [], range, s(1000));
    assert.deepEqual(brief(segs), ["BACKUP:0-10", "MASTER:10-40", "BACKUP:40-100"]);
  });

  test("without a known earlier state the lane begins at its first event", () => {
    const segs = buildSegments(null, [ev(30, "BACKUP")], [], range, s(1000));
    assert.deepEqual(brief(segs), ["BACKUP:30-100"]);
  });

  test("repeated states do not split a segment", () => {
    const segs = buildSegments("MASTER", [ev(5, "MASTER"), ev(7, "MASTER")], [], range, s(1000));
    assert.deepEqual(brief(segs), ["MASTER:0-100"]);
  });

  test("an event exactly at the range start sets the starting state", () => {
    const segs = buildSegments("BACKUP", [ev(0, "FAULT")], [], range, s(1000));
    assert.deepEqual(brief(segs), ["FAULT:0-100"]);
  });

  test("a range reaching now ends in an open segment clipped at now", () => {
    const segs = buildSegments("BACKUP", [ev(10, "MASTER")], [], range, s(60));
    assert.deepEqual(brief(segs), ["BACKUP:0-10", "MASTER:10-60+"]);
  });

  test("offline time is UNKNOWN whatever the state, and the state logged meanwhile follows it", () => {
    const segs = buildSegments("MASTER", [ev(30, "BACKUP")], [{ from: s(20), to: s(50) }], range, s(1000));
    assert.deepEqual(brief(segs), ["MASTER:0-20", "UNKNOWN:20-50", "BACKUP:50-100"]);
  });

  test("offline time is UNKNOWN even before any state is known", () => {
    const segs = buildSegments(null, [ev(60, "BACKUP")], [{ from: s(0), to: s(10) }], range, s(1000));
    assert.deepEqual(brief(segs), ["UNKNOWN:0-10", "BACKUP:60-100"]);
  });

  test("an agent offline up to now leaves an open UNKNOWN segment", () => {
    const segs = buildSegments("MASTER", [], [{ from: s(40), to: s(70) }], range, s(70));
    assert.deepEqual(brief(segs), ["MASTER:0-40", "UNKNOWN:40-70+"]);
  });

  test("counts the state changes inside the range only", () => {
    assert.equal(countTransitions([ev(-5, "MASTER"), ev(10, "BACKUP"), ev(20, "BACKUP"), ev(30, "FAULT"), ev(200, "MASTER")], "BACKUP", range), 2);
  });
});

describe("agent sessions to offline intervals", () => {
  const o = (over: Partial<Parameters<typeof offlineIntervals>[1]> = {}) => ({ range, now: s(1000), offlineMs: 15_000, trackedSince: s(-500), ...over });
  const brief2 = (iv: { from: number; to: number }[]) => iv.map((i) => `${(i.from - T) / 1000}-${(i.to - T) / 1000}`);

  test("a silence longer than the offline limit is offline from the last heartbeat to the reconnect", () => {
    const sessions = [
      { connectedAt: s(-100), lastSeenAt: s(30), disconnectedAt: null },
      { connectedAt: s(60), lastSeenAt: s(200), disconnectedAt: null },
    ];
    assert.deepEqual(brief2(offlineIntervals(sessions, o())), ["30-60"]);
  });

  test("a reconnect within the offline limit is not a gap", () => {
    const sessions = [
      { connectedAt: s(-100), lastSeenAt: s(30), disconnectedAt: s(30) },
      { connectedAt: s(40), lastSeenAt: s(200), disconnectedAt: null },
    ];
    assert.deepEqual(offlineIntervals(sessions, o()), []);
  });

  test("the current session counts as online up to now while heard from recently", () => {
    const sessions = [{ connectedAt: s(-100), lastSeenAt: s(95), disconnectedAt: null }];
    assert.deepEqual(offlineIntervals(sessions, o({ now: s(100) })), []);
    assert.deepEqual(brief2(offlineIntervals(sessions, o({ now: s(100), range: { from: s(0), to: s(200) } }))), []);
    // silent for longer than the limit: offline since the last heartbeat, up to now
    assert.deepEqual(brief2(offlineIntervals(sessions, o({ now: s(150), range: { from: s(0), to: s(200) } }))), ["95-150"]);
  });

  test("no session covering the range start means offline from the start", () => {
    const sessions = [{ connectedAt: s(50), lastSeenAt: s(300), disconnectedAt: null }];
    assert.deepEqual(brief2(offlineIntervals(sessions, o())), ["0-50"]);
  });

  test("stored liveness may be stale by the persistence interval: such short silences are not gaps", () => {
    // offline limit 3 s, liveness stored every 5 s: liveness starts a new row at every store
    const sessions = [0, 5, 10, 15].map((t) => ({ connectedAt: s(t), lastSeenAt: s(t), disconnectedAt: null }));
    assert.deepEqual(brief2(offlineIntervals(sessions, o({ offlineMs: 3000, persistSlackMs: 5000, now: s(16), range: { from: s(0), to: s(100) } }))), []);
    assert.deepEqual(brief2(offlineIntervals(sessions, o({ offlineMs: 3000, now: s(16), range: { from: s(0), to: s(100) } }))), ["0-5", "5-10", "10-15"], "without the slack every store looks like a gap");
  });

  test("the server's exact last-heard time decides the end, not the stale stored one", () => {
    const stale = [{ connectedAt: s(-100), lastSeenAt: s(90), disconnectedAt: null }];
    const base = { offlineMs: 3000, persistSlackMs: 5000, range: { from: s(0), to: s(200) }, now: s(95) };
    assert.deepEqual(offlineIntervals(stale, o({ ...base, lastSeen: s(94) })), [], "heard 1 s ago: online up to now");
    assert.deepEqual(brief2(offlineIntervals(stale, o({ ...base, now: s(120), lastSeen: s(92) }))), ["92-120"], "silent since 92: offline from then");
  });

  test("nothing is offline before liveness was first recorded, or for a node never tracked", () => {
    const sessions = [{ connectedAt: s(50), lastSeenAt: s(300), disconnectedAt: null }];
    assert.deepEqual(offlineIntervals(sessions, o({ trackedSince: s(50) })), []);
    assert.deepEqual(offlineIntervals([], o({ trackedSince: null })), []);
  });
});

describe("lanes from stored rows", () => {
  const node = (id: number, name: string, over: Partial<NodeInput> = {}): NodeInput => ({
    id, name, config: [instance({ name: "VI_1", vrid: 51 }), instance({ name: "VI_2", vrid: 52, vips: ["198.18.0.200/24"] })],
    trackedSince: null, sessions: [], vipChanges: [], ...over,
  });
  const row = (nodeId: number, inst: string, sec: number, state: string, vrid: number | null = null): StateRow => ({ nodeId, instance: inst, vrid, state, ts: s(sec) });
  const lane = (lanes: ReturnType<typeof assembleLanes>, nodeName: string, vrid: number) => {
    const l = lanes.find((x) => x.node === nodeName && x.vrid === vrid);
    assert.ok(l, `lane ${nodeName}/${vrid}`);
    return l;
  };

  test("one lane per node and VRID, ordered by VRID then node, VRID from the config when the row has none", () => {
    const lanes = assembleLanes({
      range, now: s(1000), width: 1000, offlineMs: 15_000,
      nodes: [node(2, "lb2"), node(1, "lb10")],
      before: [row(1, "VI_1", -50, "MASTER", 51), row(2, "VI_1", -50, "BACKUP")],
      rows: [row(2, "VI_2", 10, "MASTER"), row(1, "VI_1", 20, "BACKUP", 51)],
    });
    assert.deepEqual(lanes.map((l) => `${l.vrid}/${l.node}/${l.instance}`), ["51/lb2/VI_1", "51/lb10/VI_1", "52/lb2/VI_2", "52/lb10/VI_2"]);
    assert.deepEqual(lane(lanes, "lb10", 51).segments.map((x) => x.state), ["MASTER", "BACKUP"]);
    assert.equal(lane(lanes, "lb10", 51).transitions, 1);
    assert.deepEqual(lane(lanes, "lb2", 52).segments.map((x) => [x.state, x.from]), [["MASTER", new Date(s(10)).toISOString()]]);
    assert.deepEqual(lane(lanes, "lb10", 52).segments, [], "configured but never seen: a lane without segments");
  });

  test("a node-wide STOP ends every lane of its node, and a later state line starts it again", () => {
    const lanes = assembleLanes({
      range, now: s(1000), width: 1000, offlineMs: 15_000,
      nodes: [node(1, "lb1")],
      before: [row(1, "VI_1", -10, "MASTER"), row(1, "VI_2", -10, "BACKUP")],
      rows: [row(1, "*", 30, "STOP"), row(1, "VI_1", 60, "BACKUP")],
    });
    assert.deepEqual(lane(lanes, "lb1", 51).segments.map((x) => x.state), ["MASTER", "STOP", "BACKUP"]);
    assert.deepEqual(lane(lanes, "lb1", 52).segments.map((x) => x.state), ["BACKUP", "STOP"]);
  });

  test("a STOP before the range wins over an older instance state", () => {
    const lanes = assembleLanes({
      range, now: s(1000), width: 1000, offlineMs: 15_000,
      nodes: [node(1, "lb1")],
      before: [row(1, "VI_1", -20, "MASTER"), row(1, "*", -10, "STOP")],
      rows: [],
    });
    assert.deepEqual(lane(lanes, "lb1", 51).segments.map((x) => x.state), ["STOP"]);
  });

  test("an instance renamed under the same VRID stays one lane named as configured", () => {
    const lanes = assembleLanes({
      range, now: s(1000), width: 1000, offlineMs: 15_000,
      nodes: [node(1, "lb1", { config: [instance({ name: "web", vrid: 51 })] })],
      before: [row(1, "VI_1", -20, "MASTER", 51)],
      rows: [row(1, "web", 50, "BACKUP", 51)],
    });
    assert.equal(lanes.length, 1);
    assert.equal(lanes[0].instance, "web");
    assert.deepEqual(lanes[0].segments.map((x) => x.state), ["MASTER", "BACKUP"]);
  });

  test("UNKNOWN while the agent was offline, and the last segment is open when the range reaches now", () => {
    const lanes = assembleLanes({
      range, now: s(90), width: 1000, offlineMs: 15_000,
      nodes: [node(1, "lb1", { trackedSince: s(-100), sessions: [
        { connectedAt: s(-100), lastSeenAt: s(20), disconnectedAt: s(20) },
        { connectedAt: s(70), lastSeenAt: s(88), disconnectedAt: null },
      ] })],
      before: [row(1, "VI_1", -50, "MASTER")],
      rows: [],
    });
    const l = lane(lanes, "lb1", 51);
    assert.deepEqual(l.segments.map((x) => [x.state, x.to]), [
      ["MASTER", new Date(s(20)).toISOString()],
      ["UNKNOWN", new Date(s(70)).toISOString()],
      ["MASTER", null],
    ]);
  });

  test("VIP ownership per lane follows the instance's configured VIPs", () => {
    const lanes = assembleLanes({
      range, now: s(1000), width: 1000, offlineMs: 15_000,
      nodes: [node(1, "lb1", { vipChanges: [
        { ts: s(-30), held: ["198.18.0.100"] },
        { ts: s(40), held: ["198.18.0.100", "198.18.0.200"] },
        { ts: s(70), held: [] },
      ] })],
      before: [], rows: [],
    });
    const iso = (n: number) => new Date(s(n)).toISOString();
    assert.deepEqual(lane(lanes, "lb1", 51).vipHeld, [{ from: iso(0), to: iso(70) }]);
    assert.deepEqual(lane(lanes, "lb1", 52).vipHeld, [{ from: iso(40), to: iso(70) }]);
    assert.deepEqual(lane(lanes, "lb1", 52).vips, ["198.18.0.200"]);
  });

  test("unknown state words in stored rows are ignored, not drawn", () => {
    const lanes = assembleLanes({
      range, now: s(1000), width: 1000, offlineMs: 15_000,
      nodes: [node(1, "lb1")], before: [], rows: [row(1, "VI_1", 10, "BACKUP"), row(1, "VI_1", 20, "WEIRD")],
    });
    assert.deepEqual(lane(lanes, "lb1", 51).segments.map((x) => x.state), ["BACKUP"]);
  });
});
