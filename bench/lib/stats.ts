/** Small statistics helpers for the benchmarks (nearest-rank percentiles). */

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (xs: number[]) => pct(xs, 50);

export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function dist(xs: number[]): Dist {
  return { n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99), max: xs.length ? Math.max(...xs) : NaN };
}

export const fmt = (v: number | undefined | null, digits = 1): string => {
  if (v === undefined || v === null || Number.isNaN(v)) return "-";
  const a = Math.abs(v);
  if (a >= 10_000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a > 0 && a < 1) return v.toFixed(2);
  return v.toFixed(digits);
};

export const distText = (d: Dist, unit = "ms") => `p50 ${fmt(d.p50)} / p95 ${fmt(d.p95)} / p99 ${fmt(d.p99)} / max ${fmt(d.max)} ${unit} (n=${d.n})`;
