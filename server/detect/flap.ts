/**
 * FLAPPING is about the virtual router, not about lines: it counts changes of WHO holds the MASTER role
 * of a VRID. A change = a different single MASTER than the previous single MASTER (also across a time
 * with no MASTER: A -> nobody -> B). Evaluated with the other detectors on every state/VIP/config change.
 *
 * Not counted (already explained, or not a change of the role):
 * - the first election after start (no previous single MASTER; also after every member stopped), and
 *   a node's first MASTER straight from its `(init)` state within the master-down time (GN + 1 s) of
 *   that state (its keepalived just started and preempted);
 * - a planned failover: the previous MASTER left the role because its keepalived shut down (state STOP), also
 *   when its next run had already started (a quick restart) by the time a peer took over;
 * - the change that ends an explained episode: the new MASTER left FAULT, or a FAULT, DUAL_MASTER or
 *   KEEPALIVED_DOWN of the VRID ended, within the takeover time (GN + 1 s) before (the role going back to the
 *   preferred MASTER, or the split brain resolving, is the same episode, not a new change);
 * - a change while a FAULT, DUAL_MASTER or KEEPALIVED_DOWN of the same VRID is open;
 * - a sync-group mirror: the same node became MASTER of another VRID of the same sync group within
 *   SYNC_MIRROR_MS and that change was already counted there;
 * - the same MASTER again (A -> nobody -> A), and overlaps (two MASTERs: DUAL_MASTER's business).
 *
 * Hysteresis (as Nagios flap detection): opens at >= flapCount counted changes within flapWindowMs
 * (openedAt = the first change in that window); the rate is "low" once at most 1 change is inside the
 * window (from second-latest change + W on); it closes when the rate stayed low for flapQuietMs, i.e. at
 * secondLatest + W + Q, and closedAt is that moment (the end of the documented quiet period).
 *
 * Cause: needs >= 2 cycles of the same kind of evidence in the lines of the members (from 10 s before the
 * first change): a tracked script going fail -> ok twice (`tracked_script_toggling`), an interface going
 * down -> up twice (`link_flapping`), two or more advert timeouts (`adverts_intermittent`); otherwise
 * `unexplained` with the role-change lines. An unexplained cause is re-checked on every further change.
 */
import type { Cause, Evidence } from "./types";
import { eventsIn, instancesOf, list, logEv, noMasterGraceMs, subject, type Ctx } from "./context";
import type { Group, InstRec, LogEntry } from "./model";
import { appendEvidence } from "./registry";

/** changes remembered per virtual router (a flood cannot grow memory) */
const MAX_CHANGES = 256;
/** a sync group's members change together within this time */
export const SYNC_MIRROR_MS = 2000;
/** how far before the first change the cause is looked for */
const CAUSE_LOOKBACK_MS = 10_000;

export interface RoleChange {
  at: number;
  from: string;
  to: string;
  /** the new MASTER's state line and the previous MASTER's line leaving the role (when known) */
  entries: LogEntry[];
}

/** the FLAPPING state of one virtual router */
export interface FlapState {
  /** the last single MASTER (null before the first election, or after every member stopped) */
  holder: string | null;
  /** counted changes, oldest first */
  changes: RoleChange[];
  slot: string | null;
  nodes: Set<string>;
  /** an explaining incident (FAULT, DUAL_MASTER, KEEPALIVED_DOWN) was open at the previous evaluation */
  wasExplained: boolean;
  /** when the last explaining episode ended (seen at the first evaluation without it) */
  explainedEnd: number;
}

export const newFlap = (): FlapState => ({ holder: null, changes: [], slot: null, nodes: new Set(), wasExplained: false, explainedEnd: -Infinity });

/** is a change of this group's MASTER role already explained by an open incident of the same VRID? */
export function explained(ctx: Ctx, g: Group): boolean {
  if (g.dual.slot !== null) return true;
  for (const r of g.members.values()) {
    if (r.faultSlot !== null) return true;
    const n = ctx.model.nodes.get(r.node);
    if (n && (n.downSlot !== null || n.keepalived === "down")) return true;
  }
  return false;
}

