import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { aggregateState, downsample, mergeIntervals } from "../../server/timeline/downsample";
import { buildSegments, type LaneEvent, type LaneState, type Seg } from "../../server/timeline/segments";

const T = 1_700_000_000_000;
const s = (n: number) => T + n * 1000;

/** a lane that alternates MASTER/BACKUP every `everyMs` over `spanMs` */
function flapping(spanMs: number, everyMs: number): Seg[] {
  const events: LaneEvent[] = [];
  for (let t = everyMs, i = 0; t < spanMs; t += everyMs, i++) events.push({ ts: T + t, state: i % 2 ? "MASTER" : "BACKUP" });
  return buildSegments("MASTER", events, [], { from: T, to: T + spanMs }, T + spanMs * 2);
}

describe("downsampling to pixels", () => {
  test("never returns more segments than pixels, even for 10,000 transitions", () => {
    const span = 7 * 86_400_000;
    const segs = flapping(span, Math.floor(span / 10_000));
    assert.ok(segs.length >= 9_999);
    for (const width of [50, 300, 1200, 1920]) {
      const out = downsample(segs, { from: T, to: T + span }, width);
      assert.ok(out.length <= width, `${out.length} segments for ${width} px`);
    }
  });

  test("terminates and stays within the pixel count when segments end exactly on pixel boundaries", () => {
    const range = { from: T + 123, to: T + 123 + 7 * 3600_000 + 17 };
    for (const width of [7, 333, 1200, 1919]) {
      const px = (range.to - range.from) / width;
      const segs: Seg[] = [];
      for (let k = 0; k < width; k++) {
        const a = range.from + k * px;
        const b = range.from + (k + 1) * px;
        const mid = a + px / 3;
        segs.push({ state: "BACKUP", from: a, to: mid }, { state: "MASTER", from: mid, to: k === width - 1 ? range.to : b });
      }
      const out = downsample(segs, range, width);
      assert.ok(out.length <= width, `${out.length} segments for ${width} px`);
      assert.equal(out[out.length - 1].to, range.to);
    }
  });

  test("keeps segments of a pixel or more exactly as they are", () => {
    const segs: Seg[] = [
      { state: "BACKUP", from: s(0), to: s(30) },
      { state: "MASTER", from: s(30), to: s(100) },
    ];
    assert.deepEqual(downsample(segs, { from: s(0), to: s(100) }, 100), segs);
  });

  test("covers the same time without holes or overlaps", () => {
    const span = 3600_000;
    const segs = flapping(span, 1700);
    const out = downsample(segs, { from: T, to: T + span }, 200);
    assert.equal(out[0].from, T);
    assert.equal(out[out.length - 1].to, T + span);
    for (let i = 1; i < out.length; i++) assert.equal(out[i].from, out[i - 1].to, `segment ${i} starts where ${i - 1} ends`);
  });

  test("marks merged segments as aggregated with the number of transitions inside", () => {
    const segs: Seg[] = [
      { state: "BACKUP", from: s(0), to: s(50) },
      { state: "MASTER", from: s(50), to: s(50.2) },
      { state: "BACKUP", from: s(50.2), to: s(50.4) },
      { state: "MASTER", from: s(50.4), to: s(50.6) },
      { state: "BACKUP", from: s(50.6), to: s(100) },
    ];
    const out = downsample(segs, { from: s(0), to: s(100) }, 100);
    const agg = out.filter((x) => x.aggregated);
    assert.equal(agg.length, 1);
    assert.equal(agg[0].from, s(50));
    assert.equal(agg[0].to, s(51));
    assert.equal(agg[0].transitions, 3);
    assert.equal(agg[0].state, "BACKUP", "dominant state of the pixel (0.6 s BACKUP vs 0.4 s MASTER)");
    assert.ok(out.length <= 100);
  });

  test("a FAULT shorter than a pixel stays visible", () => {
    const segs: Seg[] = [
      { state: "MASTER", from: s(0), to: s(10) },
      { state: "FAULT", from: s(10), to: s(10.01) },
      { state: "MASTER", from: s(10.01), to: s(3600) },
    ];
    const out = downsample(segs, { from: s(0), to: s(3600) }, 100);
    const fault = out.find((x) => x.state === "FAULT");
    assert.ok(fault, "the FAULT pixel is drawn");
    assert.equal(fault.aggregated, true);
    assert.ok(fault.from <= s(10) && fault.to >= s(10.01));
  });

  test("joins neighbouring aggregated pixels of the same state and adds up their transitions", () => {
    const span = 3600_000;
    const segs = flapping(span, 1000); // 3599 changes, 36 per pixel at 100 px
    const out = downsample(segs, { from: T, to: T + span }, 100);
    assert.equal(out.length, 1, "one flapping stretch");
    assert.equal(out[0].aggregated, true);
    assert.equal(out[0].transitions, 3599);
    assert.ok(out[0].mix && Math.abs((out[0].mix.MASTER ?? 0) - (out[0].mix.BACKUP ?? 0)) <= 2000);
  });

  test("keeps the open end of the last segment", () => {
    const segs: Seg[] = [
      { state: "BACKUP", from: s(0), to: s(99.5) },
      { state: "MASTER", from: s(99.5), to: s(99.7) },
      { state: "BACKUP", from: s(99.7), to: s(100), open: true },
    ];
    const out = downsample(segs, { from: s(0), to: s(100) }, 100);
    assert.equal(out[out.length - 1].open, true);
  });
});

describe("aggregated state", () => {
  test("FAULT wins whenever present, else the longest, ties to the worse state", () => {
    assert.equal(aggregateState({ MASTER: 990, FAULT: 1 }), "FAULT");
    assert.equal(aggregateState({ MASTER: 600, BACKUP: 400 }), "MASTER");
    assert.equal(aggregateState({ MASTER: 500, BACKUP: 500 }), "BACKUP");
    assert.equal(aggregateState({ MASTER: 500, UNKNOWN: 500 }), "UNKNOWN");
    const none: Partial<Record<LaneState, number>> = {};
    assert.equal(aggregateState(none), "UNKNOWN");
  });
});

describe("VIP intervals per pixel", () => {
  test("joins intervals separated by less than a pixel", () => {
    const out = mergeIntervals(
      [
        { from: s(0), to: s(10) },
        { from: s(10.5), to: s(20) },
        { from: s(40), to: s(50) },
      ],
      { from: s(0), to: s(100) },
      100,
    );
    assert.deepEqual(out, [
      { from: s(0), to: s(20) },
      { from: s(40), to: s(50) },
    ]);
  });
});
