/**
 * The truth lab's observation, label and definition types and constants (the oracle's vocabulary), apart from
 * how the oracle derives labels (oracle.ts). Imports nothing from server/ except the wire protocol's types.
 */
import type { IncidentKind } from "../../server/protocol";

export type Kind = IncidentKind;

/** keepalived's JSON `state`: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT */
export const KA_STATE = ["INIT", "BACKUP", "MASTER", "FAULT"] as const;

export interface RouterFields {
  authPass: string | null;
  advertInt: number;
  vips: string[];
  /** unicast: own address + peers, sorted; null = multicast */
  peers: string[] | null;
}

export interface ActionRecord {
  id: number;
  kind: string;
  /** the host it acted on (null: the whole cluster or the server) */
  host: string | null;
  vrid: number | null;
  at: number;
  /** when it was reverted (= at for instantaneous actions) */
  until: number;
  /** kind -> cause class this action explains (see CAUSE_CODES; "any" = no cause check) */
  expect: Partial<Record<Kind, string>>;
  /** kinds the definitions leave ambiguous while this action runs (and a settle time after) */
  dontCare: Kind[];
  benign: boolean;
  note?: string;
  /**
   * the VRIDs whose instance on `host` the action hits itself (see originsOf in actions.ts): an interface going
   * down hits every instance that runs on it or tracks it, whichever VRID the plan named; other FAULTed members
   * of their sync group only mirror them. Absent in artifacts older than session 25: [vrid].
   */
  origins?: number[];
}

export interface Observations {
  seed: number;
  cluster: string;
  startedAt: number;
  endedAt: number;
  hosts: string[];
  syncGroup: number[];
  vrids: number[];
  /** kernel addresses of each host's eth0, recorded on change (sampled every <= 200 ms) */
  addr: { t: number; host: string; ips: string[] }[];
  /** keepalived's parent process alive (pid file + /proc), recorded on change */
  proc: { t: number; host: string; running: boolean }[];
  /** keepalived's JSON dumps (t = when read): per instance vrid, state, last_transition (ms) */
  dumps: { t: number; host: string; instances: { iname: string; vrid: number; state: number; lastTransition: number }[] }[];
  /** VRRP packets in/out per host (nftables counters), every ~1 s */
  vrrp: { t: number; host: string; rx: number; tx: number }[];
  /** what the harness did to keepalived */
  ka: { t: number; host: string; what: "start" | "stop" | "kill" | "reload" }[];
  /** each host's configuration as written: must-match fields per VRID */
  configs: { t: number; host: string; routers: Record<number, RouterFields> }[];
  /** agent process up/down (harness) */
  agents: { t: number; host: string; running: boolean }[];
  actions: ActionRecord[];
  /** sampling problems (counted, shown) */
  errors: string[];
}

export interface Defs {
  graceAdverts: number;
  flapCount: number;
  flapWindowMs: number;
  flapQuietMs: number;
  offlineMs: number;
  /** H: an episode recurring within it after the previous one ended, same kind, VRID, host and cause, is the same incident */
  holdDownMs: number;
  /** tolerance around every duration threshold: conditions this close to it are "don't care" */
  bandMs: number;
}

/** the definitions' defaults: the oracle labels against the SPECIFICATION, never the product's settings */
export const DEFS: Defs = { graceAdverts: 1.5, flapCount: 4, flapWindowMs: 60_000, flapQuietMs: 60_000, offlineMs: 15_000, holdDownMs: 60_000, bandMs: 1000 };

/** cause class -> the product's cause codes that count as right */
export const CAUSE_CODES: Record<string, string[]> = {
  vip_left_behind: ["vip_left_behind"],
  adverts_not_received: ["adverts_not_received"],
  auth_mismatch: ["auth_mismatch"],
  advert_interval_mismatch: ["advert_interval_mismatch"],
  vip_mismatch: ["vip_mismatch"],
  unicast_peers_mismatch: ["unicast_peers_mismatch"],
  vrid_mismatch: ["vrid_mismatch"],
  interface_down: ["interface_down"],
  script_failed: ["script_failed"],
  sync_group: ["sync_group"],
  tracked_script_toggling: ["tracked_script_toggling"],
  link_flapping: ["link_flapping"],
  no_takeover: ["no_takeover", "unknown"],
};

/** CONFIG_DRIFT: the differing must-match field -> its cause class */
export const DRIFT_CAUSE: Record<string, string> = {
  auth: "auth_mismatch", advert_int: "advert_interval_mismatch", vips: "vip_mismatch", unicast_peers: "unicast_peers_mismatch", vrid: "vrid_mismatch",
};

export interface Label {
  id: string;
  kind: Kind;
  vrid: number | null;
  hosts: string[];
  start: number;
  end: number;
  /**
   * when the condition began, for a kind whose label starts at a deadline after it (AGENT_OFFLINE: the agent
   * went silent offlineMs before): the incident's openedAt, and the time the hold-down is counted to
   */
  since?: number;
  /** false when the condition still held when observation ended */
  ended: boolean;
  /** cause class, null = not checked */
  cause: string | null;
  accepted: string[] | null;
  action: number | null;
  why: string;
}

export interface Window {
  kind: Kind;
  vrid: number | null;
  host: string | null;
  start: number;
  end: number;
  why: string;
}

export interface Truth {
  labels: Label[];
  dontCare: Window[];
  /** time in which nothing may open (ms): the run minus labels and don't-care windows */
  quietMs: number;
  /** raw truth intervals per condition, for the artifacts */
  intervals: { what: string; vrid: number | null; host: string | null; start: number; end: number }[];
}

/** an empty observation record (the sampler and the harness fill it) */
export function emptyObservations(seed: number, cluster: string, hosts: string[], vrids: number[], syncGroup: number[]): Observations {
  return { seed, cluster, startedAt: Date.now(), endedAt: 0, hosts, syncGroup, vrids, addr: [], proc: [], dumps: [], vrrp: [], ka: [], configs: [], agents: [], actions: [], errors: [] };
}
