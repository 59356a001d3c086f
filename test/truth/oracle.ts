/**
 * The truth lab's oracle: from what the harness OBSERVED (kernel addresses,
 * keepalived processes, keepalived's own JSON dumps, VRRP packet counters)
 * and what it DID (the schedule: kills, graceful stops, config writes, agent
 * restarts), derive truth intervals and label them with the incidents the
 * detection definitions (docs/DETECTION.md, the definitions of issue 12)
 * require: kind, VRID, hosts, cause class, time window; plus "don't care"
 * windows where the definitions leave a kind ambiguous.
 *
 * Independence: this file (and every oracle*.ts) imports nothing from
 * server/ except the wire protocol's types (test/unit/truth-oracle-imports.test.ts).
 */
import {
  CAUSE_CODES, DEFS, DRIFT_CAUSE, type ActionRecord, type Defs, type Kind, type Label, type Observations, type RouterFields, type Truth, type Window,
} from "./oracle-types";
import { mergeWithinHoldDown } from "./oracle-lifecycle";
import { driftFields, originsOfRecord, runningEvents, runs, same, stateSeries, stepper, STEP, vrrpDelta } from "./oracle-series";

export * from "./oracle-types";
export { mergeWithinHoldDown } from "./oracle-lifecycle";
export { vrrpDelta } from "./oracle-series";

/** a keepalived the lab started and not yet seen running is starting for this long, not down */
const STARTUP_MS = 5000;

