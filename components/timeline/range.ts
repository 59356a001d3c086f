/**
 * The time range of the cluster timeline and its URL form, so a link can be
 * shared in an incident channel. Pure; unit-tested in test/unit/timeline-ui.test.ts.
 *
 * URL forms:
 *   ?range=15m|1h|24h|7d              live: the range ends now and follows the clock
 *   ?from=<ISO>&to=<ISO>              fixed (zoomed, panned or typed in)
 * Anything else falls back to the default (1 h, live).
 */

export const PRESETS = {
  "15m": 15 * 60_000,
  "1h": 3600_000,
  "24h": 24 * 3600_000,
  "7d": 7 * 24 * 3600_000,
} as const;
export type Preset = keyof typeof PRESETS;
export const DEFAULT_PRESET: Preset = "1h";

/** shortest range one can zoom into, and the longest the API serves */
export const MIN_SPAN_MS = 10_000;
export const MAX_SPAN_MS = 31 * 24 * 3600_000;

export type RangeSpec = { kind: "live"; preset: Preset } | { kind: "fixed"; from: number; to: number };

export interface Window {
  from: number;
  to: number;
}

const isPreset = (s: string | null): s is Preset => s !== null && Object.prototype.hasOwnProperty.call(PRESETS, s);

/** Read the range from the page's query string. */
export function parseRange(params: URLSearchParams): RangeSpec {
  const preset = params.get("range");
  if (isPreset(preset)) return { kind: "live", preset };
  const from = Date.parse(params.get("from") ?? "");
  const to = Date.parse(params.get("to") ?? "");
  if (Number.isFinite(from) && Number.isFinite(to) && from < to && to - from <= MAX_SPAN_MS) return { kind: "fixed", from, to };
  return { kind: "live", preset: DEFAULT_PRESET };
}

/** The query string of a range (without "?"), other parameters kept. */
export function rangeQuery(spec: RangeSpec, keep?: URLSearchParams): string {
  const p = new URLSearchParams(keep);
  p.delete("range");
  p.delete("from");
  p.delete("to");
  if (spec.kind === "live") p.set("range", spec.preset);
  else {
    p.set("from", new Date(spec.from).toISOString());
    p.set("to", new Date(spec.to).toISOString());
  }
  return p.toString();
}

/** The concrete window at `now`. */
export function windowOf(spec: RangeSpec, now: number): Window {
  if (spec.kind === "live") return { from: now - PRESETS[spec.preset], to: now };
  return { from: spec.from, to: spec.to };
}

/**
 * How often a chart of this range needs the clock. A live window moves by one pixel every span / width
 * ms: ticking faster redraws the same picture (a 7-day range at 1,658 px moves a pixel every 6 min, and
 * a 1 s tick redrew every lane 365 times per pixel). At least every second, at most every minute; a fixed
 * range only ages its relative times (open durations), every 30 s. Relative times that need the second
 * ("updated 3 s ago") keep their own clock.
 */
export function clockTickMs(spec: RangeSpec, width: number): number {
  if (spec.kind !== "live") return 30_000;
  return Math.min(60_000, Math.max(1000, Math.round(pixelMs(spec, width))));
}

/** how long a pixel of a live chart `width` pixels wide lasts (a width not measured yet counts as 1 px) */
function pixelMs(spec: Extract<RangeSpec, { kind: "live" }>, width: number): number {
  return PRESETS[spec.preset] / Math.max(1, width);
}

/**
 * How often a live chart reloads its whole range as a safety net (pushes already redraw it, and refetch it
 * within a second of a change): twice the time of a pixel, between 30 s and 5 min. A 7-day range reloaded
 * every 30 s cost the server a 1.6 MB answer and the page a full redraw twice a minute, to move 0.2 px.
 */
export function liveRefreshMs(spec: RangeSpec, width: number): number {
  if (spec.kind !== "live") return 30_000;
  return Math.min(300_000, Math.max(30_000, Math.round(2 * pixelMs(spec, width))));
}

/** A fixed range, clamped to the allowed spans and never reaching past `now`. */
export function fixedRange(from: number, to: number, now: number): RangeSpec {
  let f = Math.min(from, to);
  let t = Math.max(from, to);
  if (t > now) {
    f -= t - now;
    t = now;
  }
  if (t - f < MIN_SPAN_MS) {
    const mid = (f + t) / 2;
    f = mid - MIN_SPAN_MS / 2;
    t = mid + MIN_SPAN_MS / 2;
    if (t > now) {
      f -= t - now;
      t = now;
    }
  }
  if (t - f > MAX_SPAN_MS) f = t - MAX_SPAN_MS;
  return { kind: "fixed", from: Math.round(f), to: Math.round(t) };
}

/** Move the window by `fraction` of its span (negative: earlier). Reaching now again turns it live when it was. */
export function pan(spec: RangeSpec, fraction: number, now: number): RangeSpec {
  const w = windowOf(spec, now);
  const shift = (w.to - w.from) * fraction;
  return fixedRange(w.from + shift, w.to + shift, now);
}

/** Zoom around the window's centre: factor 2 = twice the span (zoom out). */
export function zoom(spec: RangeSpec, factor: number, now: number): RangeSpec {
  const w = windowOf(spec, now);
  const span = (w.to - w.from) * factor;
  const mid = (w.from + w.to) / 2;
  return fixedRange(mid - span / 2, mid + span / 2, now);
}
