/**
 * Failovers counted from stored state changes. Pure; unit-tested in test/unit/stats-failovers.test.ts.
 *
 * Peers are grouped per virtual router: by VRID when the row knows it, else by instance name.
 * A failover is a node ENTERING MASTER for a virtual router whose previous MASTER was another node.
 * "Previous MASTER" is the node currently MASTER when there is one (a preempting node enters MASTER
 * a few milliseconds before the old one steps down: that is one handover), otherwise the last node
 * that was MASTER. So:
 * - a MASTER that fails and comes back with no one taking over in between is not a failover;
 * - A -> B -> A is two failovers;
 * - a split brain (B enters MASTER while A still is) counts once, when B enters; A staying MASTER
 *   when B steps back is not another one.
 * A node-wide keepalived shutdown (instance "*", STOP) takes that node out of every virtual router.
 */

export interface StateRow {
  /** any stable node identity (name or id) */
  node: string;
  /** instance name; "*" for a node-wide STOP */
  instance: string;
  vrid: number | null;
  /** MASTER | BACKUP | FAULT | STOP */
  state: string;
  /** epoch ms */
  ts: number;
  /** tie-breaker for rows with equal ts (storage order) */
  seq?: number;
}

export interface FailoverCount {
  /** "51" for VRID 51, or "VI_1" (instance name) when the VRID is unknown */
  group: string;
  vrid: number | null;
  failovers: number;
  /** each counted handover: when, from which node, to which */
  handovers: { at: number; from: string; to: string }[];
}

interface Group {
  vrid: number | null;
  /** nodes that are MASTER now, in the order they entered */
  masters: string[];
  last: string | null;
  count: FailoverCount;
}

export const groupKey = (vrid: number | null, instance: string): string => (vrid === null ? instance : String(vrid));

const byTime = (a: StateRow, b: StateRow) => a.ts - b.ts || (a.seq ?? 0) - (b.seq ?? 0);

/**
 * Count handovers in [from, to]. `before` are rows older than `from` that establish who was MASTER
 * at the start of the range (e.g. the newest row per node and instance, and the newest MASTER row per
 * virtual router); they are replayed first and never counted. `rows` may contain rows outside the
 * range: only those inside it are counted.
 */
export function countFailovers(before: readonly StateRow[], rows: readonly StateRow[], from: number, to: number): FailoverCount[] {
  const groups = new Map<string, Group>();
  /** node -> groups it is MASTER in (for a node-wide STOP) */
  const masterOf = new Map<string, Set<string>>();

  const group = (key: string, vrid: number | null): Group => {
    let g = groups.get(key);
    if (!g) {
      g = { vrid, masters: [], last: null, count: { group: key, vrid, failovers: 0, handovers: [] } };
      groups.set(key, g);
    }
    return g;
  };

  const leave = (key: string, node: string) => {
    const g = groups.get(key);
    if (!g) return;
    g.masters = g.masters.filter((n) => n !== node);
    if (g.last === node && g.masters.length > 0) g.last = g.masters[g.masters.length - 1]!;
    masterOf.get(node)?.delete(key);
  };

  const apply = (r: StateRow, counting: boolean) => {
    if (r.instance === "*") {
      for (const key of [...(masterOf.get(r.node) ?? [])]) leave(key, r.node);
      return;
    }
    const key = groupKey(r.vrid, r.instance);
    const g = group(key, r.vrid);
    if (r.state !== "MASTER") {
      leave(key, r.node);
      return;
    }
    if (g.masters.includes(r.node)) return; // a repeated MASTER line
    const previous = g.masters.length > 0 ? g.masters[g.masters.length - 1]! : g.last;
    if (counting && previous !== null && previous !== r.node && r.ts >= from && r.ts <= to) {
      g.count.failovers += 1;
      g.count.handovers.push({ at: r.ts, from: previous, to: r.node });
    }
    g.masters.push(r.node);
    g.last = r.node;
    let set = masterOf.get(r.node);
    if (!set) masterOf.set(r.node, (set = new Set()));
    set.add(key);
  };

  for (const r of [...before].sort(byTime)) apply(r, false);
  for (const r of [...rows].sort(byTime)) apply(r, true);

  return [...groups.values()]
    .map((g) => g.count)
    .sort((a, b) => (a.vrid ?? Infinity) - (b.vrid ?? Infinity) || a.group.localeCompare(b.group));
}
