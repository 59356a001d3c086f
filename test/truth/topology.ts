/**
 * The truth lab's topology generator (seeded, pure): 2-4 hosts, 1-3 virtual
 * routers every host takes part in, multicast or unicast, sync groups,
 * track_script (weight -60 or 0), track_interface on eth1 (a veth pair inside
 * the host), nopreempt, distinct or equal priorities, advert_int 1 or 2, auth
 * none or PASS, one or two VIPs, instance names that differ between hosts.
 * `renderConfig` turns a host's current view into keepalived.conf text.
 */
import { prng } from "../helpers/prng";

export type Rng = () => number;

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const chance = (r: Rng, p: number) => r() < p;
export const between = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

export interface RouterSpec {
  vrid: number;
  advertInt: 1 | 2;
  /** null = no authentication block */
  authPass: string | null;
  vips: string[];
  unicast: boolean;
}

/** one host's instance of a router: the parts that may differ per host */
export interface MemberSpec {
  instance: string;
  priority: number;
  state: "MASTER" | "BACKUP";
  nopreempt: boolean;
  /**
   * `state MASTER` with `nopreempt` (rendered as written: keepalived warns and clears nopreempt), on the top two
   * hosts of a router at equal priority; otherwise nopreempt is rendered with state BACKUP
   */
  masterNopreempt?: boolean;
  /** weight of the health-check script tracked by this instance: -60 (failover) or 0 (FAULT); null = none */
  scriptWeight: number | null;
  /** track eth1 with weight 0 (FAULT when eth1 goes down) */
  trackEth1: boolean;
  /** overrides that make this host disagree with its peers (mismatch actions) */
  authPass?: string | null;
  advertInt?: 1 | 2;
  vips?: string[];
  /** unicast peers (addresses); default every other host */
  peers?: string[];
  /** the VRID this host uses for the router (VRID mismatch); default the router's */
  vrid?: number;
}

export interface HostSpec {
  name: string;
  octet: number;
  source: "file" | "journal";
}

export interface Topology {
  seed: number;
  hosts: HostSpec[];
  routers: RouterSpec[];
  /** host -> vrid -> member */
  members: Record<string, Record<number, MemberSpec>>;
  /** VRIDs grouped in one vrrp_sync_group on every host (empty: none) */
  syncGroup: number[];
  /** agents start before keepalived (else after, reading the backlog) */
  agentsFirst: boolean;
  /** run keepalived once with other instance names before the real start (backlog of instances no longer configured) */
  staleNames: boolean;
}

export const hostAddress = (h: HostSpec) => `198.18.0.${h.octet}`;

/** even seeds put some hosts on the journald source (the first always), odd seeds use files only: both across schedules */
export const usesJournal = (seed: number) => seed % 2 === 0;

export function generateTopology(seed: number, opts: { journal?: boolean } = {}): Topology {
  const r = prng(seed);
  const nHosts = between(r, 2, 4);
  const hosts: HostSpec[] = [];
  const journalSeed = opts.journal !== false && usesJournal(seed);
  for (let i = 0; i < nHosts; i++) {
    const coin = chance(r, 0.5); // drawn always: the topology depends on the seed only
    hosts.push({ name: `h${i + 1}`, octet: 11 + i, source: journalSeed && (i === 0 || coin) ? "journal" : "file" });
  }
  const nRouters = between(r, 1, 3);
  const vrids = new Set<number>();
  while (vrids.size < nRouters) vrids.add(between(r, 1, 250));
  const routers: RouterSpec[] = [...vrids].map((vrid, k) => ({
    vrid,
    advertInt: chance(r, 0.7) ? 1 : 2,
    authPass: chance(r, 0.6) ? pick(r, ["s3cret", "vrrp-pw", "k33p"]) : null,
    vips: chance(r, 0.6) ? [`198.18.0.${101 + 2 * k}`] : [`198.18.0.${101 + 2 * k}`, `198.18.0.${102 + 2 * k}`],
    unicast: chance(r, 0.35),
  }));
  const members: Topology["members"] = {};
  for (const h of hosts) members[h.name] = {};
  for (const rt of routers) {
    // priorities: distinct, or the top two equal (tie broken by the higher address)
    const base = hosts.map((_, i) => 150 - 20 * i);
    if (chance(r, 0.25) && hosts.length >= 2) base[1] = base[0];
    const order = [...hosts.keys()].sort(() => r() - 0.5);
    const weight0 = chance(r, 0.35);
    const anyNopreempt = chance(r, 0.2);
    hosts.forEach((h, i) => {
      const prio = base[order.indexOf(i)];
      const top = prio === Math.max(...base);
      members[h.name][rt.vrid] = {
        // names differ between hosts for the same VRID (local names only)
        instance: chance(r, 0.5) ? `VI_${rt.vrid}` : `${h.name.toUpperCase()}_R${rt.vrid}`,
        priority: prio,
        state: anyNopreempt ? "BACKUP" : top ? "MASTER" : "BACKUP",
        nopreempt: anyNopreempt,
        scriptWeight: chance(r, 0.8) ? (weight0 ? 0 : -60) : null,
        trackEth1: chance(r, 0.3),
      };
    });
  }
  const syncGroup = routers.length >= 2 && chance(r, 0.35) ? routers.slice(0, 2).map((x) => x.vrid) : [];
  // keepalived ignores weighted trackers of sync-group members ("ignoring tracked script ... with weights due to SYNC
  // group"): their scripts track with weight 0 (FAULT, which the group mirrors)
  for (const v of syncGroup) for (const h of hosts) if (members[h.name][v].scriptWeight !== null) members[h.name][v].scriptWeight = 0;
  const topo: Topology = { seed, hosts, routers, members, syncGroup, agentsFirst: chance(r, 0.5), staleNames: chance(r, 0.5) };
  // later additions draw from a stream of their own, so that every earlier draw (and so every schedule measured
  // before them) stays as it was: equal priorities with state MASTER and nopreempt on the top two hosts
  const x = prng(seed ^ 0x7e1e);
  for (const rt of routers) {
    if (!chance(x, 0.15) || hosts.length < 2) continue;
    const top2 = [...hosts].sort((a, b) => members[b.name][rt.vrid].priority - members[a.name][rt.vrid].priority).slice(0, 2);
    const prio = members[top2[0].name][rt.vrid].priority;
    for (const h of top2) Object.assign(members[h.name][rt.vrid], { priority: prio, state: "MASTER", nopreempt: true, masterNopreempt: true });
  }
  return topo;
}

