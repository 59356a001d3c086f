/** Maintenance windows on the page: where one stands, and the body of a new one from the form. Pure; unit-tested. */
import { fromInputValue } from "../format";

/** where a window stands at `now`. Pure. */
export function windowState(w: { from: string; to: string }, now: number): "upcoming" | "active" | "over" {
  if (Date.parse(w.to) <= now) return "over";
  return Date.parse(w.from) > now ? "upcoming" : "active";
}

/** the body of POST /api/maintenance from the form (times typed as UTC), or why it cannot be sent. Pure. */
export function newWindowBody(f: { cluster: string; vrid: string; from: string; to: string; reason: string }, now: number): { ok: true; body: Record<string, unknown> } | { ok: false; message: string } {
  const from = f.from ? fromInputValue(f.from) : now;
  const to = fromInputValue(f.to);
  const vrid = f.vrid.trim() === "" ? null : Number(f.vrid);
  if (!f.cluster.trim()) return { ok: false, message: "name the cluster" };
  if (vrid !== null && !(Number.isInteger(vrid) && vrid >= 1 && vrid <= 255)) return { ok: false, message: "a VRID is a number from 1 to 255 (empty: the whole cluster)" };
  if (!Number.isFinite(from) || !Number.isFinite(to)) return { ok: false, message: "give the end (and optionally the start) as a UTC date and time" };
  if (to <= from) return { ok: false, message: "the window must end after it starts" };
  return {
    ok: true,
    body: { cluster: f.cluster.trim(), from: new Date(from).toISOString(), to: new Date(to).toISOString(), reason: f.reason.trim(), ...(vrid !== null ? { vrid } : {}) },
  };
}
