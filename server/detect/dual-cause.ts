/**
 * Why two nodes are MASTER at once. Looked for in a bounded window before the overlap began
 * (max(30 s, 2 x grace), never before the end of the previous overlap of the router) up to the moment the
 * incident opens, in this order:
 *  1. packet-check errors logged by the peers (invalid passwd, auth type, advert interval, VIP count or
 *     address, unknown VRID, version, unicast peer, TTL): the adverts arrive but are rejected;
 *  2. configuration differences between the MASTERs that must match on the wire (auth, VIPs, advert_int,
 *     version, unicast peers), or the same VIP configured under different VRIDs;
 *  3. a VIP held by two nodes while keepalived reports fewer than two MASTERs: the address was left behind;
 *  4. otherwise the adverts are not received at all: VRRP is blocked between the nodes (firewall on IP
 *     protocol 112 / multicast 224.0.0.18, VLAN, unicast peer list, partition).
 * Instance-name differences are never a cause.
 * keepalived's own counters (agent --dumps-interval): an authentication-error counter of the router's
 * instance that rose on a node in the window (authCounterRises) is evidence of an auth mismatch; it is the
 * cause only where the lines and configs alone found none (adverts_not_received, unknown).
 */
import type { Cause, Evidence } from "./types";
import type { PacketError } from "../parser/types";
import { eventsIn, graceMs, list, logEv, subject, vipEv, type Ctx } from "./context";
import { compareConfigs, memberConfigs, type DriftItem } from "./drift";
import type { DumpSample, Group, LogEntry } from "./model";
import type { DualNow } from "./dual";

const PACKET_CAUSE: Record<PacketError, string> = {
  auth_password: "auth_mismatch",
  auth_type: "auth_mismatch",
  vrid: "vrid_mismatch",
  advert_interval: "advert_interval_mismatch",
  vip_count: "vip_mismatch",
  vip_address: "vip_mismatch",
  version: "version_mismatch",
  unicast_peer: "unicast_peers_mismatch",
  ttl: "ttl_invalid",
  address_owner: "address_owner_conflict",
  generic: "adverts_rejected",
};
const ORDER = [
  "auth_mismatch", "vrid_mismatch", "advert_interval_mismatch", "vip_mismatch", "version_mismatch",
  "unicast_peers_mismatch", "ttl_invalid", "address_owner_conflict", "adverts_rejected",
];
const REASON: Record<string, string> = {
  auth_mismatch: "the authentication does not match (auth_type or auth_pass differ)",
  vrid_mismatch: "they use different virtual_router_id values for the same VIP",
  advert_interval_mismatch: "the advertisement interval differs (advert_int must match)",
  vip_mismatch: "the virtual IP addresses in their adverts differ (virtual_ipaddress must match)",
  version_mismatch: "they speak different VRRP versions",
  unicast_peers_mismatch: "their unicast peers do not match",
  ttl_invalid: "adverts arrive with a TTL other than 255 (they cross a router)",
  address_owner_conflict: "both are configured as address owner (priority 255)",
  adverts_rejected: "the adverts fail keepalived's packet checks",
};

/** What dualCause knows when it picks a cause: the facts every rule is checked against. */
export interface DualFacts {
  /** nodes keepalived reports MASTER (online) */
  masters: number;
  /** a VIP of the router is held by >= 2 nodes */
  doubleVip: boolean;
  /** cause codes of packet-check errors logged by the peers in the window */
  packetErrors: Set<string>;
  /** cause codes of must-match configuration fields that differ between the involved peers */
  wireDiffs: Set<string>;
  /** holders of a doubly-held VIP whose keepalived is gone without a logged shutdown */
  leftBehind: string[];
  /** involved nodes whose keepalived is not running (gone or stopped) */
  notRunning: string[];
  /** the nodes involved: MASTER, or holding an address of the router held twice */
  involved: string[];
}

/**
 * involved nodes whose keepalived runs: two or more of them MASTER (or holding the address) at once is a split
 * brain of its own, whatever a node whose keepalived is gone left behind
 */
