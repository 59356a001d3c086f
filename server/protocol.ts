/**
 * The wire contract between agents, server and browsers.
 *
 * Every message that crosses a socket is described here once, as a zod schema
 * with its inferred type. The agent (bundled), the server and the browser all
 * import this module; it imports nothing but zod, so it is safe everywhere.
 *
 * Bump PROTOCOL_VERSION on any incompatible change; the server refuses agents
 * that speak another major version with a typed error naming both versions.
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 1;

/** Limits enforced at the edge (server) and respected by the agent. */
export const LIMITS = {
  /** one log line, in characters; longer lines are cut by the agent and flagged */
  maxLineLength: 8192,
  /** records in one batch */
  maxBatchRecords: 1000,
  /** bytes of one socket.io message (also the server's maxHttpBufferSize) */
  maxMessageBytes: 4 * 1024 * 1024,
  /** VRRP instances in one config snapshot */
  maxInstances: 1024,
  /** addresses in one VIP observation */
  maxAddresses: 4096,
} as const;

const name = z.string().min(1).max(128);
/** Epoch milliseconds (fractions allowed: journald gives microseconds). */
const epochMs = z.number().finite().nonnegative();
const seq = z.number().int().positive();

// ---------------------------------------------------------------- handshake

/** socket.io `auth` payload of the /agent namespace. */
export const AgentHello = z.object({
  protocol: z.number().int(),
  token: z.string().min(16).max(256),
  /** generated once by the agent and kept with its outbox */
  agentId: z.string().uuid(),
  /** node name as shown in the dashboard (default: hostname) */
  node: name.regex(/^[A-Za-z0-9._-]+$/, "node names use letters, digits, '.', '_' and '-'"),
  hostname: z.string().max(255).default(""),
  version: z.string().max(64).default(""),
  /** the node's offset from UTC in minutes: keepalived's console/log-file lines are stamped in local time */
  utcOffsetMinutes: z.number().int().min(-1080).max(1080).default(0),
});
export type AgentHello = z.infer<typeof AgentHello>;
/** what an agent sends (defaults may be left out) */
export type AgentHelloInput = z.input<typeof AgentHello>;

// ---------------------------------------------------------------- records

/** A raw keepalived log line. The server parses it; the agent does not interpret it. */
export const LogRecordMsg = z.object({
  kind: z.literal("log"),
  seq,
  /** node time of the line: journal __REALTIME_TIMESTAMP, else the time the agent read it */
  ts: epochMs,
  source: z.enum(["journal", "file"]),
  line: z.string().max(LIMITS.maxLineLength),
  /** the agent cut the line to maxLineLength */
  truncated: z.boolean().optional(),
  /** journald cursor (source = journal) */
  cursor: z.string().max(512).optional(),
  /** file inode as a decimal string and byte offset of the line start (source = file) */
  inode: z.string().regex(/^\d{1,20}$/).optional(),
  offset: z.number().int().nonnegative().optional(),
  /** SYSLOG_IDENTIFIER and pid, when the source knows them */
  ident: z.string().max(128).optional(),
  pid: z.number().int().nonnegative().optional(),
});
export type LogRecordMsg = z.infer<typeof LogRecordMsg>;

export const HeldAddress = z.object({
  address: z.string().min(2).max(64),
  prefixlen: z.number().int().min(0).max(128),
  iface: z.string().max(64),
});
export type HeldAddress = z.infer<typeof HeldAddress>;

/** The full set of addresses the node holds (from `ip -j addr`), sent on change and periodically. */
export const VipRecordMsg = z.object({
  kind: z.literal("vips"),
  seq,
  ts: epochMs,
  addresses: z.array(HeldAddress).max(LIMITS.maxAddresses),
});
export type VipRecordMsg = z.infer<typeof VipRecordMsg>;

/** One vrrp_instance as read from keepalived.conf. Secrets never appear in clear. */
export const ConfigInstance = z.object({
  name,
  vrid: z.number().int().min(1).max(255).nullable(),
  interface: z.string().max(64).nullable(),
  /** configured initial state */
  state: z.enum(["MASTER", "BACKUP"]).nullable(),
  priority: z.number().int().min(0).max(255).nullable(),
  /** seconds */
  advertInt: z.number().positive().nullable(),
  authType: z.enum(["PASS", "AH"]).nullable(),
  /**
   * scrypt of the first 8 bytes of auth_pass (all keepalived puts on the wire),
   * salted per VRID so peers can be compared without revealing the password.
   */
  authPassHash: z.string().max(128).nullable(),
  vips: z.array(z.string().max(128)).max(LIMITS.maxAddresses),
  trackScripts: z.array(z.string().max(128)).max(256),
  trackInterfaces: z.array(z.string().max(128)).max(256),
  unicastSrcIp: z.string().max(64).nullable(),
  unicastPeers: z.array(z.string().max(64)).max(256),
  nopreempt: z.boolean(),
  vrrpVersion: z.number().int().min(2).max(3).nullable(),
  syncGroup: z.string().max(128).nullable(),
});
export type ConfigInstance = z.infer<typeof ConfigInstance>;

