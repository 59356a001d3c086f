/**
 * Contract of the detectors: pure functions from an ordered stream of facts
 * (what agents reported, in the order the server stored it) plus the clock,
 * to incidents. No I/O. The live server and a replay of stored history feed
 * the same engine, so they yield the same incidents.
 */
import type { ConfigInstance, InstanceState } from "../protocol";
import type { KeepalivedEvent } from "../parser/types";

export type Fact = FactBody & {
  /**
   * server receive time, epoch ms (stored rows: received_at; live: the batch's receive time). The engine's
   * clock runs on it; `ts` (node time) is for display and evidence and is used as the event time only where
   * it is plausible (event time = min(ts, rx)). Absent: ts is taken as the receive time (server-made facts).
   */
  rx?: number;
};

type FactBody =
  /** a stored log line (event = the parser's reading of it, null if none) */
  | { kind: "log"; node: string; ts: number; id: string; line: string; event: KeepalivedEvent | null }
  /** the full set of addresses the node held at ts */
  | { kind: "vips"; node: string; ts: number; id: string; addresses: string[] }
  /** the node's keepalived configuration from ts on */
  | { kind: "config"; node: string; ts: number; id: string; instances: ConfigInstance[] }
  /** the node's agent was heard from at ts (heartbeat, batch or connect) */
  | { kind: "seen"; node: string; ts: number }
  /**
   * the node's agent lost records (outbox full, source unreadable: protocol GapRecordMsg) and said so at ts:
   * what it reported around then is not complete (an absence is not judged over it: absence.ts)
   */
  | { kind: "gap"; node: string; ts: number; id: string; dropped: number }
  /** the node's agent disconnected cleanly at ts (it may come back) */
  | { kind: "disconnected"; node: string; ts: number }
  /**
   * the server began accepting agent connections at ts, after replaying stored history (a start or restart,
   * stored in server_start): the time it was down does not count against the agents. Not about one node.
   */
  | { kind: "server_started"; node: ""; ts: number }
  /**
   * keepalived's processes on the node (protocol ProcessRecordMsg): running or not, and what changed.
   * "stopped" = a shutdown the agent saw; "vanished" = gone without one (SIGKILL, crash, OOM killer).
   */
  | {
      kind: "process"; node: string; ts: number; id: string; running: boolean;
      event: "observed" | "started" | "stopped" | "vanished" | "child_vanished"; exit: string | null;
    }
  /**
   * a stored keepalived dump sample of the node (protocol DumpRecordMsg, its change points): per instance
   * the sum of its authentication-error counters (invalid_authtype + authtype_mismatch + auth_failure), and
   * keepalived's pid (the counters restart with it)
   */
  | { kind: "dump"; node: string; ts: number; id: string; pid: number; auth: Record<string, number> };

export type IncidentKind =
  | "FAULT"
  | "DUAL_MASTER"
  | "NO_MASTER"
  | "FLAPPING"
  | "AGENT_OFFLINE"
  | "STATE_MISMATCH"
  | "CONFIG_DRIFT"
  | "KEEPALIVED_DOWN";

export type Severity = "critical" | "warning" | "info";

export interface Evidence {
  node: string;
  /** epoch ms */
  at: number;
  /** the log line, or a one-line rendering of a VIP observation / config difference */
  line: string;
  kind: "log" | "vips" | "config" | "liveness" | "dump";
  /** id of the fact it comes from, when it has one */
  ref?: string;
}

export interface Cause {
  /** stable machine code, e.g. "interface_down", "adverts_not_received", "auth_mismatch", "unknown" */
  code: string;
  /** one sentence for humans */
  summary: string;
}