const liveClaimers = (f: DualFacts) => f.involved.filter((n) => !f.notRunning.includes(n)).length;
/** the split brain needs the address left behind: without it fewer than two running nodes claim the router */
const onlyLeftBehind = (f: DualFacts) => f.leftBehind.length > 0 && liveClaimers(f) < 2;

export interface CauseRule {
  code: string;
  /** the facts that must hold (for humans: docs/DETECTION.md) */
  mustHold: string;
  /** the facts that rule it out */
  ruledOutBy: string;
  must(f: DualFacts): boolean;
  ruledOut(f: DualFacts): boolean;
}

const packetOrConfig = (code: string): CauseRule => ({
  code,
  mustHold: `a packet-check error of this kind logged by a peer, or the must-match config field differs (${code})`,
  ruledOutBy: "a holder of the VIP whose keepalived is gone, while fewer than two running nodes claim the router (vip_left_behind)",
  must: (f) => f.packetErrors.has(code) || f.wireDiffs.has(code),
  ruledOut: onlyLeftBehind,
});

/**
 * DUAL_MASTER causes, in the order they are tried: the first whose must-hold facts hold and that no fact
 * rules out is the cause; "unknown" when none fits.
 */
export const DUAL_CAUSE_RULES: CauseRule[] = [
  {
    code: "vip_left_behind",
    mustHold: "a node holding the VIP has no running keepalived and logged no shutdown, while a peer is MASTER",
    ruledOutBy: "no peer MASTER (then STATE_MISMATCH), the node's keepalived runs / stopped with a logged shutdown, or two or more running nodes claim the router on their own (their split brain has a cause of its own)",
    must: (f) => f.leftBehind.length > 0 && f.doubleVip,
    ruledOut: (f) => f.masters < 1 || liveClaimers(f) >= 2,
  },
  ...ORDER.map(packetOrConfig),
  {
    code: "vip_held_by_non_master",
    mustHold: "a VIP held by >= 2 nodes while keepalived reports fewer than two MASTERs",
    ruledOutBy: "a holder whose keepalived is gone, while fewer than two running nodes claim the router (vip_left_behind)",
    must: (f) => f.doubleVip && f.masters < 2,
    ruledOut: onlyLeftBehind,
  },
  {
    code: "adverts_not_received",
    mustHold: ">= 2 peers MASTER, each with keepalived running (alive and sending)",
    ruledOutBy: "an involved peer whose keepalived is not running, unless two or more running nodes claim the router without it (a dead peer is not a firewall), or packet-check errors / config differences (adverts arrive)",
    must: (f) => f.masters >= 2,
    ruledOut: (f) => (f.notRunning.length > 0 && liveClaimers(f) < 2) || f.packetErrors.size > 0 || f.wireDiffs.size > 0,
  },
];

export function chooseDualCause(f: DualFacts): string {
  return DUAL_CAUSE_RULES.find((r) => r.must(f) && !r.ruledOut(f))?.code ?? "unknown";
}

/**
 * keepalived's count of adverts it refused for authentication (invalid_authtype + authtype_mismatch +
 * auth_failure, from its stats dump) that rose between two samples of the same keepalived (pid) taken in
 * [from, at], per node and instance of `names`: one evidence line each, at the last sample that rose.
 */
