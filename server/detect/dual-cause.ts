/**
 * Why two nodes are MASTER at once. Looked for in a bounded window before the overlap began
 * (max(30 s, 2 x grace)) up to the moment the incident opens, in this order:
 *  1. packet-check errors logged by the peers (invalid passwd, auth type, advert interval, VIP count or
 *     address, unknown VRID, version, unicast peer, TTL): the adverts arrive but are rejected;
 *  2. configuration differences between the MASTERs that must match on the wire (auth, VIPs, advert_int,
 *     version, unicast peers), or the same VIP configured under different VRIDs;
 *  3. a VIP held by two nodes while keepalived reports fewer than two MASTERs: the address was left behind;
 *  4. otherwise the adverts are not received at all: VRRP is blocked between the nodes (firewall on IP
 *     protocol 112 / multicast 224.0.0.18, VLAN, unicast peer list, partition).
 * Instance-name differences are never a cause.
 */
import type { Cause, Evidence } from "./types";
import type { PacketError } from "../parser/types";
import { eventsIn, graceMs, list, logEv, subject, vipEv, type Ctx } from "./context";
import { compareConfigs, memberConfigs, type DriftItem } from "./drift";
import type { Group, LogEntry } from "./model";
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

export function dualCause(ctx: Ctx, g: Group, d: DualNow, since: number, at: number): { cause: Cause; evidence: Evidence[] } {
  const from = since - Math.max(30_000, 2 * graceMs(ctx, g));
  const subj = subject(g);
  const masters = [...d.masters.keys()].sort();
  const involved = [...d.involved].sort();
  const who = masters.length >= 2 ? masters : involved;
  const namesOn = (n: string) => new Set([...g.members.values()].filter((r) => r.node === n).map((r) => r.name));

  const ev: Evidence[] = [];
  for (const n of masters) for (const r of d.masters.get(n)!) if (r.entry) ev.push(logEv(r.entry));
  for (const [a, hs] of d.doubleVips) for (const h of hs) ev.push(vipEv(h, a, true));

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
      if (x.type === "packet_error" && (x.instance === null || names.has(x.instance))) errors.push(e);
    }
  }
  // the timeouts that made each MASTER take over (within 5 s before its MASTER line)
  const ledToMaster = (n: string, t: LogEntry) => d.masters.get(n)?.some((r) => r.entry && t.ts <= r.entry.ts && t.ts >= r.entry.ts - 5000) ?? false;
  ev.push(...timeouts.filter((t) => ledToMaster(t.node, t)).slice(-10).map(logEv));

  // 1. adverts arrive but are rejected
  if (errors.length) {
    const codes = new Set(errors.map((e) => PACKET_CAUSE[(e.event as { error: PacketError }).error] ?? "adverts_rejected"));
    const code = ORDER.find((c) => codes.has(c)) ?? "adverts_rejected";
    ev.push(...errors.slice(-15).map(logEv));
    return {
      cause: { code, summary: `${list(who)} ${who.length > 1 ? "were" : "was"} MASTER for ${subj} at the same time because their adverts are rejected: ${REASON[code]}` },
      evidence: ev,
    };
  }

  // 2. what must match on the wire differs in the configs
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
  if (wire.length) {
    const code = ORDER.find((c) => wire.some((w) => w.code === c)) ?? wire[0].code;
    ev.push(...wire.flatMap((w) => w.evidence));
    return {
      cause: { code, summary: `${list(who)} ${who.length > 1 ? "were" : "was"} MASTER for ${subj} at the same time because their configurations disagree: ${REASON[code] ?? code}` },
      evidence: ev,
    };
  }

  // 3. a VIP held twice although keepalived does not say so
  if (masters.length < 2) {
    const [a, hs] = [...d.doubleVips][0];
    const says = masters.length ? `only ${masters[0]} as MASTER` : "no MASTER";
    return {
      cause: { code: "vip_held_by_non_master", summary: `${a} is held by ${list(hs.map((h) => h.name))} at once although keepalived logged ${says} for ${subj}: the address was left behind or added outside keepalived` },
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
