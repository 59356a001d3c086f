/**
 * Server-side aggregation: no lane has more segments than the chart has
 * pixels, so a 7-day range with thousands of transitions stays cheap to send
 * and to draw. Pure; unit-tested in test/unit/timeline-downsample.test.ts.
 *
 * The range is cut into `width` pixel buckets. A segment that starts a bucket
 * with nothing pending and reaches past that bucket's end is kept exactly as
 * it is. Everything else in a bucket (sub-pixel segments, and the parts of
 * longer ones that share the bucket with them) is merged into ONE aggregated
 * segment for that bucket, whose state is:
 *   - FAULT if any part of the bucket was FAULT (a short FAULT must never vanish);
 *   - otherwise the DOMINANT state: the one that lasted longest in the bucket
 *     (ties go to the worse state: UNKNOWN, STOP, BACKUP, MASTER), counting the
 *     tail of a segment kept whole that ends inside the bucket: so each pixel
 *     shows what the full-resolution lane shows there (unit test "no visible
 *     loss at the page's width").
 * Neighbouring aggregated buckets of the same state are then joined (their
 * transition counts add up), so a long flapping stretch is one segment.
 * Every output segment starts in a bucket of its own: at most `width` segments.
 */
import type { Interval } from "./types";
import type { LaneState, Range, Seg } from "./segments";

/** Lower is worse: tie-break of the dominant state. */
const WORSE_FIRST: Record<LaneState, number> = { FAULT: 0, UNKNOWN: 1, STOP: 2, BACKUP: 3, MASTER: 4 };

interface Pending {
  bucket: number;
  from: number;
  to: number;
  open: boolean;
  mix: Partial<Record<LaneState, number>>;
  contributors: number;
  transitions: number;
  firstState: LaneState;
  lastState: LaneState;
  /** the input segment that contributed last (to count each input once) */
  last: Seg | null;
}

interface Agg extends Seg {
  firstState?: LaneState;
  lastState?: LaneState;
}

/** The state an aggregated bucket shows (see the module comment). */
export function aggregateState(mix: Partial<Record<LaneState, number>>): LaneState {
  if ((mix.FAULT ?? 0) > 0) return "FAULT";
  let best: LaneState | null = null;
  for (const [state, ms] of Object.entries(mix) as [LaneState, number][]) {
    if (best === null) best = state;
    else {
      const bm = mix[best] ?? 0;
      if (ms > bm || (ms === bm && WORSE_FIRST[state] < WORSE_FIRST[best])) best = state;
    }
  }
  return best ?? "UNKNOWN";
}

export function downsample(segs: readonly Seg[], range: Range, width: number): Seg[] {
  const px = (range.to - range.from) / Math.max(1, Math.floor(width));
  if (!(px > 0) || segs.length <= 1) return segs.map((s) => ({ ...s }));
  const buckets = Math.max(1, Math.floor(width));
  const bucketEnd = (b: number) => (b >= buckets - 1 ? Number.POSITIVE_INFINITY : range.from + (b + 1) * px);
  // floor() of a float quotient can land one bucket low at a boundary: step up so a bucket always ends after t
  const bucketOf = (t: number) => {
    let b = Math.min(buckets - 1, Math.max(0, Math.floor((t - range.from) / px)));
    while (bucketEnd(b) <= t) b++;
    return b;
  };

  const out: Agg[] = [];
  let pend: Pending | null = null;
  /**
   * the tail of a segment kept whole that ends inside a bucket: its share of that bucket counts when the rest of
   * the bucket is aggregated, so the pixel shows what the full-resolution lane shows there (FAULT if any, else the
   * longest state over the whole pixel, not only over its aggregated part)
   */
  let tail: { bucket: number; state: LaneState; ms: number } | null = null;
  const shown = (p: Pending) => {
    if (!tail || tail.bucket !== p.bucket) return aggregateState(p.mix);
    return aggregateState({ ...p.mix, [tail.state]: (p.mix[tail.state] ?? 0) + tail.ms });
  };
  const flush = () => {
    if (!pend) return;
    if (pend.contributors === 1) {
      out.push({ state: pend.firstState, from: pend.from, to: pend.to, ...(pend.open ? { open: true } : {}) });
    } else {
      out.push({
        state: shown(pend),
        from: pend.from,
        to: pend.to,
        ...(pend.open ? { open: true } : {}),
        aggregated: true,
        transitions: pend.transitions,
        mix: pend.mix,
        firstState: pend.firstState,
        lastState: pend.lastState,
      });
    }
    pend = null;
  };

  for (const s of segs) {
    let from = s.from;
    while (from < s.to) {
      const b = bucketOf(from);
      if (pend && pend.bucket !== b) flush();
      const be = bucketEnd(b);
      if (!pend && s.to > be) {
        out.push({ ...s, from });
        const end = bucketOf(s.to);
        tail = end < buckets && s.to > range.from + end * px ? { bucket: end, state: s.state, ms: s.to - (range.from + end * px) } : null;
        break;
      }
      const to = Math.min(s.to, be);
      if (!pend) {
        pend = { bucket: b, from, to, open: false, mix: {}, contributors: 0, transitions: 0, firstState: s.state, lastState: s.state, last: null };
      }
      if (pend.last !== s) {
        if (pend.contributors > 0 && pend.lastState !== s.state) pend.transitions++;
        pend.contributors++;
        pend.last = s;
        pend.lastState = s.state;
      }
      pend.mix[s.state] = (pend.mix[s.state] ?? 0) + (to - from);
      pend.to = to;
      pend.open = Boolean(s.open) && to === s.to;
      from = to;
    }
  }
  flush();
  return joinAggregates(out);
}

/** Join touching aggregated segments of the same shown state. */
function joinAggregates(segs: Agg[]): Seg[] {
  const out: Agg[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last && last.aggregated && s.aggregated && last.state === s.state && last.to === s.from) {
      last.transitions = (last.transitions ?? 0) + (s.transitions ?? 0) + (last.lastState !== s.firstState ? 1 : 0);
      const mix = { ...last.mix };
      for (const [k, v] of Object.entries(s.mix ?? {}) as [LaneState, number][]) mix[k] = (mix[k] ?? 0) + v;
      last.mix = mix;
      last.to = s.to;
      last.open = s.open;
      last.lastState = s.lastState;
      if (!last.open) delete last.open;
    } else out.push({ ...s });
  }
  return out.map(({ firstState: _f, lastState: _l, ...s }) => s);
}

/**
 * Intervals (VIP held) for `width` pixels: intervals separated by less than one
 * pixel are joined, so there are at most about `width` of them.
 */
export function mergeIntervals(intervals: readonly Interval[], range: Range, width: number): Interval[] {
  const px = (range.to - range.from) / Math.max(1, Math.floor(width));
  const out: Interval[] = [];
  for (const i of [...intervals].sort((a, b) => a.from - b.from)) {
    const last = out[out.length - 1];
    if (last && i.from - last.to < px) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}
