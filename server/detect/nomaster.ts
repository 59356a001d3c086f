/**
 * NO_MASTER: no member of a virtual router is MASTER and none of its VIPs is held anywhere, for longer
 * than the NO_MASTER grace, while the agents of ALL its member nodes are online and every member's state
 * is known (an UNKNOWN node might be the MASTER: nothing is claimed then).
 *
 * A MASTER that steps down within one advert interval (it never sent its second advert) does not end the
 * absence: an election that keeps collapsing (two routers of a sync group whose priorities favour
 * different nodes force each other back to BACKUP every master-down interval, for a moment both MASTER)
 * leaves the router without a MASTER although no gap between two such moments is as long as the grace.
 * Such momentary MASTERs are counted and shown in the summary and the evidence.
 *
 * openedAt = when the last MASTER left (or the VIP was released); closedAt = when a MASTER appeared (or a
 * VIP was taken) that lasted at least one advert interval, or when a member's state became unknown
 * (agent offline).
 */
import type { Evidence } from "./types";
import { instancesOf, list, logEv, noMasterGraceMs, subject, vipEv, type Ctx } from "./context";
import type { Group } from "./model";

type Now = "absent" | "present" | "unclaimable";

/** "present": a MASTER or a held VIP; "unclaimable": a member's state is unknown, or keepalived runs nowhere */
function noMasterNow(ctx: Ctx, g: Group): Now {
  if (g.members.size === 0) return "unclaimable";
  let running = false;
  let master = false;
  for (const r of g.members.values()) {
    const n = ctx.model.nodes.get(r.node)!;
    if (!n.online || r.state === null) return "unclaimable";
    if (r.state === "MASTER") master = true;
    if (r.state !== "STOP" && n.keepalived !== "down" && n.keepalived !== "stopped") running = true;
  }
  if (master) return "present";
  // keepalived runs on no configured host: not NO_MASTER (KEEPALIVED_DOWN, or a planned stop)
  if (!running) return "unclaimable";
  for (const a of g.vips) if (ctx.model.holders(a).length > 0) return "present";
  return "absent";
}

/**
 * An absence that begins while an election is in progress is not a missing MASTER yet: a member whose keepalived
 * started (its "Starting Keepalived" line, its `(init)` state, or its first BACKUP/FAULT after a stop) less than the master-down interval ago
 * (3 advert intervals of the slowest instance the takeover waits for + 1 s for the skew and the stamps) may not
 * have won yet, and the start itself removes the VIPs it held (a left-behind VIP, say). The absence then counts
 * from the end of that election (and of those of members that start before it ends); one that began before
 * any start goes on through the elections that follow (truth lab seed 3306: h2's keepalived, killed with its
 * VIPs left behind, restarted and removed them; the collapsing elections of h1 and h3 kept the router
 * without a MASTER for 5.4 s, until h2 took over, 1.4 s after its election window).
 */
function electionEnd(ctx: Ctx, g: Group, since: number, from: number): number {
  const window = 3 * momentaryMs(g) + 1000;
  let end = from;
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of g.members.values()) {
      // the run's start: its "Starting Keepalived" line (a start removes the VIPs before the "(init)" line), or
      // the instance's starting state
      for (const start of [ctx.model.nodes.get(r.node)?.startLoggedAt ?? null, r.initAt]) {
        if (start === null || start <= since - window || start > end || start + window <= end) continue;
        end = start + window;
        changed = true;
      }
    }
  }
  return end;
}

/** a MASTER that steps down sooner than this never sent its second advert: momentary (see above) */
function momentaryMs(g: Group): number {
  return g.takeoverAdvertMs ?? g.advertMs ?? 1000;
}