export interface RenderOpts {
  /** directory holding the health files healthy-<vrid> */
  dir: string;
  /** instance name suffix for the stale first start */
  nameSuffix?: string;
}

export const healthFile = (dir: string, vrid: number) => `${dir}/healthy-${vrid}`;

/** the must-match fields of a host's view of a router (auth, advert_int, VIPs, unicast peer set) */
export function effectiveRouter(t: Topology, host: string, rt: RouterSpec): { authPass: string | null; advertInt: number; vips: string[]; peers: string[] | null } {
  const m = t.members[host][rt.vrid];
  const me = t.hosts.find((h) => h.name === host)!;
  return {
    authPass: m.authPass !== undefined ? m.authPass : rt.authPass,
    advertInt: m.advertInt ?? rt.advertInt,
    vips: m.vips ?? rt.vips,
    peers: rt.unicast ? (m.peers ?? t.hosts.filter((h) => h.name !== host).map(hostAddress)).concat(hostAddress(me)).sort() : null,
  };
}

export function renderConfig(t: Topology, host: string, o: RenderOpts): string {
  const me = t.hosts.find((h) => h.name === host);
  if (!me) throw new Error(`no host ${host}`);
  const out: string[] = [`global_defs {\n  router_id ${host}\n  script_user root\n  enable_script_security\n}`];
  for (const rt of t.routers) {
    const m = t.members[host][rt.vrid];
    if (m.scriptWeight !== null) {
      out.push(`vrrp_script chk_${rt.vrid} {\n  script "/usr/bin/test -f ${healthFile(o.dir, rt.vrid)}"\n  interval 1\n  fall 1\n  rise 1\n  weight ${m.scriptWeight}\n}`);
    }
  }
  const name = (vrid: number) => `${t.members[host][vrid].instance}${o.nameSuffix ?? ""}`;
  if (t.syncGroup.length) out.push(`vrrp_sync_group G_${t.syncGroup.join("_")} {\n  group {\n${t.syncGroup.map((v) => `    ${name(v)}\n`).join("")}  }\n}`);
  for (const rt of t.routers) {
    const m = t.members[host][rt.vrid];
    const eff = effectiveRouter(t, host, rt);
    const lines = [
      `vrrp_instance ${name(rt.vrid)} {`,
      `  state ${m.masterNopreempt ? "MASTER" : m.nopreempt ? "BACKUP" : m.state}`,
      `  interface eth0`,
      `  virtual_router_id ${m.vrid ?? rt.vrid}`,
      `  priority ${m.priority}`,
      `  advert_int ${eff.advertInt}`,
    ];
    if (m.nopreempt) lines.push("  nopreempt");
    if (eff.authPass !== null) lines.push(`  authentication {\n    auth_type PASS\n    auth_pass ${eff.authPass}\n  }`);
    if (eff.peers) {
      lines.push(`  unicast_src_ip ${hostAddress(me)}`, `  unicast_peer {\n${eff.peers.filter((p) => p !== hostAddress(me)).map((p) => `    ${p}\n`).join("")}  }`);
    }
    lines.push(`  virtual_ipaddress {\n${eff.vips.map((v) => `    ${v}/24 dev eth0\n`).join("")}  }`);
    if (m.scriptWeight !== null) lines.push(`  track_script {\n    chk_${rt.vrid}\n  }`);
    if (m.trackEth1) lines.push(`  track_interface {\n    eth1\n  }`);
    lines.push("}");
    out.push(lines.join("\n"));
  }
  return `${out.join("\n")}\n`;
}

/** a deep copy (actions change members, the schedule keeps the original) */
export const cloneTopology = (t: Topology): Topology => JSON.parse(JSON.stringify(t)) as Topology;
