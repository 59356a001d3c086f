/**
 * The oracle's view of the observations as time series: a change-recorded value at any time, each
 * host+VRID's keepalived state, whether keepalived runs, runs of a per-tick flag, the configured fields
 * that must match, VRRP packet counts. Split from oracle.ts (which derives the labels from these).
 *
 * Independence: imports nothing from server/ (test/unit/truth-oracle-imports.test.ts).
 */
import { KA_STATE, type ActionRecord, type Observations, type RouterFields } from "./oracle-types";

/** the oracle's sampling step (ms) */
export const STEP = 100;

/** value of a change-recorded series at time t (the last record at or before t) */
export function stepper<T>(records: { t: number; v: T }[], initial: T): (t: number) => T {
  const rs = [...records].sort((a, b) => a.t - b.t);
  let i = 0;
  let cur = initial;
  let lastT = -Infinity;
  return (t: number) => {
    if (t < lastT) {
      i = 0;
      cur = initial;
    }
    lastT = t;
    while (i < rs.length && rs[i].t <= t) cur = rs[i++].v;
    return cur;
  };
}

/** per host+vrid state transitions from the dumps (last_transition pins the time) and the process record */
export function stateSeries(obs: Observations, host: string, vrid: number): { t: number; v: string }[] {
  const out: { t: number; v: string }[] = [];
  const events: { t: number; kind: "dump" | "proc"; state?: string; lt?: number; running?: boolean }[] = [];
  for (const d of obs.dumps) {
    if (d.host !== host) continue;
    const inst = d.instances.find((i) => i.vrid === vrid);
    // a running keepalived without an instance of this VRID (its configuration uses another VRID for the router)
    if (inst) events.push({ t: d.t, kind: "dump", state: KA_STATE[inst.state] ?? `S${inst.state}`, lt: inst.lastTransition });
    else events.push({ t: d.t, kind: "dump", state: "ABSENT", lt: d.t });
  }
  for (const p of obs.proc) if (p.host === host) events.push({ t: p.t, kind: "proc", running: p.running });
  // what the harness did: a stop or a kill ends every state of the host's keepalived then, even when the process
  // sampler missed the gap of a quick restart (seed 535: a MASTER stopped 1 s before its restart kept its MASTER
  // state until the restarted process's first state, 1.1 s too long); a dump the stopping process still prints
  // (a state older than the stop) is not a new state
  for (const k of obs.ka) if (k.host === host && (k.what === "stop" || k.what === "kill")) events.push({ t: k.t, kind: "proc", running: false });
  events.sort((a, b) => a.t - b.t);
  let prevT = -Infinity;
  let cur = "DOWN";
  let stoppedAt = -Infinity;
  for (const e of events) {
    if (e.kind === "proc") {
      const v = e.running ? "INIT" : "DOWN";
      if (v !== cur) out.push({ t: e.t, v });
      cur = v;
      if (!e.running) stoppedAt = e.t;
    } else if (cur === "DOWN" && e.lt !== undefined && e.state !== "ABSENT" && e.lt < stoppedAt) {
      // the stopped process's last words
    } else if (e.state !== cur) {
      const at = Math.min(e.t, Math.max(prevT, e.lt ?? e.t));
      out.push({ t: at, v: e.state! });
      cur = e.state!;
    }
    prevT = e.t;
  }
  return out;
}

/**
 * A host's keepalived running or not: the process sampler's changes, and the harness's stops and kills (it ended
 * the process then). A restart quicker than the sampler's period leaves no sample of the gap: then the next start
 * of the harness is when it ran again (a start the sampler did see is left to the sampler, so a keepalived that
 * died at once after its start is not taken for running).
 */
export function runningEvents(obs: Observations, h: string): { t: number; v: boolean }[] {
  const proc = obs.proc.filter((a) => a.host === h).map((a) => ({ t: a.t, v: a.running }));
  const ka = obs.ka.filter((a) => a.host === h && a.what !== "reload").sort((a, b) => a.t - b.t);
  const out = [...proc];
  ka.forEach((k, i) => {
    if (k.what !== "stop" && k.what !== "kill") return;
    out.push({ t: k.t, v: false });
    const next = ka[i + 1];
    if (next?.what === "start" && !proc.some((p) => p.t > k.t && p.t <= next.t + 2000)) out.push({ t: next.t, v: true });
  });
  return out.sort((a, b) => a.t - b.t);
}

/** the VRIDs an action hit itself (ActionRecord.origins); artifacts older than session 25 have only its VRID */
export function originsOfRecord(a: ActionRecord): number[] {
  return a.origins ?? (a.vrid === null ? [] : [a.vrid]);
}

export function runs(flags: boolean[], t0: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let s = -1;
  for (let i = 0; i <= flags.length; i++) {
    const on = i < flags.length && flags[i];
    if (on && s < 0) s = i;
    if (!on && s >= 0) {
      out.push({ start: t0 + s * STEP, end: t0 + i * STEP });
      s = -1;
    }
  }
  return out;
}

export const same = (a: RouterFields, b: RouterFields) =>
  a.authPass === b.authPass && a.advertInt === b.advertInt && [...a.vips].sort().join() === [...b.vips].sort().join() && (a.peers ?? []).join() === (b.peers ?? []).join();

export function driftFields(a: RouterFields, b: RouterFields): string[] {
  const f: string[] = [];
  if (a.authPass !== b.authPass) f.push("auth");
  if (a.advertInt !== b.advertInt) f.push("advert_int");
  if ([...a.vips].sort().join() !== [...b.vips].sort().join()) f.push("vips");
  if ((a.peers ?? []).join() !== (b.peers ?? []).join()) f.push("unicast_peers");
  return f;
}

/** VRRP packets a host received/sent between two times (its nftables counters; "?" without samples) */
export function vrrpDelta(obs: Observations, host: string, from: number, to: number): string {
  const xs = obs.vrrp.filter((x) => x.host === host);
  const before = [...xs].reverse().find((x) => x.t <= from) ?? xs.find((x) => x.t >= from);
  const after = [...xs].reverse().find((x) => x.t <= to);
  if (!before || !after || after.t <= before.t) return "?";
  return `${after.rx - before.rx}/${after.tx - before.tx}`;
}
