/**
 * Time intervals in epoch milliseconds: clipping to a range and the length of a union.
 * Pure; unit-tested in test/unit/stats-intervals.test.ts.
 */

export interface Interval {
  from: number;
  /** null: still going (ends at the range end, or "now" when that is earlier) */
  to: number | null;
}

/**
 * Clip intervals to [from, to] (an open interval ends at `openEnd`), drop empty ones and merge the
 * overlapping or touching ones. The result is sorted and disjoint.
 */
export function clipAndMerge(intervals: readonly Interval[], from: number, to: number, openEnd = to): { from: number; to: number }[] {
  const clipped: { from: number; to: number }[] = [];
  for (const i of intervals) {
    const start = Math.max(i.from, from);
    const end = Math.min(i.to ?? openEnd, to);
    if (Number.isFinite(start) && Number.isFinite(end) && end > start) clipped.push({ from: start, to: end });
  }
  clipped.sort((a, b) => a.from - b.from || a.to - b.to);
  const out: { from: number; to: number }[] = [];
  for (const c of clipped) {
    const last = out[out.length - 1];
    if (last && c.from <= last.to) last.to = Math.max(last.to, c.to);
    else out.push({ ...c });
  }
  return out;
}

/** Total time covered by at least one interval inside [from, to] (overlaps counted once). */
export function unionDuration(intervals: readonly Interval[], from: number, to: number, openEnd = to): number {
  let total = 0;
  for (const c of clipAndMerge(intervals, from, to, openEnd)) total += c.to - c.from;
  return total;
}
