/**
 * Contract of the detectors: pure functions from an ordered stream of facts
 * (what agents reported, in the order the server stored it) plus the clock,
 * to incidents. No I/O. The live server and a replay of stored history feed
 * the same engine, so they yield the same incidents.
 */
import type { ConfigInstance } from "../protocol";
import type { KeepalivedEvent } from "../parser/types";

export type Fact =
  /** a stored log line (event = the parser's reading of it, null if none) */
  | { kind: "log"; node: string; ts: number; id: string; line: string; event: KeepalivedEvent | null }
  /** the full set of addresses the node held at ts */
  | { kind: "vips"; node: string; ts: number; id: string; addresses: string[] }
  /** the node's keepalived configuration from ts on */
  | { kind: "config"; node: string; ts: number; id: string; instances: ConfigInstance[] }
  /** the node's agent was heard from at ts (heartbeat, batch or connect) */
  | { kind: "seen"; node: string; ts: number }
  /** the node's agent disconnected cleanly at ts (it may come back) */
  | { kind: "disconnected"; node: string; ts: number };

export type IncidentKind =
  | "FAULT"
  | "DUAL_MASTER"
  | "NO_MASTER"
  | "FLAPPING"
  | "AGENT_OFFLINE"
  | "STATE_MISMATCH"
  | "CONFIG_DRIFT";

export type Severity = "critical" | "warning" | "info";

export interface Evidence {
  node: string;
  /** epoch ms */
  at: number;
  /** the log line, or a one-line rendering of a VIP observation / config difference */
  line: string;
  kind: "log" | "vips" | "config" | "liveness";
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
  /** stable identity: the same finding in a replay has the same key */
  key: string;
  kind: IncidentKind;
  severity: Severity;
  vrid: number | null;
  /** node name -> instance name, for the nodes involved */
  instances: Record<string, string>;
  nodes: string[];
  /** epoch ms, derived from facts (never from the time a tick ran) */
  openedAt: number;
  closedAt: number | null;
  cause: Cause;
  evidence: Evidence[];
}

export type IncidentChange = { type: "opened" | "updated" | "closed"; incident: Incident };

/** Per-cluster settings; every field has a documented default. */
export interface DetectorSettings {
  /** overlap/absence tolerated before DUAL_MASTER / NO_MASTER / STATE_MISMATCH; default: 3 x advert_int (from config), else 3000 ms */
  graceMs: number | null;
  /** FLAPPING: at least this many state changes of one VRID ... (default 4) */
  flapCount: number;
  /** ... within this window (default 60000 ms) */
  flapWindowMs: number;
  /** FLAPPING closes after this long without a change (default 60000 ms) */
  flapQuietMs: number;
  /** AGENT_OFFLINE after this long without hearing from an agent (default 15000 ms) */
  offlineMs: number;
  /** a re-occurrence within this time after closing re-opens (extends) the same incident (default 60000 ms) */
  holdDownMs: number;
}

export const DEFAULT_SETTINGS: DetectorSettings = {
  graceMs: null,
  flapCount: 4,
  flapWindowMs: 60_000,
  flapQuietMs: 60_000,
  offlineMs: 15_000,
  holdDownMs: 60_000,
};