export function deriveTruth(obs: Observations, defs: Defs = DEFS): Truth {
  const t0 = obs.startedAt;
  const n = Math.max(0, Math.ceil((obs.endedAt - t0) / STEP));
  const T = (i: number) => t0 + i * STEP;
  const labels: Label[] = [];
  const dontCare: Window[] = [];
  const intervals: Truth["intervals"] = [];
  const hosts = obs.hosts;

  const addrOf = new Map(hosts.map((h) => [h, stepper(obs.addr.filter((a) => a.host === h).map((a) => ({ t: a.t, v: a.ips })), [] as string[])]));
  // running: the process sampler's changes, and what the harness did (a start, a stop, a kill), which the sampler
  // misses when a restart is quicker than its period (seed 501: the lab's setup stops every host one by one and
  // starts them again; the sampler saw one host run throughout, so "keepalived ran" while none did)
  const runningOf = new Map(hosts.map((h) => [h, stepper(runningEvents(obs, h), false)]));
  const lastDidOf = new Map(hosts.map((h) => [h, stepper(obs.ka.filter((a) => a.host === h && a.what !== "reload").map((a) => ({ t: a.t, v: a.what as string })), "never")]));
  const agentOf = new Map(hosts.map((h) => [h, stepper(obs.agents.filter((a) => a.host === h).map((a) => ({ t: a.t, v: a.running })), false)]));
  const cfgOf = new Map(hosts.map((h) => [h, stepper(obs.configs.filter((a) => a.host === h).map((a) => ({ t: a.t, v: a.routers })), {} as Record<number, RouterFields>)]));
  const stateOf = new Map<string, (t: number) => string>();
  for (const h of hosts) for (const v of obs.vrids) stateOf.set(`${h}/${v}`, stepper(stateSeries(obs, h, v), "DOWN"));

  const startsOf = new Map(hosts.map((h) => [h, obs.ka.filter((k) => k.host === h && k.what === "start").map((k) => k.t).sort((a, b) => a - b)]));
  /** the last (re)start of keepalived on h at or before t (-Infinity: none seen) */
  const lastStart = (h: string, t: number) => {
    let best = -Infinity;
    for (const x of startsOf.get(h) ?? []) if (x <= t) best = x;
    return best;
  };

  const upOf = new Map(hosts.map((h) => [h, obs.proc.filter((p) => p.host === h && p.running).map((p) => p.t)]));
  /** keepalived seen running on h in [from, t] */
  const upSince = (h: string, from: number, t: number) => upOf.get(h)!.some((x) => x >= from && x <= t);

  // per-tick samples
  const running: Record<string, boolean[]> = {};
  const kdown: Record<string, boolean[]> = {};
  const agentUp: Record<string, boolean[]> = {};
  for (const h of hosts) {
    running[h] = [];
    kdown[h] = [];
    agentUp[h] = [];
  }
  const per = new Map<number, { holders: string[][]; masters: string[][]; faulted: string[][]; fields: Record<string, RouterFields | undefined>[]; otherVrid: string[][] }>();
  for (const v of obs.vrids) per.set(v, { holders: [], masters: [], faulted: [], fields: [], otherVrid: [] });
  for (let i = 0; i < n; i++) {
    const t = T(i);
    for (const h of hosts) {
      const r = runningOf.get(h)!(t);
      running[h].push(r);
      const did = lastDidOf.get(h)!(t);
      // not running and the last thing done was a SIGKILL, or it died by itself after a start: after it was seen
      // running, or when it did not come up within STARTUP_MS (before that it is starting: seed 1310, a loaded
      // machine, keepalived's pid file written 3 s after the lab started it, was taken for a dead keepalived)
      const start = lastStart(h, t);
      const startingUp = did === "start" && t - start <= STARTUP_MS && !upSince(h, start, t);
      kdown[h].push(!r && (did === "kill" || (did === "start" && !startingUp)));
      agentUp[h].push(agentOf.get(h)!(t));
    }
    for (const v of obs.vrids) {
      const p = per.get(v)!;
      const fields: Record<string, RouterFields | undefined> = {};
      for (const h of hosts) fields[h] = cfgOf.get(h)!(t)[v];
      const vipSet = new Set(Object.values(fields).flatMap((f) => f?.vips ?? []));
      p.fields.push(fields);
      p.otherVrid.push(hosts.filter((h) => Object.entries(cfgOf.get(h)!(t)).some(([w, f]) => Number(w) !== v && f.vips.some((a) => vipSet.has(a)))));
      p.holders.push(hosts.filter((h) => addrOf.get(h)!(t).some((a) => vipSet.has(a))));
      p.masters.push(hosts.filter((h) => running[h][i] && stateOf.get(`${h}/${v}`)!(t) === "MASTER"));
      p.faulted.push(hosts.filter((h) => running[h][i] && stateOf.get(`${h}/${v}`)!(t) === "FAULT"));
    }
  }

  /**
   * the action that explains a condition starting at t for this kind (latest first; host/vrid match preferred).
   * A condition of one host (FAULT, KEEPALIVED_DOWN) is explained only by an action on that host (or on none):
   * an interface or a process of another host cannot put this one in FAULT (seed 1304: h1's sync-group FAULT,
   * from its own script, was given the cause of a link_down on h3 that named the same VRID). A split brain is
   * explained only by an action on one of the hosts in it (or on none): its cause is why those hosts do not
   * hear each other, and every action that makes two hosts MASTER at once acts on one of them (the host that
   * stops hearing, is not heard, or changed what it sends). A change on a host outside it may have made one of
   * them take over, not made them deaf to each other (seed 4401 of session 35: h1's port cut, h1 and h4 MASTER of
   * VRID 104, given the cause of a VRID change on h2 that named that router)
   */
  const PER_HOST: Kind[] = ["FAULT", "KEEPALIVED_DOWN", "DUAL_MASTER"];
  const explain = (kind: Kind, t: number, vrid: number | null, hs: string[]): ActionRecord | null => {
    const cands = obs.actions.filter((a) => a.expect[kind] !== undefined && a.at - 1000 <= t && t <= a.until + 6000 &&
      (!PER_HOST.includes(kind) || a.host === null || hs.includes(a.host)));
    const score = (a: ActionRecord) => (a.vrid === vrid || a.vrid === null || (vrid !== null && originsOfRecord(a).includes(vrid)) ? 2 : 0) + (a.host === null || hs.includes(a.host) ? 1 : 0);
    cands.sort((a, b) => score(b) - score(a) || b.at - a.at);
    return cands[0] ?? null;
  };
  const grace = (v: number, i: number) => {
    const ais = Object.values(per.get(v)!.fields[Math.min(i, n - 1)] ?? {}).map((f) => f?.advertInt ?? 1);
    return defs.graceAdverts * 1000 * Math.max(1, ...ais);
  };
  let nextId = 0;
  const label = (l: Omit<Label, "id" | "accepted" | "ended"> & { ended?: boolean }) => {
    const accepted = l.cause && l.cause !== "any" ? CAUSE_CODES[l.cause] ?? [l.cause] : null;
    labels.push({ ...l, id: `L${++nextId}`, cause: l.cause === "any" ? null : l.cause, accepted, ended: l.ended ?? l.end < obs.endedAt - STEP });
  };
  const idx = (t: number) => Math.max(0, Math.min(n - 1, Math.round((t - t0) / STEP)));
  const union = <T>(xs: T[][], a: number, b: number) => [...new Set(xs.slice(idx(a), idx(b) + 1).flat())].sort() as T[];

  /** FAULT of host h's instance of VRID v, from its per-tick FAULT samples */
  const faultLabels = (v: number, h: string, f: boolean[], explained: { start: number; end: number }[]) => {
    for (const r of runs(f, t0)) {
      intervals.push({ what: "fault", vrid: v, host: h, ...r });
      explained.push(r);
      if (r.end - r.start < defs.bandMs) {
        dontCare.push({ kind: "FAULT", vrid: v, host: h, ...r, why: "FAULT shorter than the band" });
        continue;
      }
      const a = explain("FAULT", r.start, v, [h]);
      let cause = a?.expect.FAULT ?? null;
      // a sync-group member that mirrors another member's FAULT: the action did not hit its instance itself
      // (originsOfRecord), but it hit one of its group
      const origins = a ? originsOfRecord(a) : [];
      if (a && !origins.includes(v) && obs.syncGroup.includes(v) && origins.some((o) => obs.syncGroup.includes(o))) cause = "sync_group";
      label({ kind: "FAULT", vrid: v, hosts: [h], ...r, cause, action: a?.id ?? null, why: `${h} FAULT (keepalived's JSON) for ${((r.end - r.start) / 1000).toFixed(1)} s` });
    }
  };

  // --- per VRID conditions ---
  const openOf = new Map<number, { start: number; end: number }[]>(); // DUAL/FAULT/KD intervals of the VRID (flapping exclusion)
  for (const v of obs.vrids) {
    const p = per.get(v)!;
    const explained: { start: number; end: number }[] = [];
    openOf.set(v, explained);
    // DUAL_MASTER
    const dual = p.holders.map((hs, i) => hs.length >= 2 || p.masters[i].length >= 2);
    for (const r of runs(dual, t0)) {
      intervals.push({ what: "dual", vrid: v, host: null, ...r });
      const G = grace(v, idx(r.start));
      const d = r.end - r.start;
      if (d <= G - defs.bandMs) continue;
      // only a split brain that is (or may be) an incident explains MASTER changes away from FLAPPING
      // (docs/DETECTION.md: "while a ... DUAL_MASTER of the same VRID is open"); the momentary overlap of
      // every takeover (the new MASTER adds the VIP before the old one removed it) is not one
      explained.push(r);
      const hs = [...new Set([...union(p.holders, r.start, r.end - STEP), ...union(p.masters, r.start, r.end - STEP)])].sort();
      if (d < G + defs.bandMs) {
        dontCare.push({ kind: "DUAL_MASTER", vrid: v, host: null, ...r, why: `dual ${d} ms, within ${defs.bandMs} ms of the grace ${G} ms` });
        continue;
      }
      const a = explain("DUAL_MASTER", r.start, v, hs);
      label({ kind: "DUAL_MASTER", vrid: v, hosts: hs, ...r, cause: a?.expect.DUAL_MASTER ?? null, action: a?.id ?? null,
        why: `VIP/MASTER on ${hs.join("+")} for ${(d / 1000).toFixed(1)} s; VRRP packets in/out meanwhile: ${hs.map((h) => `${h} ${vrrpDelta(obs, h, r.start, r.end)}`).join(", ")}` });
    }
    // NO_MASTER (running somewhere, nobody holds or is MASTER)
    const anyRun = (i: number) => hosts.some((h) => running[h][i]);
    // an election in progress is not a missing MASTER: a keepalived (re)started less than the master-down
    // interval ago (3 adverts + skew, RFC 5798; 1 s of sampling band) may not have won yet (the lab's setup
    // restarts every host in the middle of the first election). It explains an absence that begins with it
    // only: an absence that began before a keepalived (re)started goes on through the election that start
    // begins (the MASTER was already missing; seed 515: the MASTER stopped while its only peer was FAULT,
    // then started again before the peer had taken over).
    const electing = (i: number) => {
      const A = grace(v, i) / defs.graceAdverts;
      return hosts.some((h) => running[h][i] && T(i) - lastStart(h, T(i)) < 3 * A + 1000);
    };
    const absent = p.holders.map((hs, i) => hs.length === 0 && p.masters[i].length === 0 && anyRun(i));
    const nom = absent.map((on, i) => on && !electing(i));
    for (let i = 1; i < absent.length; i++) if (absent[i] && nom[i - 1]) nom[i] = true;
    for (const r of runs(nom, t0)) {
      intervals.push({ what: "no_master", vrid: v, host: null, ...r });
      // a sync group's election waits for its slowest member: A is the largest advert_int in the group
      const A = Math.max(...(obs.syncGroup.includes(v) ? obs.syncGroup : [v]).map((w) => (per.has(w) ? grace(w, idx(r.start)) : 0))) / defs.graceAdverts;
      const GN = Math.max(defs.graceAdverts * A, 4 * A);
      const d = r.end - r.start;
      if (d <= GN - defs.bandMs) continue;
      let allFaultTicks = 0;
      const a0 = idx(r.start);
      const a1 = idx(r.end - STEP);
      for (let i = a0; i <= a1; i++) {
        const runningHosts = hosts.filter((h) => running[h][i]);
        if (runningHosts.every((h) => p.faulted[i].includes(h))) allFaultTicks++;
      }
      if (d < GN + defs.bandMs || allFaultTicks > 0) {
        dontCare.push({ kind: "NO_MASTER", vrid: v, host: null, ...r, why: allFaultTicks ? "every running member FAULT (all_fault) part of the time" : `within the band of GN ${GN} ms` });
        continue;
      }
      const a = explain("NO_MASTER", r.start, v, []);
      label({ kind: "NO_MASTER", vrid: v, hosts: hosts.filter((h) => running[h][a0]), ...r, cause: a?.expect.NO_MASTER ?? "no_takeover", action: a?.id ?? null, why: `nobody MASTER or holding the VIP for ${(d / 1000).toFixed(1)} s while keepalived ran` });
    }
    // FAULT per host
    for (const h of hosts) faultLabels(v, h, p.faulted.map((hs) => hs.includes(h)), explained);
    // STATE_MISMATCH: the only holder has no running keepalived, or a MASTER holds none of its VIPs
    const sm = p.holders.map((hs, i) => (hs.length === 1 && !running[hs[0]][i]) || p.masters[i].some((m) => !hs.includes(m)));
    for (const r of runs(sm, t0)) {
      intervals.push({ what: "state_mismatch", vrid: v, host: null, ...r });
      const G = grace(v, idx(r.start));
      const d = r.end - r.start;
      if (d <= G - defs.bandMs) continue;
      // a dead MASTER is the only holder until a peer takes over (3 adverts + skew): that takeover time is don't care,
      // and the JSON state is read once a second: one more second of band
      const takeover = 3 * (G / defs.graceAdverts) + 1000;
      if (d < Math.max(G, takeover) + defs.bandMs + 1000) {
        dontCare.push({ kind: "STATE_MISMATCH", vrid: v, host: null, ...r, why: "within the takeover time or the band of the grace" });
        continue;
      }
      const hs = union(p.holders, r.start, r.end - STEP);
      const a = explain("STATE_MISMATCH", r.start, v, hs);
      label({ kind: "STATE_MISMATCH", vrid: v, hosts: hs, ...r, cause: null, action: a?.id ?? null, why: "the only holder without keepalived, or a MASTER without its VIPs" });
    }
    // CONFIG_DRIFT: must-match fields differ among the hosts' written configurations
    const drift = p.fields.map((fs, i) => {
      const vals = Object.values(fs).filter((f): f is RouterFields => !!f);
      return vals.some((f) => !same(f, vals[0])) || p.otherVrid[i].length > 0;
    });
    for (const r of runs(drift, t0)) {
      intervals.push({ what: "config_drift", vrid: v, host: null, ...r });
      const fs = p.fields[idx(r.start)];
      const vals = Object.entries(fs).filter((e): e is [string, RouterFields] => !!e[1]);
      const otherVrid = p.otherVrid[idx(r.start)];
      const odd = [...vals.filter(([, f]) => !same(f, vals[0][1])).map(([h]) => h), ...otherVrid];
      const which = [...new Set([...vals.filter(([h]) => odd.includes(h)).flatMap(([h]) => driftFields(fs[h]!, vals[0][1])), ...(otherVrid.length ? ["vrid"] : [])])];
      if (r.end - r.start < 3000) {
        dontCare.push({ kind: "CONFIG_DRIFT", vrid: v, host: null, ...r, why: "drift shorter than 3 s" });
        continue;
      }
      const a = explain("CONFIG_DRIFT", r.start, v, odd);
      const cause = which.length === 1 ? DRIFT_CAUSE[which[0]] : null;
      label({ kind: "CONFIG_DRIFT", vrid: v, hosts: [vals[0][0], ...odd].sort(), ...r, cause, action: a?.id ?? null, why: `${which.join(", ")} differ` });
    }
  }

  // --- FAULT of an instance whose VRID is none of the routers' (a vrid_mismatch restarted it with another VRID):
  // a FAULT all the same, of that instance, under the VRID it runs with (seed 3906 of session 34: eth0 down on
  // h1 while it restarted with VRID 169 for router 168; its instance was in FAULT for 3.7 s, unlabelled) ---
  const routers = new Set(obs.vrids);
  const foreign = [...new Set(obs.dumps.flatMap((d) => d.instances.map((i) => i.vrid)))].filter((v) => Number.isInteger(v) && !routers.has(v)).sort((a, b) => a - b);
  for (const v of foreign) {
    const explained: { start: number; end: number }[] = [];
    openOf.set(v, explained);
    for (const h of hosts) {
      const state = stepper(stateSeries(obs, h, v), "DOWN");
      faultLabels(v, h, Array.from({ length: n }, (_, i) => running[h][i] && state(T(i)) === "FAULT"), explained);
    }
  }

  // --- per host: KEEPALIVED_DOWN, AGENT_OFFLINE ---
  for (const h of hosts) {
    for (const r of runs(kdown[h], t0)) {
      intervals.push({ what: "keepalived_down", vrid: null, host: h, ...r });
      for (const v of obs.vrids) openOf.get(v)!.push(r);
      if (r.end - r.start < 2500) {
        dontCare.push({ kind: "KEEPALIVED_DOWN", vrid: null, host: h, ...r, why: "down for less than 2.5 s" });
        continue;
      }
      const a = explain("KEEPALIVED_DOWN", r.start, null, [h]);
      label({ kind: "KEEPALIVED_DOWN", vrid: null, hosts: [h], ...r, cause: null, action: a?.id ?? null, why: `keepalived gone on ${h} without a graceful stop` });
    }
    const firstUp = agentUp[h].indexOf(true);
    const down = agentUp[h].map((u, i) => firstUp >= 0 && i > firstUp && !u);
    for (const r of runs(down, t0)) {
      intervals.push({ what: "agent_down", vrid: null, host: h, ...r });
      const d = r.end - r.start;
      if (d <= defs.offlineMs - 2000) continue;
      const w = { start: r.start + defs.offlineMs, end: r.end };
      if (d < defs.offlineMs + 2000) {
        dontCare.push({ kind: "AGENT_OFFLINE", vrid: null, host: h, start: r.start, end: r.end, why: "agent down about the offline limit" });
        continue;
      }
      label({ kind: "AGENT_OFFLINE", vrid: null, hosts: [h], ...w, since: r.start, cause: null, action: null, why: `agent down ${(d / 1000).toFixed(1)} s` });
    }
  }

  // --- FLAPPING: changes of WHO is the single MASTER per VRID ---
  /** another health-check failure on the same VRID within the flap window of this one */
  const repeatedCheck = (a: ActionRecord, v: number) =>
    obs.actions.some((b) => b !== a && b.kind === "script_fail" && (b.vrid === v || b.vrid === null) && Math.abs(b.at - a.at) <= defs.flapWindowMs);
  for (const v of obs.vrids) {
    const p = per.get(v)!;
    const explained = openOf.get(v)!;
    const counted: number[] = [];
    const all: number[] = [];
    let last: string | null = null;
    for (let i = 0; i < n; i++) {
      const m = p.masters[i];
      if (m.length !== 1) continue;
      if (last === null) {
        last = m[0]; // the first election is not a change
        continue;
      }
      if (m[0] === last) continue;
      const prev = last;
      last = m[0];
      const t = T(i);
      all.push(t);
      // a restart (docs/DETECTION.md, FLAPPING "not counted"): the previous MASTER's keepalived stopped by the lab
      // (a planned failover), or the new MASTER's keepalived started by the lab within the takeover time (its first
      // election: the preemption after a restart). Whatever action restarted it (seeds 1504, 1505: a configuration
      // change aimed at another VRID restarted the preferred MASTER twice, with the change and to restore it)
      const advertMs = grace(v, i) / defs.graceAdverts;
      const takeover = Math.max(grace(v, i), 4 * advertMs) + 1000;
      const restarted = obs.ka.some((k) => (k.host === prev && (k.what === "stop" || k.what === "kill") && k.t <= t && t - k.t <= takeover + 1000) ||
        (k.host === m[0] && k.what === "start" && k.t <= t && t - k.t <= takeover + 1000));
      if (restarted) continue;
      // explained: while a DUAL_MASTER, FAULT or KEEPALIVED_DOWN of the VRID holds (2 s before, and until the
      // return to the preferred MASTER after it: 8 s); planned: during a benign action (planned failover and its
      // preemption, rename, reload, priority change, VIP deleted by hand, a negative-weight health check failing
      // once). A health check failing again on the VRID within the flap window is not "once": that is a tracked
      // script toggling, flapping's own cause (docs/DETECTION.md), so those changes count.
      const inExplained = explained.some((r) => r.start - 2000 <= t && t <= r.end + 8000);
      const planned = obs.actions.some((a) => a.benign && a.at - 1000 <= t && t <= a.until + 8000 && !(a.kind === "script_fail" && repeatedCheck(a, v)));
      const mirror = obs.syncGroup.includes(v) && obs.syncGroup[0] !== v;
      if (!inExplained && !planned && !mirror) counted.push(t);
    }
    const episodes = (xs: number[]) => {
      const out: { start: number; end: number; changes: number }[] = [];
      for (let k = defs.flapCount - 1; k < xs.length; k++) {
        if (xs[k] - xs[k - defs.flapCount + 1] > defs.flapWindowMs) continue;
        // open at xs[k]; the episode lasts while later changes keep coming; it closes Q after the rate fell to <= 1 in W
        let j = k;
        while (j + 1 < xs.length && xs[j + 1] - xs[j] <= defs.flapWindowMs) j++;
        const end = (j >= 1 ? xs[j - 1] : xs[j]) + defs.flapWindowMs + defs.flapQuietMs;
        const prev = out[out.length - 1];
        if (prev && xs[k] <= prev.end) prev.end = Math.max(prev.end, end);
        else out.push({ start: xs[k], end, changes: j - k + defs.flapCount });
        k = j;
      }
      return out;
    };
    for (const e of episodes(counted)) {
      intervals.push({ what: "flapping", vrid: v, host: null, start: e.start, end: e.end });
      const a = explain("FLAPPING", e.start, v, []);
      const end = Math.min(e.end, obs.endedAt);
      label({ kind: "FLAPPING", vrid: v, hosts: union(p.masters, e.start - defs.flapWindowMs, e.start), start: e.start, end, ended: e.end < obs.endedAt,
        cause: a?.expect.FLAPPING ?? null, action: a?.id ?? null, why: `${e.changes} counted MASTER changes within ${defs.flapWindowMs / 1000} s` });
    }
    // N changes only when the excluded ones are counted too, with N-1 counted ones: one change from the threshold
    // (a change the 1 s JSON sampling may have missed): ambiguous. Fewer counted ones: a FLAPPING there is a false alarm.
    for (const e of episodes(all)) {
      if (labels.some((l) => l.kind === "FLAPPING" && l.vrid === v && l.start <= e.end && e.start <= l.end)) continue;
      const near = counted.filter((c) => c >= e.start - defs.flapWindowMs && c <= e.end).length;
      if (near < defs.flapCount - 1) continue;
      dontCare.push({ kind: "FLAPPING", vrid: v, host: null, start: e.start - defs.flapWindowMs, end: e.end, why: `${near} counted changes, ${defs.flapCount} with the explained or mirrored ones` });
    }
  }

  // --- the lifecycle: an episode that recurs within the hold-down H after the previous one of the same kind, VRID,
  // hosts (per-host kinds) and cause class ended is that incident re-opened, not a new one (docs/DETECTION.md,
  // "Lifecycle"); FLAPPING has its own episodes
  const merged = mergeWithinHoldDown(labels, defs.holdDownMs);
  labels.length = 0;
  labels.push(...merged);

  // --- don't care windows the actions declare ---
  for (const a of obs.actions) {
    for (const k of a.dontCare) {
      const settle = k === "FLAPPING" ? defs.flapWindowMs + defs.flapQuietMs : 10_000;
      dontCare.push({ kind: k, vrid: a.vrid, host: null, start: a.at, end: a.until + settle, why: `during ${a.kind} #${a.id}` });
    }
  }

  // --- quiet time: the run minus labels (with their close allowance) and don't-care windows ---
  const busy = [...labels.map((l) => ({ start: l.start - 2000, end: l.end + 5000 })), ...dontCare.map((w) => ({ start: w.start, end: w.end }))]
    .map((w) => ({ start: Math.max(t0, w.start), end: Math.min(obs.endedAt, w.end) }))
    .filter((w) => w.end > w.start)
    .sort((a, b) => a.start - b.start);
  let covered = 0;
  let curS = -1;
  let curE = -1;
  for (const w of busy) {
    if (w.start > curE) {
      if (curE > curS) covered += curE - curS;
      curS = w.start;
      curE = w.end;
    } else curE = Math.max(curE, w.end);
  }
  if (curE > curS) covered += curE - curS;
  return { labels, dontCare, quietMs: Math.max(0, obs.endedAt - t0 - covered), intervals };
}