export function authCounterRises(nodes: { name: string; dumps: Iterable<DumpSample> }[], names: (node: string) => Set<string>, from: number, at: number): Evidence[] {
  const out: Evidence[] = [];
  for (const n of nodes) {
    const samples = [...n.dumps].filter((s) => s.ts >= from && s.ts <= at).sort((a, b) => a.ts - b.ts);
    for (const inst of [...names(n.name)].sort()) {
      let rose = 0;
      let first: DumpSample | null = null;
      let last: DumpSample | null = null;
      for (let i = 1; i < samples.length; i++) {
        const [a, b] = [samples[i - 1], samples[i]];
        const [x, y] = [a.auth[inst], b.auth[inst]];
        // another keepalived (a restart resets its counters), or the instance missing from one: no rise
        if (a.pid !== b.pid || typeof x !== "number" || typeof y !== "number" || y <= x) continue;
        rose += y - x;
        first ??= a;
        last = b;
      }
      if (!rose || !first || !last) continue;
      const t = (ms: number) => new Date(ms).toISOString().slice(11, 19);
      out.push({
        node: n.name, at: last.ts, kind: "dump", ref: last.id,
        line: `${inst}: keepalived counted ${rose} more advert(s) failing authentication (invalid_authtype + authtype_mismatch + auth_failure ` +
          `${first.auth[inst]} -> ${last.auth[inst]}) between ${t(first.ts)} and ${t(last.ts)} UTC (its stats dump)`,
      });
    }
  }
  return out;
}

/**
 * `known.leftBehind`: the holders of d.doubleVips whose keepalived had ended without a logged shutdown while
 * the overlap lasted, with the evidence of it (the absence judge, which replays a past the nodes' state now no
 * longer shows); without it, they are the holders whose keepalived is reported gone now.
 */
export function dualCause(
  ctx: Ctx, g: Group, d: DualNow, since: number, at: number, prevEnded = -Infinity,
  known?: { leftBehind: Map<string, Evidence[]> },
): { cause: Cause; evidence: Evidence[] } {
  const lb = leftBehindOf(d, known);
  const r = chooseCause(ctx, g, d, since, at, prevEnded, known, lb);
  if (lb.length === 0 || r.cause.code === "vip_left_behind") return r;
  // running nodes split on their own, an address left behind besides: their cause, the address said too (with its
  // evidence, for a past overlap: the live one has every holder's VIP report already)
  return {
    cause: { ...r.cause, summary: `${r.cause.summary}; ${list(lb)} also ${known ? "held" : "still holds"} the address, ${lb.length > 1 ? "their" : "its"} keepalived gone without a logged shutdown` },
    evidence: known ? [...r.evidence, ...lb.flatMap((n) => known.leftBehind.get(n) ?? [])] : r.evidence,
  };
}

/** the holders of a doubly-held address whose keepalived is gone without a logged shutdown (see dualCause's `known`) */
function leftBehindOf(d: DualNow, known: { leftBehind: Map<string, Evidence[]> } | undefined): string[] {
  if (known) return [...known.leftBehind.keys()].sort();
  return [...new Set([...d.doubleVips.values()].flatMap((hs) => hs.filter((h) => h.keepalived === "down").map((h) => h.name)))].sort();
}

