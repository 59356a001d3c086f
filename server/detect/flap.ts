/**
 * FLAPPING: one node's instance of a virtual router changed state at least flapCount times within
 * flapWindowMs. The first election after startup (leaving a `(init)` state) is not counted. One incident
 * per virtual router, naming every node that changed state during it.
 *
 * openedAt = the first counted change of the burst (the oldest change inside the window when the
 * threshold was reached); the incident closes once no member changed state for flapQuietMs, with
 * closedAt = the last state change (when the flapping actually stopped).
 *
 * Cause, from the nodes' lines since the burst began: a tracked script alternately failing and
 * succeeding ("tracked_script_toggling", with the script and priority lines as evidence), an interface
 * going down and up ("link_flapping"), repeated advert timeouts ("adverts_intermittent"), else "unknown".
 */
import type { Cause, Evidence } from "./types";
import { eventsIn, instancesOf, list, logEv, subject, type Ctx } from "./context";
import type { Group, InstRec, LogEntry } from "./model";
import { appendEvidence } from "./registry";

/** per node and virtual router, the most changes remembered (a flood cannot grow memory) */
const MAX_CHANGES = 256;

export function flapOnChange(ctx: Ctx, r: InstRec, entry: LogEntry): void {
  const g = r.group;
  const f = g.flap;
  let arr = f.changes.get(r.node);
  if (!arr) f.changes.set(r.node, (arr = []));
  arr.push(entry);
  const from = entry.ts - ctx.s.flapWindowMs;
  while (arr.length && (arr[0].ts < from || arr.length > MAX_CHANGES)) arr.shift();
  f.lastChange = f.lastChange === null ? entry.ts : Math.max(f.lastChange, entry.ts);
  const timerKey = `flap:${g.key}`;

  const open = ctx.reg.get(f.slot);
  if (open) {
    ctx.timers.set(timerKey, f.lastChange + ctx.s.flapQuietMs, (t) => quiet(ctx, g, t));
    if (!f.nodes.has(r.node)) {
      f.nodes.add(r.node);
      ctx.reg.update(open, (i) => {
        i.nodes = [...f.nodes].sort();
        i.instances = { ...i.instances, ...instancesOf(ctx, g, [r.node]) };
        appendEvidence(i.evidence, [logEv(entry)]);
        return true;
      });
    }
    return;
  }
  if (arr.length < ctx.s.flapCount) return;
  const openedAt = arr[0].ts;
  f.nodes = new Set();
  for (const [n, es] of f.changes) if (es.some((e) => e.ts >= openedAt)) f.nodes.add(n);
  const { cause, evidence } = flapCause(ctx, g, [...f.nodes].sort(), openedAt, entry.ts);
  f.slot = `FLAPPING:${g.scope}`;
  ctx.reg.open({
    kind: "FLAPPING", slot: f.slot, severity: "warning", scope: g.scope, vrid: g.vrid, family: g.family,
    instances: instancesOf(ctx, g, f.nodes), nodes: [...f.nodes], openedAt, cause, evidence,
  });
  ctx.timers.set(timerKey, f.lastChange + ctx.s.flapQuietMs, (t) => quiet(ctx, g, t));
}

function quiet(ctx: Ctx, g: Group, at: number): void {
  const f = g.flap;
  if (f.slot === null) return;
  ctx.reg.close(f.slot, f.lastChange ?? at);
  f.slot = null;
  f.nodes = new Set();
  f.changes.clear(); // the episode is over: a new one is counted from scratch
}

function flapCause(ctx: Ctx, g: Group, nodes: string[], from: number, to: number): { cause: Cause; evidence: Evidence[] } {
  const changes: Evidence[] = [];
  for (const n of nodes) for (const e of g.flap.changes.get(n) ?? []) if (e.ts >= from) changes.push(logEv(e));
  const subj = subject(g);
  const seconds = Math.max(1, Math.round((to - from) / 1000));
  const count = changes.length;

  for (const n of nodes) {
    const node = ctx.model.nodes.get(n)!;
    const recs = [...g.members.values()].filter((r) => r.node === n);
    const names = new Set(recs.map((r) => r.name));
    const tracked = new Set(recs.flatMap((r) => r.cfg?.trackScripts ?? []));
    const anyCfg = recs.some((r) => r.cfg);
    const lines = eventsIn(node, from - 10_000, to);
    const scripts = lines.filter((e) => e.event!.type === "script" && (!anyCfg || tracked.has((e.event as { script: string }).script)));
    const byScript = new Map<string, Set<string>>();
    for (const e of scripts) {
      const x = e.event as { script: string; result: string; code?: number };
      const ok = x.result === "succeeded" || (x.result === "returned" && x.code === 0);
      byScript.set(x.script, (byScript.get(x.script) ?? new Set()).add(ok ? "ok" : "fail"));
    }
    const toggling = [...byScript].filter(([, s]) => s.size > 1).map(([s]) => s);
    if (toggling.length) {
      const prio = lines.filter((e) => e.event!.type === "priority" && names.has((e.event as { instance: string }).instance));
      const fails = scripts.filter((e) => {
        const x = e.event as { result: string; code?: number };
        return x.result === "failed" || x.result === "timed_out" || (x.result === "returned" && x.code !== 0);
      }).length;
      return {
        cause: {
          code: "tracked_script_toggling",
          summary: `Tracked script ${list(toggling)} on ${n} keeps failing and recovering (${fails} failures since the flapping began), which moves ${subj}'s priority and MASTER role back and forth (${count} state changes in ${seconds} s)`,
        },
        evidence: pick([...scripts.map(logEv), ...prio.map(logEv)], changes),
      };
    }
    const links = lines.filter((e) => e.event!.type === "link");
    if (links.some((e) => (e.event as { up: boolean }).up) && links.some((e) => !(e.event as { up: boolean }).up)) {
      return {
        cause: { code: "link_flapping", summary: `An interface on ${n} keeps going down and up, so ${subj} changed state ${count} times in ${seconds} s` },
        evidence: pick(links.map(logEv), changes),
      };
    }
  }
  const timeouts: LogEntry[] = [];
  for (const n of nodes) {
    const names = new Set([...g.members.values()].filter((r) => r.node === n).map((r) => r.name));
    timeouts.push(...eventsIn(ctx.model.nodes.get(n)!, from - 10_000, to, (e) => e.event!.type === "advert_timeout" && names.has((e.event as { instance: string }).instance)));
  }
  if (timeouts.length >= 2) {
    return {
      cause: { code: "adverts_intermittent", summary: `Adverts for ${subj} are intermittently lost (${timeouts.length} advertisement timeouts), so ${list(nodes)} changed state ${count} times in ${seconds} s` },
      evidence: pick(timeouts.map(logEv), changes),
    };
  }
  return {
    cause: { code: "unknown", summary: `${subj} changed state ${count} times in ${seconds} s on ${list(nodes)} and no script, interface or advert timeout lines explain it` },
    evidence: pick([], changes),
  };
}

/** cause lines first, then state changes, within the evidence limit */
function pick(cause: Evidence[], changes: Evidence[]): Evidence[] {
  return [...cause.slice(-30), ...changes.slice(-(50 - Math.min(30, cause.length)))];
}
