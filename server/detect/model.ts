/**
 * The detectors' picture of one cluster, built only from facts: nodes (liveness, newest config, held
 * addresses, a bounded ring of recent log lines), instances (state per node) and virtual-router groups.
 *
 * Grouping: peers of one virtual router share a VRID on one segment; the instance NAME is local and not
 * on the wire. We key a group by VRID + address family of the instance's VIPs ("51" = VRID 51 with IPv4
 * VIPs, "51/ipv6"), from the node's newest config snapshot. An instance the node's config does not
 * describe (no snapshot yet, or no virtual_router_id) is keyed by its instance name instead, with
 * vrid null; incidents about it say so.
 */
import type { ConfigInstance } from "../protocol";
import type { KeepalivedEvent } from "../parser/types";
import { Ring } from "./ring";
import { newFlap, type FlapState } from "./flap";
import type { Evidence } from "./types";

export type KState = "MASTER" | "BACKUP" | "FAULT" | "STOP";

/** recent log lines kept per node (bounded memory for a long-running server) */
export const RING_LINES = 200;
/** recent lines with a parsed event kept per node, so noise does not push causes out */
export const RING_EVENTS = 200;
/** keepalived dump samples kept per node (their auth-error counters: DUAL_MASTER evidence) */
export const RING_DUMPS = 32;

/** a keepalived dump sample as detection keeps it (a `dump` fact) */
export interface DumpSample {
  ts: number;
  id: string;
  pid: number;
  /** instance name -> invalid_authtype + authtype_mismatch + auth_failure */
  auth: Record<string, number>;
}

/** instances tracked per node; names beyond this (a flood of odd lines) are ignored */
export const MAX_INSTANCES_PER_NODE = 1024;

export interface LogEntry {
  node: string;
  ts: number;
  id: string;
  line: string;
  event: KeepalivedEvent | null;
}

/** A condition that must last past a threshold before an incident opens. */
export interface Cond {
  /** when the condition began (null: not active) */
  since: number | null;
  /** nodes involved since it began */
  nodes: Set<string>;
  /** registry slot of the incident it opened, while open */
  slot: string | null;
  /** when the previous episode ended (-Infinity: none): evidence older than that belongs to it */
  endedAt: number;
}

export const newCond = (): Cond => ({ since: null, nodes: new Set(), slot: null, endedAt: -Infinity });

/** NO_MASTER's condition: a MASTER that steps down within one advert interval does not end it */
export interface NoMasterCond extends Cond {
  /** the open timer's deadline: countFrom (or the engine's clock, for a condition learnt late) + the grace */
  dueAt: number;
  /** since, or the end of the election in progress when the absence began (nomaster.ts electionEnd): openedAt */
  countFrom: number;
  /** when a MASTER appeared (or a VIP was taken) during the absence, while it is not yet known to last */
  brokenAt: number | null;
  breakTrigger: Evidence[];
  /** the members MASTER since brokenAt (node + instance name): how they leave tells a collapse from a failure */
  breakMasters: Set<string>;
  /** MASTERs of this absence that stepped down within one advert interval, and their lines */
  momentary: number;
  momentaryEv: Evidence[];
}

export const newNoMasterCond = (): NoMasterCond => ({ ...newCond(), dueAt: 0, countFrom: 0, brokenAt: null, breakTrigger: [], breakMasters: new Set(), momentary: 0, momentaryEv: [] });

export interface InstRec {
  node: string;
  name: string;
  group: Group;
  cfg: ConfigInstance | null;
  state: KState | null;
  /**
   * the current state is the one this keepalived run started in: entered with `(init)`, or the first BACKUP or
   * FAULT after a start or a stop (an instance waiting for its tracked script logs no `(init)`)
   */
  init: boolean;
  /** the current state was entered from the run's starting state: the first election of this keepalived run */
  afterInit: boolean;
  /** when the instance last entered its starting state (its keepalived started) */
  initAt: number | null;
  /**
   * the state its last MASTER role ended in: STOP when its keepalived shut down (a planned failover, also when
   * the next run started before a peer took over), null while it never was MASTER
   */
  leftMaster: KState | null;
  since: number | null;
  entry: LogEntry | null;
  priority: number | null;
  /** STATE_MISMATCH condition of this instance */
  mismatch: Cond;
  /** open FAULT incident slot */
  faultSlot: string | null;
}