export interface Incident {
  /**
   * stable identity: the same finding in a replay has the same key:
   * `${cluster}:${kind}:${scope}[:${node}|:names]:${openedAt}` (openedAt in epoch ms as stored)
   */
  key: string;
  kind: IncidentKind;
  severity: Severity;
  cluster: string;
  vrid: number | null;
  /** address family of the virtual router's VIPs (peers are grouped by VRID + family); null when unknown */
  family: "ipv4" | "ipv6" | null;
  /**
   * what the incident is about: "51" (VRID 51, IPv4), "51/ipv6", or the instance name when the node sent
   * no configuration (then vrid is null and peers are grouped by instance name); "agent" for AGENT_OFFLINE
   */
  scope: string;
  /** node name -> instance name, for the nodes involved */
  instances: Record<string, string>;
  nodes: string[];
  /**
   * epoch ms, derived from facts (never from the time a tick ran): the moment the condition BEGAN
   * (second MASTER appeared, last MASTER left, FAULT line, first counted state change, last time the
   * agent was heard from, config snapshot). The incident is only reported once the condition has lasted
   * past its threshold (grace, flap count, offline limit).
   */
  openedAt: number;
  /** the moment the condition ENDED (for FLAPPING: the last state change before the quiet period) */
  closedAt: number | null;
  cause: Cause;
  evidence: Evidence[];
  /**
   * key of the incident of the same slot that this one follows: it re-occurred within the hold-down with
   * a DIFFERENT cause (one incident = one episode with one cause)
   */
  follows?: string;
}

export type IncidentChange = { type: "opened" | "updated" | "closed"; incident: Incident };

/** Per-cluster settings; every field has a documented default. */
export interface DetectorSettings {
  /**
   * overlap tolerated before DUAL_MASTER and STATE_MISMATCH open. null (default): graceAdverts x the
   * VRID's advert_int (largest among the peers' configs; 1 s when unknown)
   */
  graceMs: number | null;
  /**
   * grace in advert intervals when graceMs is null (default 1.5). Measured on the captured
   * keepalived 2.2.7 runs: failovers and preemptions overlap by milliseconds (nothing even at
   * 0.5 s), a normal takeover by at most one advert interval, while the injected partitions
   * overlapped 2.0 s and 2.55 s (keepalived itself waits ~3 adverts before taking over). A grace of
   * 3 x advert_int, as first specified, would miss partitions shorter than ~6 s.
   */
  graceAdverts: number;
  /**
   * absence of any MASTER tolerated before NO_MASTER. null (default): the larger of the grace and
   * 4 x advert_int (a BACKUP waits keepalived's master-down interval, 3 x advert_int + skew < 4 x advert_int,
   * before taking over, e.g. at startup or when a MASTER dies without sending priority 0)
   */
  noMasterGraceMs: number | null;
  /**
   * FLAPPING: at least this many state changes of one node's instance of a VRID (entering or leaving an
   * `(init)` state is keepalived starting, not counted) ... (default 4; at least 2)
   */
  flapCount: number;
  /** ... within this window (default 60000 ms) */
  flapWindowMs: number;
  /** FLAPPING closes after this long without a change (default 60000 ms) */
  flapQuietMs: number;
  /** AGENT_OFFLINE after this long without hearing from an agent (default 15000 ms) */
  offlineMs: number;
  /** a re-occurrence within this time after closing re-opens (extends) the same incident (default 60000 ms) */
  holdDownMs: number;
  /** a fact stamped more than this ahead of its receive time is flagged (counted) and never moves the clock (default 300000 ms) */
  futureSkewMs: number;
  /**
   * STATE_MISMATCH, a condition made only of one node's reports, is judged at its deadline once a later
   * record of that node has arrived (a report that would have ended it in time is then no longer on its
   * way), or this long after the deadline at the latest (default 5000 ms)
   */
  deliveryAllowanceMs: number;
}

export const DEFAULT_SETTINGS: DetectorSettings = {
  graceMs: null,
  graceAdverts: 1.5,
  noMasterGraceMs: null,
  flapCount: 4,
  flapWindowMs: 60_000,
  flapQuietMs: 60_000,
  offlineMs: 15_000,
  holdDownMs: 60_000,
  futureSkewMs: 300_000,
  deliveryAllowanceMs: 5_000,
};

/** What the UI shows per node: nodeStates() */
export interface NodeStateView {
  node: string;
  /** false while the agent is offline (disconnected, or silent past offlineMs): every state is then UNKNOWN */
  online: boolean;
  lastSeen: number | null;
  instances: InstanceStateView[];
}

export interface InstanceStateView {
  instance: string;
  vrid: number | null;
  family: "ipv4" | "ipv6" | null;
  /** UNKNOWN while the agent is offline or before keepalived logged a state for the instance */
  state: InstanceState;
  /** epoch ms of the log line that put the instance in its state */
  since: number | null;
  /** effective priority (from `Changing effective priority` lines, else the configured one) */
  priority: number | null;
  /** the instance's configured VIPs; held is null before the node's first VIP observation */
  vips: { address: string; held: boolean | null }[];
}