export function evaluateFlap(ctx: Ctx, g: Group, at: number): void {
  const f = g.flap;
  const isExplained = explained(ctx, g);
  if (f.wasExplained && !isExplained) f.explainedEnd = at;
  f.wasExplained = isExplained;
  const masters = new Map<string, InstRec>();
  let running = false;
  for (const r of g.members.values()) {
    const n = ctx.model.nodes.get(r.node)!;
    if (r.state !== null && r.state !== "STOP") running = true;
    if (r.state === "MASTER" && n.online && !masters.has(r.node)) masters.set(r.node, r);
  }
  if (!running) {
    f.holder = null; // every member stopped: the next MASTER is a first election
    return;
  }
  if (masters.size !== 1) return;
  const [[m, rec]] = [...masters];
  if (f.holder === null) {
    f.holder = m;
    return;
  }
  if (f.holder === m) return;
  const prev = f.holder;
  f.holder = m;
  if (isExplained) return;
  // a planned failover: the previous MASTER's keepalived was stopped with a logged shutdown; and the first
  // election of a (re)started keepalived (its preemption right after start) is not a change of role to count
  const old = [...g.members.values()].find((r) => r.node === prev) ?? null;
  const takeover = noMasterGraceMs(ctx, g) + 1000;
  const firstElection = rec.afterInit && rec.initAt !== null && (rec.since ?? at) - rec.initAt <= takeover;
  // the change that ends an explained episode (the role going back to a node that just left FAULT, a split
  // brain resolving): within the takeover time of its end, the same episode, not a new change
  const recovered = at - f.explainedEnd <= takeover;
  const planned = old?.state === "STOP" || old?.leftMaster === "STOP";
  if (planned || firstElection || recovered) return;
  if (syncMirror(ctx, rec, at)) return;
  const left = old?.entry ?? null;
  at = rec.since ?? at;
  f.changes.push({ at, from: prev, to: m, entries: [rec.entry, left].filter((e): e is LogEntry => e !== null) });
  while (f.changes.length > MAX_CHANGES) f.changes.shift();
  const inWindow = f.changes.filter((c) => c.at > at - ctx.s.flapWindowMs);
  const timerKey = `flap:${g.key}`;
  const open = ctx.reg.get(f.slot);
  if (open) {
    armQuiet(ctx, g, timerKey);
    const add = [prev, m].filter((n) => !f.nodes.has(n));
    for (const n of add) f.nodes.add(n);
    ctx.reg.update(open, (i) => {
      i.nodes = [...f.nodes].sort();
      i.instances = { ...i.instances, ...instancesOf(ctx, g, f.nodes) };
      if (i.cause.code === "unexplained") {
        const c = flapCause(ctx, g, [...f.nodes].sort(), i.openedAt, at);
        if (c.cause.code !== "unexplained") {
          i.cause = c.cause;
          appendEvidence(i.evidence, c.evidence);
        }
      }
      appendEvidence(i.evidence, f.changes[f.changes.length - 1].entries.map(logEv));
      return true;
    });
    return;
  }
  if (inWindow.length < ctx.s.flapCount) return;
  const openedAt = inWindow[0].at;
  f.nodes = new Set(inWindow.flatMap((c) => [c.from, c.to]));
  const { cause, evidence } = flapCause(ctx, g, [...f.nodes].sort(), openedAt, at);
  f.slot = `FLAPPING:${g.scope}`;
  ctx.reg.open({
    kind: "FLAPPING", slot: f.slot, severity: "warning", scope: g.scope, vrid: g.vrid, family: g.family,
    instances: instancesOf(ctx, g, f.nodes), nodes: [...f.nodes], openedAt, cause, evidence,
  });
  armQuiet(ctx, g, timerKey);
}

/** close at the end of the quiet period: second-latest change + W (rate <= 1 per W from then) + Q */
function armQuiet(ctx: Ctx, g: Group, timerKey: string): void {
  const cs = g.flap.changes;
  const low = cs.length >= 2 ? cs[cs.length - 2].at + ctx.s.flapWindowMs : cs[cs.length - 1].at;
  ctx.timers.set(timerKey, low + ctx.s.flapQuietMs, (t) => quiet(ctx, g, t));
}

function quiet(ctx: Ctx, g: Group, at: number): void {
  const f = g.flap;
  if (f.slot === null) return;
  ctx.reg.close(f.slot, at);
  f.slot = null;
  f.nodes = new Set();
}

/** the same node just became MASTER of another VRID of its sync group, and that change was counted */
function syncMirror(ctx: Ctx, r: InstRec, at: number): boolean {
  const sg = r.cfg?.syncGroup;
  if (!sg) return false;
  const key = `${r.node}\u0000${sg}`;
  const last = ctx.model.syncChanges.get(key);
  ctx.model.syncChanges.set(key, at);
  return last !== undefined && at - last <= SYNC_MIRROR_MS;
}

type Bin = "a" | "b";

/** cycles in a sequence of two-valued observations: a -> b counted once per return to b after a */
function cycles(seq: Bin[], from: Bin): number {
  let n = 0;
  let prev: Bin | null = null;
  for (const x of seq) {
    if (prev === from && x !== from) n++;
    prev = x;
  }
  return n;
}

