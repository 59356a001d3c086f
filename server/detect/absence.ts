/**
 * DUAL_MASTER over an agent's absence, judged after the fact.
 *
 * While a node's agent is away its instances are UNKNOWN and the live detectors leave it out: a peer that
 * became MASTER meanwhile while the node stayed MASTER was a split brain nobody could see (truth lab seed
 * 3107 of session 31: h2 MASTER for 5.5 s on an auth mismatch while the agent of h1, the MASTER, was away;
 * h1's backlog held no state change, so nothing was raised).
 *
 * Once the agent is back and its backlog has arrived (a timer gated on the node's own stream: it fires when
 * the node has sent records stamped after its return + the grace, or at the latest the delivery allowance
 * later), the states of the virtual routers' members over the absence are known: keepalived logs every
 * state change, so a member whose node logged no change kept its state. The judge replays, in time order
 * from the states at the moment the agent went away, the lines each member's node sent since that moment
 * (the absent node's backlog, the peers' live lines) with the engine's own reading of lines as state
 * changes (transitions.ts). Every stretch in which two or more nodes had a MASTER member for longer than the
 * grace and that ended before the agent came back is reported as a DUAL_MASTER opened and closed at its
 * own times, with the cause found as for a live one (dual-cause.ts) and a line saying it was judged after
 * the fact. A stretch still going on when the agent came back is the live detector's (it judges from then).
 *
 * Nothing is claimed when the picture is incomplete: a member's node whose lines since then no longer all
 * fit its ring, that reported lost records (a `gap` fact) since shortly before, that was itself away
 * meanwhile, members that changed meanwhile (a configuration that added, removed or regrouped an instance;
 * one that changed only other fields, a password say, leaves the picture whole), or a returning node whose keepalived is reported
 * stopped or gone (it may have ended at any moment of the absence, and a killed keepalived logs nothing).
 * Only state lines, sync-group lines, VIP-setting lines and keepalived's start/stop lines are read: what the
 * node held while away is unknown (no VIP report), so only keepalived's own word counts.
 */
import { graceMs, instancesOf, iso, list, subject, type Ctx } from "./context";
import type { Absence, Group, InstRec, KState, LogEntry, NodeRec } from "./model";
import { dualCause } from "./dual-cause";
import type { DualNow } from "./dual";
import { stateChanges } from "./transitions";

/** a gap reported this long before an absence began may have hidden lines of the absence's start */
const GAP_LOOKBACK_MS = 60_000;

/** the node's agent went away (online -> false): remember what the absence will be judged from */
export function beginAbsence(ctx: Ctx, node: NodeRec, at: number): void {
  ctx.timers.cancel(absenceKey(node));
  const pushed = new Map<string, number>();
  for (const n of ctx.model.nodes.values()) pushed.set(n.name, n.eventsPushed);
  const groups: Absence["groups"] = new Map();
  for (const g of ctx.model.groupsOfNode(node)) {
    if (g.vrid === null) continue;
    const members = new Map<string, { rec: InstRec; state: KState | null; entry: LogEntry | null }>();
    for (const [k, r] of g.members) {
      if (r.node !== node.name && ctx.model.nodes.get(r.node)?.online !== true) continue; // judged without a node unknown then: see judge()
      members.set(k, { rec: r, state: r.state, entry: r.entry });
    }
    groups.set(g, { members, pendingDual: g.dual.since !== null && g.dual.slot === null ? g.dual.since : null });
  }
  node.away = { from: at, pushed, groups, back: null };
}

/** the node's agent is back: judge its absence once its backlog has arrived */
export function endAbsence(ctx: Ctx, node: NodeRec, at: number): void {
  const a = node.away;
  node.away = null;
  if (!a) return;
  a.back = at;
  node.lastAbsence = { from: a.from, to: at };
  let settle = 0;
  for (const g of a.groups.keys()) settle = Math.max(settle, graceMs(ctx, g));
  if (a.groups.size === 0) return;
  ctx.timers.set(absenceKey(node), Math.max(at, ctx.timers.reached) + settle, () => judge(ctx, node, a), { node: node.name });
}

const absenceKey = (node: NodeRec) => `absence:${node.name}`;

function judge(ctx: Ctx, node: NodeRec, a: Absence): void {
  const back = a.back!;
  if (!node.online) return; // away again: its backlog may not be complete
  if (node.keepalived === "down" || node.keepalived === "stopped") return;
  for (const [g, snap] of a.groups) judgeGroup(ctx, node, a, back, g, snap);
}

type Snap = Absence["groups"] extends Map<Group, infer S> ? S : never;