export interface NodeRec {
  name: string;
  /** false while the agent is offline; a node never heard from by `seen` counts as online (liveness untracked) */
  online: boolean;
  tracked: boolean;
  lastSeen: number | null;
  disconnectedAt: number | null;
  configTs: number | null;
  configRef: string | null;
  cfgByName: Map<string, ConfigInstance>;
  insts: Map<string, InstRec>;
  /**
   * a VIP observation was received since the agent last went away: held is meaningful. A disconnect or an
   * offline deadline makes it false (what the node held while its agent was away is unknown) until the next
   * VIP report: no STATE_MISMATCH or VIP holder is judged on an older view (truth lab seed 525)
   */
  vipsKnown: boolean;
  /** every address the node holds -> when it started holding it */
  held: Map<string, { ts: number; id: string }>;
  lastVips: { ts: number; id: string } | null;
  lines: Ring<LogEntry>;
  events: Ring<LogEntry>;
  dumps: Ring<DumpSample>;
  /** open KEEPALIVED_DOWN incident slot */
  downSlot: string | null;
  /** keepalived's process as last learnt (process facts, start/stop lines); null = not known */
  keepalived: "running" | "stopped" | "down" | null;
  keepaliveSince: number | null;
  /** time of the last logged shutdown ("Stopping"/"Stopped") */
  shutdownAt: number | null;
  /**
   * when the process watch last reported keepalived running (a `process` fact, running = true); null after it
   * reported it gone. Its next "stopped"/"vanished" is about the process it reported then.
   */
  watchedRunAt: number | null;
  /** time of the last logged start of keepalived ("Starting Keepalived v...") */
  startLoggedAt: number | null;
  /** while down: the node's role per virtual router just before, and the process fact's entry */
  downBefore: Map<Group, KState | null> | null;
  downEntry: LogEntry | null;
  /** FAULT incidents still looking for a cause in the lines that follow */
  pendingFaults: { rec: InstRec; entry: LogEntry; until: number }[];
  /**
   * the node's stream: the largest event time of the records received from it (log, VIP, config and
   * process records; not liveness, which the server makes): what the node reported is complete up to
   * about here. Timers of conditions made only of this node's reports wait for it (timers.ts).
   */
  streamAt: number;
  /** the server's receive time of the newest of those records: how long the node has been quiet (timers.ts) */
  receivedAt: number;
  /**
   * when the agent was first heard from (a `seen`) after the server's latest start; null until then. Until the
   * node sends a record after that start, a backlog of it may be on its way (timers.ts, `awaitedUntil`)
   */
  backAt: number | null;
  /** parsed lines pushed into `events` so far: which of the ring's entries came after a given moment */
  eventsPushed: number;
  /** while the agent is away (online = false): what was known when it went (absence.ts); null while online */
  away: Absence | null;
  /** the newest time the node's agent reported lost records (a `gap` fact), null: never */
  gapAt: number | null;
  /** the node's last absence that ended: [from, to] */
  lastAbsence: { from: number; to: number } | null;
}

/**
 * What the detectors knew when a node's agent went away: the states of the members of its virtual routers and
 * how many lines each node had sent, so its backlog (and its peers' lines meanwhile) can be replayed over the
 * absence once it is back (absence.ts).
 */
export interface Absence {
  from: number;
  /** node name -> its eventsPushed at `from` */
  pushed: Map<string, number>;
  /** per virtual router of the node: each member's state and the line that made it so, at `from` */
  groups: Map<Group, {
    members: Map<string, { rec: InstRec; state: KState | null; entry: LogEntry | null }>;
    pendingDual: number | null;
    /**
     * the router's VIPs the node held (its last VIP report) while its keepalived was gone without a logged
     * shutdown: they stay on the interface until keepalived starts again and removes them (KEEPALIVED.md);
     * each with the report that showed it held, and the fact that reported keepalived gone. Null when it held
     * none or its keepalived was not gone
     */
    leftBehind: { vips: { address: string; ts: number; id: string }[]; down: LogEntry | null } | null;
  }>;
  /** when the agent came back (the judge's timer is set then) */
  back: number | null;
}

export interface Group {
  key: string;
  vrid: number | null;
  family: "ipv4" | "ipv6" | null;
  /** "51", "51/ipv6" or the instance name */
  scope: string;
  members: Map<string, InstRec>;
  /** VIP addresses of the members' configs */
  vips: Set<string>;
  /** VIPs whose VIP-ownership check this group does (a VIP configured in several groups is checked once) */
  ownedVips: string[];
  /** largest advert_int among the members' configs, ms */
  advertMs: number | null;
  /**
   * largest advert_int among the members' configs and those of their sync-group partners on the same node,
   * ms: keepalived moves a sync group together, so a member takes over no sooner than its slowest partner
   */
  takeoverAdvertMs: number | null;
  dual: Cond;
  nomaster: NoMasterCond;
  flap: FlapState;
  /** CONFIG_DRIFT signatures of the open drift incidents */
  drift: { warn: string | null; names: string | null };
}

