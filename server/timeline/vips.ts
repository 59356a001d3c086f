/**
 * VIP ownership per lane: when did the node hold at least one of the
 * instance's configured VIPs, from the node's VIP observations (`ip addr`, the
 * kernel's ground truth). Pure; unit-tested in test/unit/timeline-vips.test.ts.
 */
import type { Interval } from "./types";
import type { Range } from "./segments";

/** One VIP observation of a node: the addresses it held then (lower case). */
export interface VipChange {
  ts: number;
  held: readonly string[];
}

/** "192.0.2.100/24 dev eth0 label eth0:1" -> "192.0.2.100" (as the live overview shows it) */
export function vipAddress(vip: string): string {
  return vip.trim().split(/\s+/)[0].split("/")[0].toLowerCase();
}

/**
 * Intervals inside [range.from, min(range.to, now)] during which the node held
 * any of `vips`. The newest observation at or before range.from gives the state
 * at the start. While the agent was offline (`offline`) nothing is known, so
 * those times are cut out.
 */
export function heldIntervals(
  changes: readonly VipChange[],
  vips: readonly string[],
  offline: readonly Interval[],
  range: Range,
  now: number,
): Interval[] {
  const end = Math.min(range.to, now);
  if (vips.length === 0 || end <= range.from) return [];
  const wanted = new Set(vips.map(vipAddress));
  const raw: Interval[] = [];
  let since: number | null = null;
  for (const c of [...changes].sort((a, b) => a.ts - b.ts)) {
    if (c.ts >= end) break;
    const holds = c.held.some((a) => wanted.has(a.toLowerCase()));
    const t = Math.max(c.ts, range.from);
    if (holds && since === null) since = t;
    else if (!holds && since !== null) {
      if (t > since) raw.push({ from: since, to: t });
      since = null;
    }
  }
  if (since !== null && end > since) raw.push({ from: since, to: end });
  return subtract(raw, offline);
}

/** `a` minus the union of `b`. */
export function subtract(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const cuts = [...b].sort((x, y) => x.from - y.from);
  const out: Interval[] = [];
  for (const i of a) {
    let cursor = i.from;
    for (const c of cuts) {
      if (c.to <= cursor || c.from >= i.to) continue;
      if (c.from > cursor) out.push({ from: cursor, to: c.from });
      cursor = Math.max(cursor, c.to);
    }
    if (cursor < i.to) out.push({ from: cursor, to: i.to });
  }
  return out;
}