export const ConfigRecordMsg = z.object({
  kind: z.literal("config"),
  seq,
  ts: epochMs,
  /** main configuration file */
  path: z.string().max(4096),
  /** sha256 of the canonical JSON of { routerId, netNamespace, instances } */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  routerId: z.string().max(128).nullable(),
  netNamespace: z.string().max(128).nullable(),
  instances: z.array(ConfigInstance).max(LIMITS.maxInstances),
  /** problems the reader met (unreadable include, bad value), each naming file and line */
  errors: z.array(z.string().max(1024)).max(256),
});
export type ConfigRecordMsg = z.infer<typeof ConfigRecordMsg>;

/** Records seq fromSeq..toSeq were lost (outbox full, source unreadable): the gap is itself reported. */
export const GapRecordMsg = z.object({
  kind: z.literal("gap"),
  seq,
  ts: epochMs,
  fromSeq: seq,
  toSeq: seq,
  dropped: z.number().int().nonnegative(),
  reason: z.string().max(512),
});
export type GapRecordMsg = z.infer<typeof GapRecordMsg>;

/**
 * keepalived's processes on the node, as the agent's process watch saw them (pidfiles, else a /proc scan,
 * in the agent's network namespace when it watches one). Sent at start (the first observation), on every
 * change, and hourly as a confirmation. Not a log line: keepalived killed by SIGKILL, a crash or the OOM
 * killer writes nothing, and this record is how the server learns of it.
 */
export const ProcessRecordMsg = z.object({
  kind: z.literal("process"),
  seq,
  /** node time of the observation */
  ts: epochMs,
  /** is keepalived (its parent process) running now */
  running: z.boolean(),
  /**
   * what changed: "observed" (first observation or hourly confirmation, nothing changed), "started",
   * "stopped" (gone after a shutdown was seen: the parent exited with status 0 or the journal logged
   * "Stopped"), "vanished" (gone without a shutdown the agent could see), "child_vanished" (the parent
   * runs but its VRRP child is gone)
   */
  event: z.enum(["observed", "started", "stopped", "vanished", "child_vanished"]),
  /** pid of the parent process and of the VRRP child, when running */
  pid: z.number().int().positive().nullable(),
  vrrpPid: z.number().int().positive().nullable(),
  /** how the agent knows: "pidfile" or "proc" */
  via: z.enum(["pidfile", "proc"]),
  /** what the agent could learn of the exit: "signal KILL", "exit status 1", "oom-kill" (journal/kernel), else null */
  exit: z.string().max(256).nullable(),
});
export type ProcessRecordMsg = z.infer<typeof ProcessRecordMsg>;

export const AgentRecord = z.discriminatedUnion("kind", [LogRecordMsg, VipRecordMsg, ConfigRecordMsg, GapRecordMsg, ProcessRecordMsg]);
export type AgentRecord = z.infer<typeof AgentRecord>;

export const Batch = z.object({
  records: z.array(AgentRecord).min(1).max(LIMITS.maxBatchRecords),
});
export type Batch = z.infer<typeof Batch>;