export function evaluateNoMaster(ctx: Ctx, g: Group, at: number, trigger: Evidence[]): void {
  const c = g.nomaster;
  const timerKey = `nomaster:${g.key}`;
  const endKey = `nomaster-end:${g.key}`;
  const now = noMasterNow(ctx, g);
  if (now === "absent") {
    if (c.since === null) {
      // it cannot have begun before the newest member state it is made of: the backlogs of several agents
      // arrive node by node, so one node's state may be newer than the fact that completed the picture (a
      // cluster restarted while its agents were away looked MASTER-less from the first node's "Stopping")
      let since = at;
      for (const r of g.members.values()) if (r.since !== null && r.since > since) since = r.since;
      c.since = since;
      c.momentary = 0;
      c.momentaryEv = [];
      // learnt late (a backlog: behind the engine's clock), it still gets its full grace from now, so the
      // other nodes' backlogs can arrive and end it (as DUAL_MASTER does); openedAt stays `since`
      c.countFrom = electionEnd(ctx, g, since, since);
      c.dueAt = Math.max(c.countFrom, ctx.timers.reached) + noMasterGraceMs(ctx, g);
      ctx.timers.set(timerKey, c.dueAt, () => fireNoMaster(ctx, g), memberGate(ctx, g));
    } else if (c.slot === null && c.brokenAt === null && c.countFrom > c.since) {
      // an election in progress when the absence began: a member that starts meanwhile extends it
      const end = electionEnd(ctx, g, c.since, c.countFrom);
      if (end > c.countFrom) {
        c.dueAt += end - c.countFrom;
        c.countFrom = end;
        ctx.timers.set(timerKey, c.dueAt, () => fireNoMaster(ctx, g), memberGate(ctx, g));
      }
    } else if (c.brokenAt !== null) {
      const collapsed = [...g.members.values()].every((r) => !c.breakMasters.has(`${r.node}\u0000${r.name}`) || r.state === "BACKUP");
      if (collapsed) {
        // the MASTER that appeared stepped back to BACKUP within an advert interval (it lost the election it
        // began): the absence goes on from its start
        ctx.timers.cancel(endKey);
        c.brokenAt = null;
        c.breakTrigger = [];
        c.breakMasters = new Set();
        c.momentary++;
        if (c.slot === null) ctx.timers.set(timerKey, Math.max(c.dueAt, at), () => fireNoMaster(ctx, g), memberGate(ctx, g));
      } else {
        // it left for FAULT or STOP: it was the MASTER until a failure, which begins a new absence (the
        // takeover it calls for has its full grace again; e2e states.test.ts scenario 5: a MASTER of 164 ms
        // whose link went down)
        endNoMaster(ctx, g, c.brokenAt, c.breakTrigger);
        evaluateNoMaster(ctx, g, at, trigger);
      }
    }
    return;
  }
  if (c.since === null) return;
  if (now === "present") {
    for (const r of g.members.values()) {
      if (r.state !== "MASTER" || !r.entry || c.momentaryEv.length >= 8) continue;
      const ev = logEv(r.entry);
      if (!c.momentaryEv.some((e) => e.ref === ev.ref && e.node === ev.node)) c.momentaryEv.push(ev);
    }
    if (c.brokenAt !== null) {
      for (const r of g.members.values()) if (r.state === "MASTER") c.breakMasters.add(`${r.node}\u0000${r.name}`);
      return;
    }
    // a MASTER (or a held VIP) ends the absence once it has lasted an advert interval; it ends it as of now
    c.brokenAt = at;
    c.breakTrigger = trigger;
    c.breakMasters = new Set([...g.members.values()].filter((r) => r.state === "MASTER").map((r) => `${r.node}\u0000${r.name}`));
    const brokenAt = at;
    ctx.timers.set(endKey, at + momentaryMs(g), () => endNoMaster(ctx, g, brokenAt, c.breakTrigger));
    return;
  }
  // a state became unknown or keepalived stopped everywhere: nothing is claimed any more (a MASTER that
  // appeared just before ends it when it did)
  endNoMaster(ctx, g, c.brokenAt ?? at, c.brokenAt !== null ? c.breakTrigger : trigger);
}

