/**
 * Time wording of the incident views. Times are shown in UTC, always with the zone, so the server's
 * first render and the browser agree and every node's lines read on one clock. Pure.
 */

const p2 = (n: number) => String(n).padStart(2, "0");

function toMs(at: string | number): number {
  return typeof at === "number" ? at : Date.parse(at);
}

/** "2024-05-01 12:34:56 UTC" (with ".789" when `ms`); "–" for an unreadable time. */
export function formatUtc(at: string | number, opts: { ms?: boolean; zone?: boolean } = {}): string {
  const t = toMs(at);
  if (!Number.isFinite(t)) return "–";
  const iso = new Date(t).toISOString(); // 2024-05-01T12:34:56.789Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, opts.ms ? 23 : 19)}`;
  return opts.zone === false ? base : `${base} UTC`;
}

/** "12:34:56.789" (UTC) for dense lists where the date is shown elsewhere. */
export function formatUtcTime(at: string | number): string {
  const t = toMs(at);
  if (!Number.isFinite(t)) return "–";
  return new Date(t).toISOString().slice(11, 23);
}

/**
 * A duration for humans: "850 ms", "45 s", "3m 12s", "1h 02m", "2d 03h". Negative or unreadable
 * durations read "–".
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${p2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${p2(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${p2(h % 24)}h`;
}

/** Offset of `at` from `origin`, signed, in seconds with milliseconds: "+1.234 s", "−0.050 s". */
export function formatOffset(at: string | number, origin: string | number): string {
  const d = toMs(at) - toMs(origin);
  if (!Number.isFinite(d)) return "";
  const sign = d < 0 ? "\u2212" : "+";
  return `${sign}${(Math.abs(d) / 1000).toFixed(3)} s`;
}

/** How long an incident lasted, or has lasted so far when it is open. */
export function incidentDurationMs(inc: { openedAt: string; closedAt: string | null }, now: number): number {
  const end = inc.closedAt ? Date.parse(inc.closedAt) : now;
  return Math.max(0, end - Date.parse(inc.openedAt));
}

/** ISO -> the value of an <input type="datetime-local"> in UTC ("2024-05-01T12:34"); "" when absent. */
export function isoToInput(iso: string | null): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 16) : "";
}

/** The value of an <input type="datetime-local"> read as UTC -> ISO; null when empty or unreadable. */
export function inputToIso(value: string): string | null {
  if (!value) return null;
  const t = Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}
