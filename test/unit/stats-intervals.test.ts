import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clipAndMerge, unionDuration } from "../../server/stats/intervals";

describe("stats intervals", () => {
  it("merges overlapping and touching intervals and counts their union once", () => {
    const merged = clipAndMerge(
      [
        { from: 10, to: 20 },
        { from: 15, to: 30 },
        { from: 30, to: 35 },
        { from: 50, to: 60 },
      ],
      0,
      100,
    );
    assert.deepEqual(merged, [
      { from: 10, to: 35 },
      { from: 50, to: 60 },
    ]);
    assert.equal(unionDuration([{ from: 10, to: 20 }, { from: 15, to: 30 }, { from: 50, to: 60 }], 0, 100), 30);
  });

  it("clips intervals to the range and drops the ones outside it", () => {
    const ivs = [
      { from: -50, to: 5 },
      { from: 95, to: 200 },
      { from: 200, to: 300 },
      { from: -20, to: -10 },
    ];
    assert.deepEqual(clipAndMerge(ivs, 0, 100), [
      { from: 0, to: 5 },
      { from: 95, to: 100 },
    ]);
    assert.equal(unionDuration(ivs, 0, 100), 10);
  });

  it("lets an open interval run to `openEnd` (now), not past it", () => {
    assert.equal(unionDuration([{ from: 40, to: null }], 0, 100, 70), 30);
    assert.equal(unionDuration([{ from: 40, to: null }], 0, 100), 60);
    assert.equal(unionDuration([{ from: 80, to: null }], 0, 100, 70), 0, "opened after now: nothing yet");
  });

  it("ignores empty and inverted intervals", () => {
    assert.equal(unionDuration([{ from: 10, to: 10 }, { from: 30, to: 20 }], 0, 100), 0);
    assert.deepEqual(clipAndMerge([], 0, 100), []);
  });
});