function judgeGroup(ctx: Ctx, node: NodeRec, a: Absence, back: number, g: Group, snap: Snap): void {
  const c = g.dual;
  if (c.since !== null || c.slot !== null) return; // a split brain of the live picture is pending or open
  // the members now are those it was judged from (a peer unknown then, or a configuration change, ends it)
  if (g.members.size !== snap.members.size || [...g.members.keys()].some((k) => !snap.members.has(k))) return;
  const nodes = [...new Set([...snap.members.values()].map((m) => m.rec.node))].sort();
  const lines: LogEntry[] = [];
  for (const name of nodes) {
    const n = ctx.model.nodes.get(name);
    if (!n || !n.online) return;
    if (n !== node && n.lastAbsence !== null && n.lastAbsence.to > a.from && n.lastAbsence.from < back) return;
    if (n.gapAt !== null && n.gapAt >= a.from - GAP_LOOKBACK_MS) return;
    const since = n.eventsPushed - (a.pushed.get(name) ?? 0);
    if (since > n.events.size) return; // lines of the absence were pushed out of the ring
    for (let i = n.events.size - since; i < n.events.size; i++) {
      const e = n.events.at(i)!;
      if (e.ts <= back) lines.push(e);
    }
  }
  lines.sort((x, y) => x.ts - y.ts || (x.node < y.node ? -1 : x.node > y.node ? 1 : 0));

  // replay: member states from the moment the agent went away
  const cur = new Map<string, { rec: InstRec; state: KState | null; entry: LogEntry | null }>();
  for (const [k, m] of snap.members) cur.set(k, { ...m });
  const byNode = (name: string) => [...cur.values()].filter((m) => m.rec.node === name);
  const mastersNow = () => {
    const out = new Map<string, InstRec[]>();
    for (const m of cur.values()) {
      if (m.state !== "MASTER") continue;
      const r: InstRec = { ...m.rec, state: "MASTER", entry: m.entry };
      const l = out.get(m.rec.node);
      if (l) l.push(r);
      else out.set(m.rec.node, [r]);
    }
    return out;
  };
  const found: { from: number; to: number; masters: Map<string, InstRec[]> }[] = [];
  let since: number | null = null;
  let picture = mastersNow();
  if (picture.size >= 2) since = snap.pendingDual ?? a.from;
  for (const e of lines) {
    const mine = byNode(e.node);
    if (mine.length === 0) continue;
    const changes = stateChanges(e.event!, mine.map((m) => ({ name: m.rec.name, state: m.state, syncGroup: m.rec.cfg?.syncGroup ?? null })));
    let changed = false;
    for (const ch of changes) {
      const m = mine.find((x) => x.rec.name === ch.instance);
      if (!m || m.state === ch.state) continue;
      m.state = ch.state;
      m.entry = e;
      changed = true;
    }
    if (!changed) continue;
    const t = Math.max(e.ts, a.from);
    const now = mastersNow();
    if (now.size >= 2) {
      if (since === null) since = t;
      picture = now;
    } else if (since !== null) {
      found.push({ from: since, to: t, masters: picture });
      since = null;
    }
  }

  const slot = `DUAL_MASTER:${g.scope}`;
  for (const f of found) {
    if (f.to - f.from <= graceMs(ctx, g)) continue;
    if (ctx.reg.reportedDuring(slot, f.from, f.to)) continue;
    const involved = new Set(f.masters.keys());
    const d: DualNow = { masters: f.masters, doubleVips: new Map(), involved };
    const prevEnded = c.endedAt <= f.from ? c.endedAt : -Infinity;
    const { cause, evidence } = dualCause(ctx, g, d, f.from, f.to, prevEnded);
    const stayed = [...involved].includes(node.name) ? `, and its lines show ${node.name} ${(f.masters.get(node.name) ?? []).some((r) => r.entry && r.entry.ts > a.from) ? "becoming" : "staying"} MASTER` : "";
    cause.summary += ` (found after the fact: the agent on ${node.name} was away from ${iso(a.from)} to ${iso(back)}${stayed})`;
    evidence.push({
      node: node.name, at: back, kind: "liveness",
      line: `judged when the agent on ${node.name} came back (${iso(back)}) and its backlog had arrived: ${list([...involved].sort())} MASTER for ${subject(g)} from ${iso(f.from)} to ${iso(f.to)}`,
    });
    ctx.reg.open({
      kind: "DUAL_MASTER", slot, severity: "critical", scope: g.scope, vrid: g.vrid, family: g.family,
      instances: instancesOf(ctx, g, involved), nodes: [...involved], openedAt: f.from, cause, evidence,
    });
    ctx.reg.close(slot, f.to);
    if (f.to > c.endedAt) c.endedAt = f.to;
  }
}
