import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { incidentWindow, lanesFromEvidence, lanesFromTimeline, pct, TimelineResponse } from "../../components/incidents/lanes";
import { configDiff } from "../../components/incidents/configDiff";
import { incident } from "../helpers/incident";


const T = (s: number) => new Date(Date.parse("2024-05-01T12:00:00Z") + s * 1000).toISOString();
const ms = (s: number) => Date.parse(T(s));

describe("mini timeline window", () => {
  it("pads a closed incident by a quarter of its length, at least 5 s, on both sides", () => {
    assert.deepEqual(incidentWindow({ openedAt: T(0), closedAt: T(40) }, ms(1000)), { from: ms(-10), to: ms(50) });
    assert.deepEqual(incidentWindow({ openedAt: T(0), closedAt: T(4) }, ms(1000)), { from: ms(-5), to: ms(9) });
  });
  it("ends an open incident's window now", () => {
    assert.deepEqual(incidentWindow({ openedAt: T(0), closedAt: null }, ms(100)), { from: ms(-25), to: ms(100) });
  });
  it("places times as clamped percentages", () => {
    const w = { from: 0, to: 200 };
    assert.equal(pct(50, w), 25);
    assert.equal(pct(-10, w), 0);
    assert.equal(pct(300, w), 100);
  });
});

describe("lanes from the evidence", () => {
  it("turns each node's state lines into segments until its next one, and leaves the unknown start blank", () => {
    const inc = incident({
      id: "1",
      openedAt: T(10),
      closedAt: T(50),
      cause: {
        code: "c",
        summary: "s",
        evidence: [
          { node: "a", at: T(2), line: "Wed May  1 12:00:02 2024: (VI_1) Entering MASTER STATE", kind: "log" },
          { node: "b", at: T(8), line: "Wed May  1 12:00:08 2024: (VI_1) Entering MASTER STATE", kind: "log" },
          { node: "b", at: T(9), line: "ip addr on b: holds 198.18.0.100", kind: "vips" },
          { node: "b", at: T(28), line: "Wed May  1 12:00:28 2024: (VI_1) Entering BACKUP STATE", kind: "log" },
          { node: "a", at: T(20), line: "Wed May  1 12:00:20 2024: (VI_2) Entering FAULT STATE", kind: "log" },
        ],
      },
    });
    const win = incidentWindow(inc, ms(1000));
    assert.deepEqual(win, { from: ms(0), to: ms(60) });
    const lanes = lanesFromEvidence(inc, win, ms(1000));
    assert.deepEqual(lanes.map((l) => l.node), ["a", "b"]);
    const [a, b] = lanes;
    assert.deepEqual(a!.segments, [{ state: "MASTER", from: ms(2), to: win.to }], "another instance's line is not a's VI_1");
    assert.deepEqual(b!.segments, [
      { state: "MASTER", from: ms(8), to: ms(28) },
      { state: "BACKUP", from: ms(28), to: win.to },
    ]);
    assert.deepEqual(b!.marks.map((m) => m.kind), ["log", "vips", "log"]);
  });

  it("keeps an open incident's segments from running past now", () => {
    const inc = incident({
      id: "2",
      openedAt: T(0),
      closedAt: null,
      cause: { code: "c", summary: "s", evidence: [{ node: "a", at: T(1), line: "(VI_1) Entering FAULT STATE", kind: "log" }] },
    });
    const lanes = lanesFromEvidence(inc, incidentWindow(inc, ms(60)), ms(60));
    assert.deepEqual(lanes[0]!.segments, [{ state: "FAULT", from: ms(1), to: ms(60) }]);
  });
});

