/**
 * The one way the UI writes times and durations. Policy: every time is shown in UTC, the zone
 * named where a time stands alone ("2024-05-01 12:34:56 UTC") and once per view where times are
 * dense (the timeline says "times are UTC"). UTC because the server renders pages too (its zone
 * and ICU differ from the browser's: the first render must match, see useHydrated.ts), and
 * because keepalived nodes and the server's logs are compared on one clock. Only fixed English
 * words and digits are written by hand, never through toLocale*(), so Node and Chromium agree.
 * Durations read "850 ms", "45 s", "3 min 12 s", "1 h 2 min", "2 d 3 h". Pure.
 */

/** Shown next to times where the zone is not written on each one. */
export const TIME_ZONE = "UTC";

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function toMs(at: string | number): number {
  return typeof at === "number" ? at : Date.parse(at);
}

/** "2024-05-01 12:34:56 UTC" (".789" with `ms`, no " UTC" with `zone: false`); "–" when unreadable. */
export function formatTime(at: string | number, opts: { ms?: boolean; zone?: boolean } = {}): string {
  const t = toMs(at);
  if (!Number.isFinite(t)) return "–";
  const iso = new Date(t).toISOString(); // 2024-05-01T12:34:56.789Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, opts.ms ? 23 : 19)}`;
  return opts.zone === false ? base : `${base} ${TIME_ZONE}`;
}

/** Time of day in UTC: "12:34:56" (".789" with `ms`, "12:34" with `seconds: false`); "–" when unreadable. */
export function formatTimeOfDay(at: string | number, opts: { ms?: boolean; seconds?: boolean } = {}): string {
  const t = toMs(at);
  if (!Number.isFinite(t)) return "–";
  return new Date(t).toISOString().slice(11, opts.ms ? 23 : opts.seconds === false ? 16 : 19);
}

/** A UTC day: "Fri 4 Dec". */
export function formatDay(at: number): string {
  const d = new Date(at);
  return `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

/** A duration: "850 ms", "45 s", "3 min 12 s", "3 min", "1 h 2 min", "2 d 3 h"; "–" when negative or unreadable. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** How long ago, in its largest unit: "just now", "42 s ago", "5 min ago", "3 h ago", "3 d ago". */
export function formatAgo(at: string | number | null | undefined, now: number): string {
  if (at === null || at === undefined || at === "") return "never";
  const t = toMs(at);
  if (!Number.isFinite(t)) return "unknown";
  const s = Math.floor((now - t) / 1000);
  if (s < -5) return "in the future";
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** Offset of `at` from `origin`, signed, in seconds with milliseconds: "+1.234 s", "−0.050 s". */
export function formatOffset(at: string | number, origin: string | number): string {
  const d = toMs(at) - toMs(origin);
  if (!Number.isFinite(d)) return "";
  const sign = d < 0 ? "\u2212" : "+";
  return `${sign}${(Math.abs(d) / 1000).toFixed(3)} s`;
}

/** Epoch ms -> the value of an <input type="datetime-local">, in UTC ("2024-05-01T12:34"); "" when unreadable. */
export function toInputValue(at: string | number | null): string {
  if (at === null || at === "") return "";
  const t = toMs(at);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 16) : "";
}

/** The value of an <input type="datetime-local"> read as UTC -> epoch ms; NaN when empty or unreadable. */
export function fromInputValue(value: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return Number.NaN;
  return Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
}

/** Midnight UTC of the day of `at`, in epoch ms. */
export function utcMidnight(at: number): number {
  return Math.floor(at / 86_400_000) * 86_400_000;
}


/**
 * An availability (0..1) as a percentage with 3 decimals, rounded down so that anything short of
 * full availability never reads "100.000 %"; "–" when unknown.
 */
export function formatAvailability(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "–";
  if (x >= 1) return "100 %";
  return `${(Math.floor(x * 100_000) / 1000).toFixed(3)} %`;
}