export function flapCause(ctx: Ctx, g: Group, nodes: string[], from: number, to: number): { cause: Cause; evidence: Evidence[] } {
  const changes = g.flap.changes.filter((c) => c.at >= from && c.at <= to);
  const changeEv = changes.flatMap((c) => c.entries.map(logEv));
  const subj = subject(g);
  const seconds = Math.max(1, Math.round((to - from) / 1000));
  const count = changes.length;
  const memberNodes = [...new Set([...nodes, ...[...g.members.values()].map((r) => r.node)])].sort();

  for (const n of memberNodes) {
    const node = ctx.model.nodes.get(n);
    if (!node) continue;
    const recs = [...g.members.values()].filter((r) => r.node === n);
    const names = new Set(recs.map((r) => r.name));
    const tracked = new Set(recs.flatMap((r) => r.cfg?.trackScripts ?? []));
    const anyCfg = recs.some((r) => r.cfg);
    const lines = eventsIn(node, from - CAUSE_LOOKBACK_MS, to);
    const scripts = lines.filter((e) => e.event!.type === "script" && (!anyCfg || tracked.has((e.event as { script: string }).script)));
    const byScript = new Map<string, { seq: Bin[]; lines: LogEntry[] }>();
    for (const e of scripts) {
      const x = e.event as { script: string; result: string; code?: number };
      const ok = x.result === "succeeded" || (x.result === "returned" && x.code === 0);
      const s = byScript.get(x.script) ?? { seq: [], lines: [] };
      byScript.set(x.script, s);
      s.seq.push(ok ? "b" : "a");
      s.lines.push(e);
    }
    const toggling = [...byScript].filter(([, s]) => cycles(s.seq, "a") >= 2);
    if (toggling.length) {
      const prio = lines.filter((e) => e.event!.type === "priority" && names.has((e.event as { instance: string }).instance));
      const fails = toggling.reduce((k, [, s]) => k + s.seq.filter((x) => x === "a").length, 0);
      return {
        cause: {
          code: "tracked_script_toggling",
          summary: `Tracked script ${list(toggling.map(([s]) => s))} on ${n} keeps failing and recovering (${fails} failures), which moves ${subj}'s priority and MASTER role back and forth (${count} changes of the MASTER in ${seconds} s)`,
        },
        evidence: pick([...toggling.flatMap(([, s]) => s.lines).map(logEv), ...prio.map(logEv)], changeEv),
      };
    }
    const byIf = new Map<string, { seq: Bin[]; lines: LogEntry[] }>();
    const ifaces = new Set(recs.flatMap((r) => [...(r.cfg?.interface ? [r.cfg.interface] : []), ...(r.cfg?.trackInterfaces ?? [])]));
    for (const e of lines) {
      const x = e.event!;
      if (x.type !== "link") continue;
      const ifname = x.iface ?? "";
      if (anyCfg && ifaces.size && ifname && !ifaces.has(ifname)) continue;
      const s = byIf.get(ifname) ?? { seq: [], lines: [] };
      byIf.set(ifname, s);
      s.seq.push(x.up ? "b" : "a");
      s.lines.push(e);
    }
    const flapping = [...byIf].filter(([, s]) => cycles(s.seq, "a") >= 2);
    if (flapping.length) {
      return {
        cause: { code: "link_flapping", summary: `Interface ${list(flapping.map(([i]) => i).filter(Boolean)) || "(unnamed)"} on ${n} keeps going down and up, so the MASTER of ${subj} changed ${count} times in ${seconds} s` },
        evidence: pick(flapping.flatMap(([, s]) => s.lines).map(logEv), changeEv),
      };
    }
  }
  const timeouts: LogEntry[] = [];
  for (const n of memberNodes) {
    const node = ctx.model.nodes.get(n);
    if (!node) continue;
    const names = new Set([...g.members.values()].filter((r) => r.node === n).map((r) => r.name));
    timeouts.push(...eventsIn(node, from - CAUSE_LOOKBACK_MS, to, (e) => e.event!.type === "advert_timeout" && names.has((e.event as { instance: string }).instance)));
  }
  if (timeouts.length >= 2) {
    return {
      cause: { code: "adverts_intermittent", summary: `Adverts for ${subj} are intermittently lost (${timeouts.length} advertisement timeouts), so the MASTER changed ${count} times in ${seconds} s between ${list(nodes)}` },
      evidence: pick(timeouts.map(logEv), changeEv),
    };
  }
  const around: Evidence[] = [];
  for (const n of nodes) {
    const node = ctx.model.nodes.get(n);
    if (node) around.push(...eventsIn(node, from - CAUSE_LOOKBACK_MS, to).slice(-10).map(logEv));
  }
  return {
    cause: { code: "unexplained", summary: `The MASTER of ${subj} changed ${count} times in ${seconds} s between ${list(nodes)}, and no repeated script, interface or advert-timeout lines explain it (the lines are attached)` },
    evidence: pick(around, changeEv),
  };
}

/** cause lines first, then the role changes, within the evidence limit */
function pick(cause: Evidence[], changes: Evidence[]): Evidence[] {
  return [...cause.slice(-30), ...changes.slice(-(50 - Math.min(30, cause.length)))];
}