function chooseCause(
  ctx: Ctx, g: Group, d: DualNow, since: number, at: number, prevEnded: number,
  known: { leftBehind: Map<string, Evidence[]> } | undefined, leftBehind: string[],
): { cause: Cause; evidence: Evidence[] } {
  // the lines of this episode: not those of a previous split brain of the router that ended meanwhile (its
  // packet-check errors would give this one its cause, and the same cause extends the old incident)
  const from = Math.max(since - Math.max(30_000, 2 * graceMs(ctx, g)), prevEnded);
  // packet-check errors explain a takeover only while they happen: adverts rejected during the master-down
  // interval before it (< 4 x advert_int of the slowest instance it waited for, + 1 s for log stamps in whole
  // seconds) or during the overlap; older ones belong to an earlier episode (a peer's last advert before a
  // restart carried the old password)
  const pktFrom = Math.max(from, since - 4 * (g.takeoverAdvertMs ?? g.advertMs ?? 1000) - 1000);
  const subj = subject(g);
  const masters = [...d.masters.keys()].sort();
  const involved = [...d.involved].sort();
  const namesOn = (n: string) => new Set([...g.members.values()].filter((r) => r.node === n).map((r) => r.name));

  const ev: Evidence[] = [];
  for (const n of masters) for (const r of d.masters.get(n)!) if (r.entry) ev.push(logEv(r.entry));
  // (a past overlap: the holders' reports now say nothing about then; the lines and reports of it come with `known`)
  if (!known) for (const [a, hs] of d.doubleVips) for (const h of hs) ev.push(vipEv(h, a, true));

  const timeouts: LogEntry[] = [];
  const errors: LogEntry[] = [];
  const errNodes = new Set([...involved, ...[...g.members.values()].map((r) => r.node)]);
  for (const n of [...errNodes].sort()) {
    const node = ctx.model.nodes.get(n);
    if (!node) continue;
    const names = namesOn(n);
    for (const e of eventsIn(node, from, at)) {
      const x = e.event!;
      if (x.type === "advert_timeout" && names.has(x.instance) && d.involved.has(n)) timeouts.push(e);
      if (x.type === "packet_error" && e.ts >= pktFrom && (x.instance === null || names.has(x.instance))) errors.push(e);
    }
  }
  // the timeouts that made each MASTER take over (within 5 s before its MASTER line)
  const ledToMaster = (n: string, t: LogEntry) => d.masters.get(n)?.some((r) => r.entry && t.ts <= r.entry.ts && t.ts >= r.entry.ts - 5000) ?? false;
  ev.push(...timeouts.filter((t) => ledToMaster(t.node, t)).slice(-10).map(logEv));

  // what must match on the wire differs in the configs (or the same VIP under different VRIDs)
  const wire: DriftItem[] = compareConfigs(memberConfigs(ctx, g, d.involved), subj).filter((i) => i.wire);
  for (const [a, hs] of d.doubleVips) {
    const recs = hs.map((h) => ctx.model.instanceWithVip(h, a)).filter((r) => r !== null);
    if (new Set(recs.map((r) => r.cfg?.vrid)).size > 1) {
      wire.unshift({
        code: "vrid_mismatch", wire: true, severity: "warning", summary: "",
        evidence: recs.map((r) => {
          const node = ctx.model.nodes.get(r.node)!;
          return { node: r.node, at: node.configTs ?? at, kind: "config" as const, line: `${r.name}: virtual_router_id ${r.cfg?.vrid}, virtual_ipaddress ${a}`, ...(node.configRef ? { ref: node.configRef } : {}) };
        }),
      });
    }
  }
  // who is named as MASTER at once: the MASTERs, else the nodes involved but those whose keepalived is gone
  const running = involved.filter((n) => !leftBehind.includes(n));
  const who = masters.length >= 2 ? masters : running.length ? running : involved;
  const facts: DualFacts = {
    masters: masters.length,
    doubleVip: d.doubleVips.size > 0,
    packetErrors: new Set(errors.map((e) => PACKET_CAUSE[(e.event as { error: PacketError }).error] ?? "adverts_rejected")),
    wireDiffs: new Set(wire.map((w) => w.code)),
    leftBehind,
    involved,
    notRunning: involved.filter((n) => {
      if (known) return known.leftBehind.has(n);
      const k = ctx.model.nodes.get(n)?.keepalived;
      return k === "down" || k === "stopped";
    }),
  };
  const logCode = chooseDualCause(facts);
  // keepalived's own auth-error counters: evidence for auth_mismatch; the cause only where nothing else explained it
  const authRise = authCounterRises(
    [...errNodes].sort().map((n) => ctx.model.nodes.get(n)).filter((n) => n !== undefined),
    namesOn, from, at,
  );
  const byCounters = authRise.length > 0 && (logCode === "adverts_not_received" || logCode === "unknown");
  const code = byCounters ? "auth_mismatch" : logCode;
  if (code === "auth_mismatch") ev.push(...authRise);
  if (byCounters) {
    const on = [...new Set(authRise.map((e) => e.node))];
    return {
      cause: {
        code,
        summary: `${list(who)} ${who.length > 1 ? "were" : "was"} MASTER for ${subj} at the same time because their adverts are rejected: ${REASON[code]} ` +
          `(keepalived's own count of adverts failing authentication rose on ${list(on)}; no log line named it)`,
      },
      evidence: ev,
    };
  }

  if (code === "vip_left_behind") {
    const peers = masters.filter((n) => !leftBehind.includes(n));
    for (const n of leftBehind) {
      const node = ctx.model.nodes.get(n)!;
      if (known) ev.push(...known.leftBehind.get(n)!);
      else if (node.downEntry) ev.push({ node: n, at: node.downEntry.ts, kind: "liveness", ref: node.downEntry.id, line: `${node.downEntry.line}; no "Stopping" line was logged` });
    }
    const vips = [...d.doubleVips.keys()].sort();
    const plural = leftBehind.length > 1;
    const held = known
      ? `held ${list(vips)} of ${subj} although ${plural ? "their" : "its"} keepalived had ended without a logged shutdown`
      : `still ${plural ? "hold" : "holds"} ${list(vips)} of ${subj} although ${plural ? "their" : "its"} keepalived is gone without a logged shutdown`;
    return {
      cause: {
        code,
        summary: `${list(leftBehind)} ${held}, while ${list(peers.length ? peers : masters)} took over: the same address on two hosts (ARP conflict)`,
      },
      evidence: ev,
    };
  }
  if (facts.packetErrors.has(code)) {
    ev.push(...errors.slice(-15).map(logEv));
    return {
      cause: { code, summary: `${list(who)} ${who.length > 1 ? "were" : "was"} MASTER for ${subj} at the same time because their adverts are rejected: ${REASON[code]}` },
      evidence: ev,
    };
  }
  if (facts.wireDiffs.has(code)) {
    ev.push(...wire.flatMap((w) => w.evidence));
    return {
      cause: { code, summary: `${list(who)} ${who.length > 1 ? "were" : "was"} MASTER for ${subj} at the same time because their configurations disagree: ${REASON[code] ?? code}` },
      evidence: ev,
    };
  }
  if (code === "vip_held_by_non_master") {
    const [a, hs] = [...d.doubleVips][0];
    const says = masters.length ? `only ${masters[0]} as MASTER` : "no MASTER";
    return {
      cause: { code, summary: `${a} is held by ${list(hs.map((h) => h.name))} at once although keepalived logged ${says} for ${subj}: the address was left behind or added outside keepalived` },
      evidence: ev,
    };
  }
  if (code !== "adverts_not_received") {
    ev.push(...errors.slice(-15).map(logEv), ...wire.flatMap((w) => w.evidence));
    return {
      cause: { code: "unknown", summary: `${list(who)} ${who.length > 1 ? "were" : "was"} MASTER for ${subj} at the same time and the evidence fits no single cause (${facts.notRunning.length ? `keepalived is not running on ${list(facts.notRunning)}` : "see the lines"})` },
      evidence: ev,
    };
  }

  // 4. nobody hears the other
  const unicast = [...g.members.values()].some((r) => (r.cfg?.unicastPeers.length ?? 0) > 0);
  const path = unicast ? "to the unicast peers" : g.family === "ipv6" ? "to multicast ff02::12" : "to multicast 224.0.0.18";
  // who took over when the overlap began, after its advertisement timeout, while the others stayed MASTER
  const late = masters.filter((n) =>
    d.masters.get(n)!.some((r) => r.entry && r.entry.ts >= since && timeouts.some((t) => t.node === n && ledToMaster(n, t))),
  );
  const others = masters.filter((n) => !late.includes(n));
  const summary = late.length && others.length
    ? `${list(late)} became MASTER for ${subj} after "Receive advertisement timeout" while ${list(others)} ${others.length > 1 ? "were" : "was"} still MASTER, so VRRP adverts (IP protocol 112 ${path}) are not getting through between them: firewall, VLAN or network partition`
    : `${list(masters)} were MASTER for ${subj} at the same time without hearing each other's adverts: VRRP (IP protocol 112 ${path}) is blocked between them by a firewall, VLAN or network partition`;
  return { cause: { code: "adverts_not_received", summary }, evidence: ev };
}
