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

describe("no visible loss at the page's width", () => {
  /** what each pixel column shows: FAULT if any FAULT is in it, else the state that lasted longest in it (ties: the worse) */
  function pixels(segs: readonly Seg[], from: number, to: number, width: number): LaneState[] {
    const px = (to - from) / width;
    const out: LaneState[] = [];
    for (let k = 0; k < width; k++) {
      const a = from + k * px;
      const b = k === width - 1 ? to : from + (k + 1) * px;
      const mix: Partial<Record<LaneState, number>> = {};
      for (const x of segs) {
        const o = Math.min(b, x.to) - Math.max(a, x.from);
        if (o > 0) mix[x.state] = (mix[x.state] ?? 0) + o;
      }
      out.push(aggregateState(mix));
    }
    return out;
  }

  test("every pixel of a downsampled lane shows what the full-resolution lane shows there (random 7-day lanes, 3 widths)", () => {
    // a fixed-seed generator: the same lanes every run; segment lengths exponential around 200 to 20,000 per lane,
    // one in ten 50 times longer (kept whole, ending inside a pixel), one in twenty FAULT
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const STATES: LaneState[] = ["MASTER", "BACKUP", "FAULT", "UNKNOWN", "STOP"];
    const span = 7 * 86_400_000;
    let differ = 0;
    let total = 0;
    const where: string[] = [];
    for (let lane = 0; lane < 60; lane++) {
      const segs: Seg[] = [];
      const mean = span / (200 + Math.floor(rnd() * 20_000));
      for (let t = T; t < T + span; ) {
        const d = Math.max(1, Math.floor(-Math.log(1 - rnd()) * mean * (rnd() < 0.1 ? 50 : 1)));
        const state = rnd() < 0.05 ? "FAULT" : STATES[rnd() < 0.1 ? 3 + Math.floor(rnd() * 2) : Math.floor(rnd() * 2)];
        segs.push({ state, from: t, to: Math.min(T + span, t + d) });
        t += d;
      }
      for (const width of [300, 1200, 1700]) {
        const full = pixels(segs, T, T + span, width);
        const drawn = pixels(downsample(segs, { from: T, to: T + span }, width), T, T + span, width);
        for (let k = 0; k < width; k++) {
          total++;
          if (full[k] === drawn[k]) continue;
          differ++;
          if (where.length < 5) where.push(`lane ${lane}, ${width} px, pixel ${k}: ${drawn[k]} drawn, ${full[k]} in full`);
        }
      }
    }
    assert.equal(differ, 0, `${differ} of ${total} pixels differ: ${where.join("; ")}`);
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