/** "192.0.2.100/24 dev eth0" -> "192.0.2.100" */
export function vipAddress(vip: string): string {
  return vip.trim().split(/\s+/)[0].split("/")[0].toLowerCase();
}

export function familyOf(vips: readonly string[]): "ipv4" | "ipv6" {
  return vips.length > 0 && vips.every((v) => vipAddress(v).includes(":")) ? "ipv6" : "ipv4";
}

const memberKey = (node: string, inst: string) => `${node}\u0000${inst}`;

export class Model {
  readonly nodes = new Map<string, NodeRec>();
  readonly groups = new Map<string, Group>();
  /** VIP address -> groups whose members configure it */
  vipGroups = new Map<string, Set<Group>>();
  /** instance names ignored because a node exceeded MAX_INSTANCES_PER_NODE */
  droppedInstances = 0;
  /** state lines of instances not in their node's current configuration (history: no incident) */
  historicLines = 0;
  /** node + sync group -> time of the last MASTER change counted for one of its VRIDs (FLAPPING) */
  readonly syncChanges = new Map<string, number>();
  /** the server's latest start (fact `server_started`), -Infinity before the engine learns one */
  serverStartedAt = -Infinity;

  node(name: string): NodeRec {
    let n = this.nodes.get(name);
    if (!n) {
      n = {
        name, online: true, tracked: false, lastSeen: null, disconnectedAt: null, configTs: null, configRef: null,
        cfgByName: new Map(), insts: new Map(), vipsKnown: false, held: new Map(), lastVips: null,
        lines: new Ring(RING_LINES), events: new Ring(RING_EVENTS), dumps: new Ring(RING_DUMPS), downSlot: null, keepalived: null, keepaliveSince: null, shutdownAt: null, watchedRunAt: null, startLoggedAt: null, downBefore: null, downEntry: null, pendingFaults: [], streamAt: -Infinity, receivedAt: -Infinity, backAt: null, eventsPushed: 0, away: null, gapAt: null, lastAbsence: null,
      };
      this.nodes.set(name, n);
    }
    return n;
  }

  /**
   * The instance record (created on first mention), or null when the node has too many, or when the node
   * sent a configuration snapshot that does not configure `name` (a retired or unknown instance: history).
   */
  inst(node: NodeRec, name: string): InstRec | null {
    let r = node.insts.get(name);
    if (r) return r;
    if (node.cfgByName.size > 0 && !node.cfgByName.has(name)) {
      this.historicLines++;
      return null;
    }
    if (node.insts.size >= MAX_INSTANCES_PER_NODE) {
      this.droppedInstances++;
      return null;
    }
    const cfg = node.cfgByName.get(name) ?? null;
    r = {
      node: node.name, name, group: null as unknown as Group, cfg, state: null, init: false, afterInit: false, initAt: null, leftMaster: null, since: null, entry: null,
      priority: cfg?.priority ?? null, mismatch: newCond(), faultSlot: null,
    };
    this.attach(r, this.groupFor(name, cfg));
    node.insts.set(name, r);
    return r;
  }

  groupFor(name: string, cfg: ConfigInstance | null): Group {
    let key: string, vrid: number | null = null, family: Group["family"] = null, scope: string;
    if (cfg && cfg.vrid != null) {
      vrid = cfg.vrid;
      family = familyOf(cfg.vips);
      key = `${family}:${vrid}`;
      scope = family === "ipv6" ? `${vrid}/ipv6` : `${vrid}`;
    } else {
      key = `name:${name}`;
      scope = name;
    }
    let g = this.groups.get(key);
    if (!g) {
      g = {
        key, vrid, family, scope, members: new Map(), vips: new Set(), ownedVips: [], advertMs: null, takeoverAdvertMs: null,
        dual: newCond(), nomaster: newNoMasterCond(), flap: newFlap(),
        drift: { warn: null, names: null },
      };
      this.groups.set(key, g);
    }
    return g;
  }

  attach(r: InstRec, g: Group): void {
    if (r.group) r.group.members.delete(memberKey(r.node, r.name));
    r.group = g;
    g.members.set(memberKey(r.node, r.name), r);
  }