describe("lanes from the cluster timeline", () => {
  const resp = TimelineResponse.parse({
    from: T(-100),
    to: T(100),
    lanes: [
      { node: "a", instance: "VI_1", vrid: 51, segments: [{ state: "MASTER", from: T(-100), to: T(20) }, { state: "FAULT", from: T(20), to: null }] },
      { node: "a", instance: "VI_2", vrid: 52, segments: [{ state: "BACKUP", from: T(-100), to: null }] },
      { node: "b", instance: "VI_1", vrid: 51, segments: [{ state: "BACKUP", from: T(-100), to: T(21) }, { state: "MASTER", from: T(21), to: null }] },
      { node: "c", instance: "VI_1", vrid: 51, segments: [{ state: "BACKUP", from: T(-100), to: null }] },
    ],
    incidents: [],
  });

  it("keeps the involved nodes' lanes of the incident's VRID, clipped to the window", () => {
    const inc = incident({ id: "3", openedAt: T(20), closedAt: T(40) });
    const win = incidentWindow(inc, ms(1000));
    const lanes = lanesFromTimeline(resp, inc, win, ms(1000));
    assert.deepEqual(lanes.map((l) => `${l.node}/${l.instance}`), ["a/VI_1", "b/VI_1"]);
    assert.deepEqual(lanes[0]!.segments, [
      { state: "MASTER", from: win.from, to: ms(20) },
      { state: "FAULT", from: ms(20), to: win.to },
    ]);
  });

  it("shows every lane of the node for an incident without VRID (agent offline)", () => {
    const inc = incident({ id: "4", kind: "AGENT_OFFLINE", vrid: null, instances: {}, nodes: ["a"], openedAt: T(0), closedAt: T(10) });
    const lanes = lanesFromTimeline(resp, inc, incidentWindow(inc, ms(1000)), ms(1000));
    assert.deepEqual(lanes.map((l) => l.instance), ["VI_1", "VI_2"]);
  });

  it("rejects an answer of another shape, so the view can fall back to the evidence", () => {
    assert.equal(TimelineResponse.safeParse({ lanes: [{ node: "a", segments: [{ state: "WHAT", from: T(0), to: null }] }] }).success, false);
    assert.equal(TimelineResponse.safeParse({ ok: false, code: "not_found" }).success, false);
  });
});

describe("configuration differences", () => {
  it("lays the config evidence out per setting and node, flagging what differs", () => {
    const d = configDiff([
      { node: "a", at: T(0), line: "VI_1: auth_type PASS, auth_pass password #1", kind: "config" },
      { node: "b", at: T(0), line: "VI_9: auth_type PASS, auth_pass password #2", kind: "config" },
      { node: "a", at: T(0), line: "VI_1: advert_int 1", kind: "config" },
      { node: "b", at: T(0), line: "VI_9: advert_int 1", kind: "config" },
      { node: "a", at: T(1), line: "(VI_1) Entering MASTER STATE", kind: "log" },
    ]);
    assert.ok(d);
    assert.deepEqual(d.nodes, ["a", "b"]);
    assert.deepEqual(d.instances, { a: "VI_1", b: "VI_9" });
    assert.deepEqual(d.rows, [
      { setting: "auth_type", values: { a: "PASS", b: "PASS" }, differs: false },
      { setting: "auth_pass", values: { a: "password #1", b: "password #2" }, differs: true },
      { setting: "advert_int", values: { a: "1", b: "1" }, differs: false },
    ]);
  });

  it("marks a setting only one node mentions as differing, and is absent without config evidence", () => {
    const d = configDiff([
      { node: "a", at: T(0), line: "VI_1: virtual_ipaddress 198.18.0.100 198.18.0.101", kind: "config" },
      { node: "b", at: T(0), line: "VI_1: priority 100", kind: "config" },
    ]);
    assert.deepEqual(d!.rows.map((r) => [r.setting, r.differs]), [["virtual_ipaddress", true], ["priority", true]]);
    assert.equal(d!.rows[0]!.values.a, "198.18.0.100 198.18.0.101");
    assert.equal(configDiff([{ node: "a", at: T(0), line: "x", kind: "log" }]), null);
  });
});