/** Typed error answer used by every ack and HTTP error body. */
export const ErrorCode = z.enum([
  "invalid_message",
  "too_large",
  "unauthorized",
  "forbidden",
  "protocol_mismatch",
  "rate_limited",
  "unavailable",
  "not_found",
  "internal",
  /** a state-changing HTTP request without same-origin Origin/Referer or without a valid CSRF token */
  "csrf",
  /** a cap on what one token or node may make the server keep (nodes per cluster token, issue 19) */
  "limit_exceeded",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;
export type ErrorReply = {
  ok: false;
  code: ErrorCode;
  message: string;
  /** rate_limited / unavailable: the earliest moment worth retrying, in ms from now (agents wait at least this long) */
  retryAfterMs?: number;
};

/**
 * `data` of the Error a refused /agent handshake carries (socket.io
 * connect_error): the typed code, and for rate_limited / unavailable a retry hint.
 */
export type HandshakeRefusal = { code: ErrorCode; retryAfterMs?: number };

/** Answer to a batch: sent only after the records are committed. */
export type BatchAck =
  | {
      ok: true;
      /** every seq of the batch: stored now or already stored before */
      acked: number[];
      stored: number;
      duplicates: number;
    }
  | ErrorReply;

export const Heartbeat = z.object({
  /** node clock, epoch ms: the server measures skew from it */
  ts: epochMs,
  /** records waiting in the outbox */
  outbox: z.number().int().nonnegative(),
  /** per source: "ok" or a short error */
  sources: z.record(z.string().max(64), z.string().max(512)).default({}),
});
export type Heartbeat = z.infer<typeof Heartbeat>;
export type HeartbeatAck = { ok: true; serverTime: number } | ErrorReply;

export interface AgentClientToServer {
  batch: (batch: unknown, ack: (reply: BatchAck) => void) => void;
  heartbeat: (hb: unknown, ack: (reply: HeartbeatAck) => void) => void;
}
export interface AgentServerToClient {
  /** the server asks for a fresh VIP and config snapshot (e.g. after its restart) */
  resync: () => void;
}

// ---------------------------------------------------------------- browsers

export const InstanceState = z.enum(["MASTER", "BACKUP", "FAULT", "STOP", "UNKNOWN"]);
export type InstanceState = z.infer<typeof InstanceState>;

export const ClusterStatus = z.enum(["ok", "warning", "critical"]);
export type ClusterStatus = z.infer<typeof ClusterStatus>;

/** Element of GET /api/clusters (DESIGN.md) and of the live `cluster` push. */
export const ClusterSummary = z.object({
  name: z.string(),
  status: ClusterStatus,
  nodes: z.array(
    z.object({
      name: z.string(),
      online: z.boolean(),
      lastSeen: z.string().nullable(),
      /** node clock minus server clock (ms) from the agent's last heartbeat; null = not measured yet */
      skewMs: z.number().nullable().optional(),
      /**
       * keepalived's process as the agent's process watch last saw it: "down" = not running, or its VRRP child
       * gone (its instances are then shown STOP); null/absent = not watched (an older agent, --pidfile none)
       */
      keepalived: z.enum(["running", "down"]).nullable().optional(),
      instances: z.array(
        z.object({
          name: z.string(),
          vrid: z.number().nullable(),
          state: InstanceState,
          priority: z.number().nullable().optional(),
          vips: z.array(z.object({ address: z.string(), held: z.boolean() })),
        }),
      ),
    }),
  ),
  openIncidents: z.number().int(),
});
export type ClusterSummary = z.infer<typeof ClusterSummary>;

export const IncidentKind = z.enum([
  "FAULT", "DUAL_MASTER", "NO_MASTER", "FLAPPING", "AGENT_OFFLINE", "STATE_MISMATCH", "CONFIG_DRIFT", "KEEPALIVED_DOWN",
]);
export type IncidentKind = z.infer<typeof IncidentKind>;

/** Element of GET /api/incidents, body of GET /api/incidents/:id and of the live `incident` push. */
export const IncidentMsg = z.object({
  id: z.string(),
  cluster: z.string(),
  kind: IncidentKind,
  severity: z.enum(["critical", "warning", "info"]),
  vrid: z.number().nullable(),
  /** node name -> instance name */
  instances: z.record(z.string(), z.string()),
  nodes: z.array(z.string()),
  openedAt: z.string(),
  closedAt: z.string().nullable(),
  /** opened during a maintenance window: recorded, not notified */
  silenced: z.boolean(),
  /** optional extra fields: set once an operator acknowledged the incident */
  ackedAt: z.string().optional(),
  ackedBy: z.string().optional(),
  /** optional: id of the incident this one follows (same subject, re-occurred within the hold-down with a different cause) */
  follows: z.string().optional(),
  cause: z.object({
    code: z.string(),
    summary: z.string(),
    evidence: z.array(z.object({ node: z.string(), at: z.string(), line: z.string(), kind: z.string() })),
  }),
});
export type IncidentMsg = z.infer<typeof IncidentMsg>;

/** /live: what a browser may ask for. */
export const Subscribe = z.object({
  /** cluster names, or ["*"] for all */
  clusters: z.array(z.string().max(128)).min(1).max(1000),
});
export type Subscribe = z.infer<typeof Subscribe>;

export interface LiveClientToServer {
  subscribe: (msg: unknown, ack?: (reply: { ok: true } | ErrorReply) => void) => void;
}
export interface LiveServerToClient {
  /** the whole summary of one cluster, after any change to it */
  cluster: (summary: ClusterSummary) => void;
  /** an incident of a subscribed cluster was opened, updated or closed */
  incident: (msg: { change: "opened" | "updated" | "closed"; incident: IncidentMsg }) => void;
}

/** Format a zod error as one short line naming the first failing fields. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}
