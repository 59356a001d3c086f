import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { countFailovers, type StateRow } from "../../server/stats/failovers";

const row = (ts: number, node: string, state: string, vrid: number | null = 51, instance = "VI_1"): StateRow => ({
  node,
  instance,
  vrid,
  state,
  ts,
});

const total = (r: ReturnType<typeof countFailovers>) => r.reduce((n, g) => n + g.failovers, 0);

describe("failover counting", () => {
  it("counts each MASTER handover between nodes (A -> B -> A is two)", () => {
    const rows = [
      row(1, "a", "BACKUP"),
      row(1, "b", "BACKUP"),
      row(2, "a", "MASTER"),
      row(10, "a", "FAULT"),
      row(11, "b", "MASTER"),
      row(20, "a", "BACKUP"),
      row(30, "a", "MASTER"),
      row(30.001, "b", "BACKUP"),
    ];
    const r = countFailovers([], rows, 0, 100);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.group, "51");
    assert.equal(r[0]!.failovers, 2);
    assert.deepEqual(r[0]!.handovers, [
      { at: 11, from: "a", to: "b" },
      { at: 30, from: "b", to: "a" },
    ]);
  });

  it("does not count the first MASTER, nor a MASTER coming back with nobody taking over", () => {
    const rows = [row(1, "a", "MASTER"), row(5, "a", "FAULT"), row(9, "a", "MASTER"), row(12, "a", "MASTER")];
    assert.equal(total(countFailovers([], rows, 0, 100)), 0);
  });

  it("knows who was MASTER before the range from the rows before it, and counts only inside the range", () => {
    const before = [row(-100, "a", "MASTER"), row(-50, "a", "FAULT")];
    const rows = [row(10, "b", "MASTER"), row(150, "a", "MASTER")];
    const r = countFailovers(before, rows, 0, 100);
    assert.equal(total(r), 1, "b taking over from a counts; a at 150 is outside the range");
    assert.deepEqual(r[0]!.handovers, [{ at: 10, from: "a", to: "b" }]);
    // without the rows before the range, b's MASTER would look like a first MASTER
    assert.equal(total(countFailovers([], rows, 0, 100)), 0);
  });

  it("counts a split brain once, and not again when the extra MASTER steps back", () => {
    const rows = [row(1, "a", "MASTER"), row(10, "b", "MASTER"), row(20, "b", "BACKUP"), row(30, "b", "MASTER"), row(31, "a", "BACKUP")];
    const r = countFailovers([], rows, 0, 100);
    assert.deepEqual(
      r[0]!.handovers.map((h) => `${h.from}->${h.to}@${h.at}`),
      ["a->b@10", "a->b@30"],
      "b entering while a is MASTER counts; after b stepped back a is the MASTER again",
    );
  });

  it("keeps virtual routers apart (by VRID, else by instance name)", () => {
    const rows = [
      row(1, "a", "MASTER", 51),
      row(1, "b", "MASTER", 52, "VI_2"),
      row(5, "b", "MASTER", 51),
      row(6, "a", "BACKUP", 51),
      row(7, "a", "MASTER", null, "VI_X"),
      row(8, "b", "MASTER", null, "VI_X"),
    ];
    const r = countFailovers([], rows, 0, 100);
    assert.deepEqual(
      r.map((g) => [g.group, g.vrid, g.failovers]),
      [
        ["51", 51, 1],
        ["52", 52, 0],
        ["VI_X", null, 1],
      ],
    );
  });

  it("treats a node-wide keepalived STOP (instance *) as leaving every virtual router", () => {
    const rows = [row(1, "a", "MASTER", 51), row(1, "a", "MASTER", 52, "VI_2"), row(5, "a", "STOP", null, "*"), row(6, "b", "MASTER", 51)];
    const r = countFailovers([], rows, 0, 100);
    assert.equal(r.find((g) => g.group === "51")!.failovers, 1);
    // the STOP row must not create a group of its own
    assert.deepEqual(r.map((g) => g.group), ["51", "52"]);
  });

  it("orders rows by time (then storage order), whatever order they come in", () => {
    const rows = [row(11, "b", "MASTER"), { ...row(2, "a", "MASTER"), seq: 2 }, { ...row(2, "a", "BACKUP"), seq: 1 }];
    // a: BACKUP (seq 1) then MASTER (seq 2) at ts 2, then b takes over at 11
    assert.equal(total(countFailovers([], rows, 0, 100)), 1);
  });
});
