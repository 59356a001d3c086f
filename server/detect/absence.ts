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
 * node held while away is unknown (no VIP report), so only keepalived's own word counts. One exception, by
 * keepalived's own behaviour: addresses a keepalived gone without a logged shutdown left on the interface
 * (its last VIP report before the absence, or a start line that follows its MASTER line with no shutdown)
 * stay there until it starts again and removes them; they claim the router as a MASTER does (truth lab seed
 * 4603 of session 36: h1's keepalived SIGKILLed as MASTER, its agent stopped 2 s later, the peers took over
 * while h1 kept the addresses until its keepalived restarted).
 */
import { graceMs, instancesOf, iso, list, logEv, subject, vipEv, type Ctx } from "./context";
import { vipAddress, type Absence, type Group, type InstRec, type KState, type LogEntry, type NodeRec } from "./model";
import type { Evidence } from "./types";
import { dualCause } from "./dual-cause";
import type { DualNow } from "./dual";
import { stateChanges } from "./transitions";

/** a gap reported this long before an absence began may have hidden lines of the absence's start */
const GAP_LOOKBACK_MS = 60_000;

/** the node's agent went away (online -> false): remember what the absence will be judged from */
export function beginAbsence(ctx: Ctx, node: NodeRec, at: number, vipsKnown: boolean): void {
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
    // a keepalived gone without a logged shutdown left the VIPs it held on the interface (KEEPALIVED.md): they
    // stay until keepalived starts again and removes them, whatever its peers do meanwhile
    const held = node.keepalived === "down" && vipsKnown
      ? [...g.vips].sort().flatMap((address) => {
        const h = node.held.get(address);
        return h ? [{ address, ts: h.ts, id: h.id }] : [];
      })
      : [];
    const leftBehind = held.length ? { vips: held, down: node.downEntry } : null;
    groups.set(g, { members, pendingDual: g.dual.since !== null && g.dual.slot === null ? g.dual.since : null, leftBehind });
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
  // nodes whose keepalived ended without a logged shutdown and whose VIPs of the router stayed on the interface
  // (KEEPALIVED.md): they claim the addresses as a MASTER does until keepalived starts again and removes them
  // ("(NAME) removing VIPs.", then its "(init)" state) or a shutdown is logged. Each with the addresses and the
  // evidence: the VIP report and the process fact (gone before the absence), or its last MASTER line and the
  // start that followed it with no shutdown logged between (gone during the absence)
  const left = new Map<string, { vips: string[]; ev: Evidence[] }>();
  if (snap.leftBehind) {
    const lb = snap.leftBehind;
    left.set(node.name, {
      vips: lb.vips.map((v) => v.address),
      ev: [
        ...(lb.down ? [{ ...logEv(lb.down), kind: "liveness" as const, line: `${lb.down.line}; no "Stopping" line was logged` }] : []),
        ...lb.vips.map((v) => vipEv(node, v.address, true, v.ts, v.id)),
      ],
    });
  }
  const leftNow = new Set(left.keys());
  const claimsNow = () => new Set([...mastersNow().keys(), ...leftNow]);
  const found: { from: number; to: number; masters: Map<string, InstRec[]>; left: Set<string> }[] = [];
  let since: number | null = null;
  let picture = mastersNow();
  let pictureLeft = new Set(leftNow);
  if (claimsNow().size >= 2) since = snap.pendingDual ?? a.from;
  for (const e of lines) {
    const mine = byNode(e.node);
    if (mine.length === 0) continue;
    const x = e.event!;
    let changed = false;
    if (leftNow.has(e.node)) {
      // the VIPs left behind are gone: removed at keepalived's start (or set again as MASTER), or by a shutdown
      const names = new Set(mine.map((m) => m.rec.name));
      if (((x.type === "vips" || x.type === "state") && names.has(x.instance)) || (x.type === "daemon" && (x.what === "stopping" || x.what === "stopped"))) {
        leftNow.delete(e.node);
        left.get(e.node)!.ev.push(logEv(e));
        changed = true;
      }
    } else if (x.type === "daemon" && x.what === "starting") {
      // a start with no shutdown logged since the node's MASTER line: that run ended (killed, crashed) as MASTER
      // and its VIPs stayed
      const m = mine.find((r) => r.state === "MASTER" && (r.rec.cfg?.vips.length ?? 0) > 0);
      if (m) {
        left.set(e.node, { vips: (m.rec.cfg?.vips ?? []).map(vipAddress), ev: [...(m.entry ? [logEv(m.entry)] : []), { ...logEv(e), line: `${e.line} (no "Stopping" line was logged before it)` }] });
        leftNow.add(e.node);
      }
    }
    const changes = stateChanges(x, mine.map((m) => ({ name: m.rec.name, state: m.state, syncGroup: m.rec.cfg?.syncGroup ?? null })));
    for (const ch of changes) {
      const m = mine.find((r) => r.rec.name === ch.instance);
      if (!m || m.state === ch.state) continue;
      m.state = ch.state;
      m.entry = e;
      changed = true;
    }
    if (!changed) continue;
    const t = Math.max(e.ts, a.from);
    if (claimsNow().size >= 2) {
      if (since === null) since = t;
      picture = mastersNow();
      pictureLeft = new Set(leftNow);
    } else if (since !== null) {
      found.push({ from: since, to: t, masters: picture, left: pictureLeft });
      since = null;
    }
  }

  const slot = `DUAL_MASTER:${g.scope}`;
  for (const f of found) {
    if (f.to - f.from <= graceMs(ctx, g)) continue;
    if (ctx.reg.reportedDuring(slot, f.from, f.to)) continue;
    const involved = new Set([...f.masters.keys(), ...f.left]);
    // the addresses left behind, each held by the node that left it and by the MASTERs that took it over
    const doubleVips = new Map<string, NodeRec[]>();
    for (const n of [...f.left].sort()) {
      for (const address of left.get(n)!.vips) {
        doubleVips.set(address, [...new Set([n, ...f.masters.keys()])].sort().map((h) => ctx.model.nodes.get(h)!));
      }
    }
    const d: DualNow = { masters: new Map([...f.masters].filter(([n]) => !f.left.has(n))), doubleVips, involved };
    const prevEnded = c.endedAt <= f.from ? c.endedAt : -Infinity;
    const leftBehind = new Map([...f.left].map((n) => [n, left.get(n)!.ev]));
    const { cause, evidence } = dualCause(ctx, g, d, f.from, f.to, prevEnded, leftBehind.size ? { leftBehind } : undefined);
    const stayed = f.left.has(node.name)
      ? `, and ${node.name}, its keepalived gone without a logged shutdown, kept the addresses until it started again`
      : [...involved].includes(node.name) ? `, and its lines show ${node.name} ${(f.masters.get(node.name) ?? []).some((r) => r.entry && r.entry.ts > a.from) ? "becoming" : "staying"} MASTER` : "";
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