  /**
   * Install a node's config snapshot: regroup its instances (creating records for configured ones).
   * Returns the groups whose membership changed. Older snapshots than the current one are ignored (null).
   */
  applyConfig(node: NodeRec, instances: ConfigInstance[], ts: number, ref: string): { touched: Set<Group>; retired: InstRec[] } | null {
    if (node.configTs !== null && ts < node.configTs) return null;
    node.configTs = ts;
    node.configRef = ref;
    node.cfgByName = new Map(instances.map((i) => [i.name, i]));
    const touched = new Set<Group>();
    const retired: InstRec[] = [];
    // an instance the CURRENT snapshot does not configure (renamed, removed, or only known from lines
    // received before the first snapshot) is retired for this node now: its lines are history from here on
    // (an EMPTY snapshot says nothing about the instances: the agent found none it could read; lines are
    // then grouped by instance name as without any snapshot)
    for (const [name, r] of node.insts) {
      if (node.cfgByName.has(name) || instances.length === 0) continue;
      r.group.members.delete(memberKey(r.node, r.name));
      touched.add(r.group);
      node.insts.delete(name);
      retired.push(r);
    }
    for (const i of instances) this.inst(node, i.name);
    for (const r of node.insts.values()) {
      r.cfg = node.cfgByName.get(r.name) ?? null;
      if (r.priority === null) r.priority = r.cfg?.priority ?? null;
      const g = this.groupFor(r.name, r.cfg);
      if (g !== r.group) {
        touched.add(r.group);
        touched.add(g);
        this.attach(r, g);
      }
    }
    this.rebuildGroupProps();
    return { touched, retired };
  }

  /** Recompute VIP sets, advert intervals and the VIP index of every group (config facts are rare). */
  rebuildGroupProps(): void {
    this.vipGroups = new Map();
    for (const g of this.groups.values()) {
      g.vips = new Set();
      g.advertMs = null;
      for (const r of g.members.values()) {
        for (const v of r.cfg?.vips ?? []) g.vips.add(vipAddress(v));
        const adv = r.cfg?.advertInt;
        if (adv != null && (g.advertMs === null || adv * 1000 > g.advertMs)) g.advertMs = adv * 1000;
      }
      g.takeoverAdvertMs = g.advertMs;
      for (const r of g.members.values()) {
        const sg = r.cfg?.syncGroup;
        if (!sg) continue;
        for (const c of this.nodes.get(r.node)?.cfgByName.values() ?? []) {
          if (c.syncGroup === sg && c.advertInt != null && (g.takeoverAdvertMs === null || c.advertInt * 1000 > g.takeoverAdvertMs)) {
            g.takeoverAdvertMs = c.advertInt * 1000;
          }
        }
      }
      for (const a of g.vips) {
        let s = this.vipGroups.get(a);
        if (!s) this.vipGroups.set(a, (s = new Set()));
        s.add(g);
      }
    }
    for (const g of this.groups.values()) {
      g.ownedVips = [...g.vips].filter((a) => ownerOf(this.vipGroups.get(a)!) === g).sort();
    }
  }

  /** Forget groups left without members and without anything pending (after a config change). */
  pruneGroups(): void {
    for (const [key, g] of this.groups) {
      if (g.members.size || g.dual.since !== null || g.nomaster.since !== null || g.flap.slot !== null) continue;
      if (g.drift.warn !== null || g.drift.names !== null) continue;
      this.groups.delete(key);
    }
  }

  /** online nodes that reported holding `address` */
  holders(address: string): NodeRec[] {
    const out: NodeRec[] = [];
    for (const n of this.nodes.values()) if (n.online && n.vipsKnown && n.held.has(address)) out.push(n);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** groups the node is a member of, or whose VIPs it holds */
  groupsOfNode(node: NodeRec): Set<Group> {
    const out = new Set<Group>();
    for (const r of node.insts.values()) out.add(r.group);
    for (const a of node.held.keys()) for (const g of this.vipGroups.get(a) ?? []) out.add(g);
    return out;
  }

  /** member instance names of a node in a group, joined */
  instanceNames(g: Group, node: string): string | null {
    const names: string[] = [];
    for (const r of g.members.values()) if (r.node === node) names.push(r.name);
    return names.length ? names.sort().join(",") : null;
  }

  /** the instance on `node` that configures VIP `address`, if any */
  instanceWithVip(node: NodeRec, address: string): InstRec | null {
    for (const r of node.insts.values()) if (r.cfg?.vips.some((v) => vipAddress(v) === address)) return r;
    return null;
  }
}

/**
 * The router that checks an address configured under several (a VRID changed on some nodes): the one most
 * nodes configure it under, the odd ones out being the mismatch (as CONFIG_DRIFT reports it); on a tie the
 * lowest VRID, then the lowest key. (It was the lowest key as a string, so "100" owned an address of "99"
 * whatever the nodes said: truth lab seed 3804 of session 33.)
 */
function ownerOf(groups: Set<Group>): Group {
  const nodes = (g: Group) => new Set([...g.members.values()].map((r) => r.node)).size;
  const rank = (a: Group, b: Group) =>
    nodes(b) - nodes(a) || (a.vrid ?? Infinity) - (b.vrid ?? Infinity) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return [...groups].sort(rank)[0];
}

/** nodes sorted by name */
export function sortedNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}