/**
 * at its deadline an absence learnt late waits for the members whose backlog is still being delivered, until
 * their streams pass the grace counted from the absence's own start (timers.ts): a member behind may have been
 * MASTER meanwhile
 */
function memberGate(ctx: Ctx, g: Group): { nodes: Set<string>; streamAt: number } | undefined {
  const c = g.nomaster;
  // only for an absence learnt late (its grace deferred to the engine's clock by more than the delivery allowance)
  if (c.dueAt - noMasterGraceMs(ctx, g) - c.countFrom <= ctx.s.deliveryAllowanceMs) return undefined;
  return { nodes: new Set([...g.members.values()].map((r) => r.node)), streamAt: c.countFrom + noMasterGraceMs(ctx, g) };
}

function endNoMaster(ctx: Ctx, g: Group, at: number, trigger: Evidence[]): void {
  const c = g.nomaster;
  ctx.timers.cancel(`nomaster:${g.key}`);
  ctx.timers.cancel(`nomaster-end:${g.key}`);
  if (c.slot !== null) ctx.reg.close(c.slot, at, trigger);
  c.since = null;
  c.slot = null;
  c.brokenAt = null;
  c.breakTrigger = [];
  c.breakMasters = new Set();
}

function fireNoMaster(ctx: Ctx, g: Group): void {
  const c = g.nomaster;
  if (c.since === null || noMasterNow(ctx, g) !== "absent") return;
  const members = [...g.members.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const nodes = [...new Set(members.map((r) => r.node))];
  const evidence: Evidence[] = [];
  for (const r of members) if (r.entry) evidence.push(logEv(r.entry));
  for (const n of nodes) {
    const node = ctx.model.nodes.get(n)!;
    if (node.vipsKnown) for (const a of [...g.vips].sort()) evidence.push(vipEv(node, a, false, node.lastVips?.ts, node.lastVips?.id));
  }
  const subj = subject(g);
  const vips = g.vips.size ? `, and ${list([...g.vips].sort())} ${g.vips.size > 1 ? "are" : "is"} held nowhere` : "";
  let code: string;
  let summary: string;
  const running = members.filter((r) => r.state !== "STOP");
  if (running.every((r) => r.state === "FAULT")) {
    code = "all_fault";
    summary = `Every running node of ${subj} (${list([...new Set(running.map((r) => r.node))])}) is in FAULT${vips}`;
  } else if (running.some((r) => r.state === "BACKUP")) {
    const backups = members.filter((r) => r.state === "BACKUP").map((r) => r.node);
    code = "no_takeover";
    if (c.momentary > 0) {
      const who = [...new Set(c.momentaryEv.map((e) => e.node))].sort();
      const sync = members.some((r) => r.cfg?.syncGroup) ? " (in a sync group: its members' priorities may favour different nodes, which then force each other back)" : "";
      summary = `No node stays MASTER for ${subj}: ${c.momentary} election(s) collapsed, ${list(who)} became MASTER and stepped down within an advert interval${sync}; ${list([...new Set(backups)])} BACKUP${vips}`;
      evidence.push(...c.momentaryEv);
    } else {
      summary = `No node is MASTER for ${subj}: ${list([...new Set(backups)])} stayed BACKUP without taking over (another router with this VRID may be advertising on the segment)${vips}`;
    }
  } else {
    code = "unknown";
    summary = `No node is MASTER for ${subj} and none holds its addresses${vips}`;
  }
  c.slot = `NO_MASTER:${g.scope}`;
  ctx.reg.open({
    kind: "NO_MASTER", slot: c.slot, severity: "critical", scope: g.scope, vrid: g.vrid, family: g.family,
    instances: instancesOf(ctx, g, nodes), nodes, openedAt: c.countFrom, cause: { code, summary }, evidence,
  });
}
