/**
 * The wire contract between agents, server and browsers.
 *
 * Every message that crosses a socket is described here once, as a zod schema
 * with its inferred type. The agent (bundled), the server and the browser all
 * import this module; it imports nothing but zod, so it is safe everywhere.
 *
 * Written with zod/mini (functions and .check(...) instead of methods) so the
 * agent bundle carries no zod classic (issue 18: classic was 527 KiB of the
 * agent's 896 KiB bundle and ~10.5 MiB of its RSS at start). These are ordinary
 * zod 4 schemas: classic code composes them with functions (z.optional(X),
 * z.array(X), X inside z.object), not methods (X.optional()), and a helper
 * taking "any schema" types it z.core.$ZodType and calls z.safeParse(schema, v).
 * zod/mini loads no locale, so this module loads the English one: issue
 * messages (describeZodError) read as with classic zod.
 *
 * Bump PROTOCOL_VERSION on any incompatible change; the server refuses agents
 * that speak another major version with a typed error naming both versions.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());

export const PROTOCOL_VERSION = 1;

/** Limits enforced at the edge (server) and respected by the agent. */
export const LIMITS = {
  /** one log line, in characters; longer lines are cut by the agent and flagged */
  maxLineLength: 8192,
  /** records in one batch */
  maxBatchRecords: 1000,
  /**
   * bytes of one socket.io message of an agent: the maxHttpBufferSize of the agents' own socket.io server
   * (SOCKET_PATHS.agent), which admits only a request carrying a valid agent token (server/ingest/agent-gate.ts)
   */
  maxMessageBytes: 4 * 1024 * 1024,
  /**
   * bytes of one socket.io message on the default path (SOCKET_PATHS.browser): browsers' /live, and agents
   * still on the legacy path. Anyone may open a connection there, so the buffer stays small (issue 19).
   */
  maxBrowserMessageBytes: 256 * 1024,
  /** VRRP instances in one config snapshot */
  maxInstances: 1024,
  /** addresses in one VIP observation */
  maxAddresses: 4096,
} as const;

/** a string of at most `max` characters */
const str = (max: number) => z.string().check(z.maxLength(max));
const name = z.string().check(z.minLength(1), z.maxLength(128));
/** Epoch milliseconds (fractions allowed: journald gives microseconds; zod 4 numbers are finite). */
const epochMs = z.number().check(z.nonnegative());
const seq = z.int().check(z.positive());
/** a whole number in [min, max] */
const intIn = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const nonnegInt = z.int().check(z.nonnegative());
/** an array of at most `items` strings of at most `max` characters each */
const strings = (max: number, items: number) => z.array(str(max)).check(z.maxLength(items));

/**
 * The two socket.io servers on the one port (issue 19), as socket.io's `path` option (URLs start with the
 * path and a slash): browsers (and the legacy /agent namespace) on socket.io's default, agents on their own,
 * whose engine admits only a request with `Authorization: Bearer <agent token>`.
 */
export const SOCKET_PATHS = { browser: "/socket.io", agent: "/agent.io" } as const;

// ---------------------------------------------------------------- handshake

/** socket.io `auth` payload of the /agent namespace. */
export const AgentHello = z.object({
  protocol: z.int(),
  token: z.string().check(z.minLength(16), z.maxLength(256)),
  /** generated once by the agent and kept with its outbox */
  agentId: z.uuid(),
  /** node name as shown in the dashboard (default: hostname) */
  node: name.check(z.regex(/^[A-Za-z0-9._-]+$/, "node names use letters, digits, '.', '_' and '-'")),
  hostname: z._default(str(255), ""),
  version: z._default(str(64), ""),
  /** the node's offset from UTC in minutes: keepalived's console/log-file lines are stamped in local time */
  utcOffsetMinutes: z._default(intIn(-1080, 1080), 0),
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
  line: str(LIMITS.maxLineLength),
  /** the agent cut the line to maxLineLength */
  truncated: z.optional(z.boolean()),
  /** journald cursor (source = journal) */
  cursor: z.optional(str(512)),
  /** file inode as a decimal string and byte offset of the line start (source = file) */
  inode: z.optional(z.string().check(z.regex(/^\d{1,20}$/))),
  offset: z.optional(nonnegInt),
  /** SYSLOG_IDENTIFIER and pid, when the source knows them */
  ident: z.optional(str(128)),
  pid: z.optional(nonnegInt),
});
export type LogRecordMsg = z.infer<typeof LogRecordMsg>;

export const HeldAddress = z.object({
  address: z.string().check(z.minLength(2), z.maxLength(64)),
  prefixlen: intIn(0, 128),
  iface: str(64),
});
export type HeldAddress = z.infer<typeof HeldAddress>;

/** The full set of addresses the node holds (from `ip -j addr`), sent on change and periodically. */
export const VipRecordMsg = z.object({
  kind: z.literal("vips"),
  seq,
  ts: epochMs,
  addresses: z.array(HeldAddress).check(z.maxLength(LIMITS.maxAddresses)),
});
export type VipRecordMsg = z.infer<typeof VipRecordMsg>;

/** One vrrp_instance as read from keepalived.conf. Secrets never appear in clear. */
export const ConfigInstance = z.object({
  name,
  vrid: z.nullable(intIn(1, 255)),
  interface: z.nullable(str(64)),
  /** configured initial state */
  state: z.nullable(z.enum(["MASTER", "BACKUP"])),
  priority: z.nullable(intIn(0, 255)),
  /** seconds */
  advertInt: z.nullable(z.number().check(z.positive())),
  authType: z.nullable(z.enum(["PASS", "AH"])),
  /**
   * scrypt of the first 8 bytes of auth_pass (all keepalived puts on the wire),
   * salted per VRID so peers can be compared without revealing the password.
   */
  authPassHash: z.nullable(str(128)),
  vips: strings(128, LIMITS.maxAddresses),
  trackScripts: strings(128, 256),
  trackInterfaces: strings(128, 256),
  unicastSrcIp: z.nullable(str(64)),
  unicastPeers: strings(64, 256),
  nopreempt: z.boolean(),
  vrrpVersion: z.nullable(intIn(2, 3)),
  syncGroup: z.nullable(str(128)),
});
export type ConfigInstance = z.infer<typeof ConfigInstance>;

export const ConfigRecordMsg = z.object({
  kind: z.literal("config"),
  seq,
  ts: epochMs,
  /** main configuration file */
  path: str(4096),
  /** sha256 of the canonical JSON of { routerId, netNamespace, instances } */
  hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  routerId: z.nullable(str(128)),
  netNamespace: z.nullable(str(128)),
  instances: z.array(ConfigInstance).check(z.maxLength(LIMITS.maxInstances)),
  /** problems the reader met (unreadable include, bad value), each naming file and line */
  errors: strings(1024, 256),
});
export type ConfigRecordMsg = z.infer<typeof ConfigRecordMsg>;

/** Records seq fromSeq..toSeq were lost (outbox full, source unreadable): the gap is itself reported. */
export const GapRecordMsg = z.object({
  kind: z.literal("gap"),
  seq,
  ts: epochMs,
  fromSeq: seq,
  toSeq: seq,
  dropped: nonnegInt,
  reason: str(512),
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
  pid: z.nullable(z.int().check(z.positive())),
  vrrpPid: z.nullable(z.int().check(z.positive())),
  /** how the agent knows: "pidfile" or "proc" */
  via: z.enum(["pidfile", "proc"]),
  /** what the agent could learn of the exit: "signal KILL", "exit status 1", "oom-kill" (journal/kernel), else null */
  exit: z.nullable(str(256)),
});
export type ProcessRecordMsg = z.infer<typeof ProcessRecordMsg>;

/** keepalived's per-instance counters, with the names of its JSON dump's `stats` (vrrp_json.c; the STATS text dump has the same) */
export const DUMP_COUNTERS = [
  "advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err", "advert_interval_err", "ip_ttl_err",
  "invalid_type_rcvd", "addr_list_err", "invalid_authtype", "authtype_mismatch", "auth_failure", "pri_zero_rcvd", "pri_zero_sent",
] as const;
export type DumpCounter = (typeof DUMP_COUNTERS)[number];
const counter = z.int().check(z.nonnegative());

/** one VRRP instance of a keepalived dump: the figures the agent keeps (never auth_data, which is the password in clear) */
export const DumpInstance = z.object({
  name,
  /** null: the text dump without a DATA section for it */
  vrid: z.nullable(intIn(0, 255)),
  state: z.nullable(z.enum(["INIT", "BACKUP", "MASTER", "FAULT", "STOP", "DELETED"])),
  basePriority: z.nullable(intIn(0, 255)),
  effectivePriority: z.nullable(intIn(0, 255)),
  stats: z.object(Object.fromEntries(DUMP_COUNTERS.map((k) => [k, counter])) as Record<DumpCounter, typeof counter>),
});
export type DumpInstance = z.infer<typeof DumpInstance>;

/**
 * keepalived's own data and stats dumps as the agent read them (agent/dumps.ts; only with --dumps-interval,
 * off by default): every instance's effective priority and its advert / error counters, counted by keepalived
 * since its start. Sent only to a server that lists "dumps" in its heartbeat answer (`records`): an older
 * server refuses an unknown record kind, which the agent would then turn into a gap.
 */
export const DumpRecordMsg = z.object({
  kind: z.literal("dumps"),
  seq,
  /** node time of the dump */
  ts: epochMs,
  /** "json": the SIGJSON dump (--enable-json builds); "text": the STATS and DATA text dumps */
  source: z.enum(["json", "text"]),
  /** keepalived's parent pid when the dump was asked for (counters restart with it) */
  pid: z.int().check(z.positive()),
  instances: z.array(DumpInstance).check(z.maxLength(LIMITS.maxInstances)),
});
export type DumpRecordMsg = z.infer<typeof DumpRecordMsg>;

/** record kinds a server may list in its heartbeat answer beyond those every protocol-1 server takes */
export const OPTIONAL_RECORDS = ["dumps"] as const;

export const AgentRecord = z.discriminatedUnion("kind", [LogRecordMsg, VipRecordMsg, ConfigRecordMsg, GapRecordMsg, ProcessRecordMsg, DumpRecordMsg]);
export type AgentRecord = z.infer<typeof AgentRecord>;

export const Batch = z.object({
  records: z.array(AgentRecord).check(z.minLength(1), z.maxLength(LIMITS.maxBatchRecords)),
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
  /** POST /api/enrol: the enrolment code was used already (a copied install command cannot enrol a second node) */
  "enrolment_used",
  /** POST /api/enrol: the enrolment code expired before it was used */
  "enrolment_expired",
  /** POST /api/enrol: an admin revoked the enrolment code */
  "enrolment_revoked",
  /** the request conflicts with what is stored (an enrolment code for a node still bound to a valid agent token) */
  "conflict",
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
  outbox: nonnegInt,
  /** per source: "ok" or a short error */
  sources: z._default(z.record(str(64), str(512)), {}),
});
export type Heartbeat = z.infer<typeof Heartbeat>;
export type HeartbeatAck =
  | {
      ok: true;
      serverTime: number;
      /**
       * optional record kinds this server takes (OPTIONAL_RECORDS); absent from older servers, whose agents
       * then do not send them. Older agents ignore it.
       */
      records?: string[];
    }
  | ErrorReply;

export interface AgentClientToServer {
  batch: (batch: unknown, ack: (reply: BatchAck) => void) => void;
  heartbeat: (hb: unknown, ack: (reply: HeartbeatAck) => void) => void;
}
export interface AgentServerToClient {
  /** the server asks for a fresh VIP and config snapshot (e.g. after its restart) */
  resync: () => void;
  /**
   * storage works again after batches were answered `unavailable`: send now rather than at the end of the
   * retry delay (up to 30 s). Agents that do not know it wait for their delay, as before.
   */
  resume: () => void;
}

// ---------------------------------------------------------------- enrolment

/**
 * POST ENROL_PATH (issue 14, "Add a node from the dashboard"): an agent started with a one-time enrolment code
 * (--enrol / KAM_ENROL_CODE) and no token exchanges the code for a per-node agent token, once, before it
 * connects; it keeps the token in its state directory and never sends the code again. Plain HTTP rather than
 * the socket: the agents' socket path admits only token holders (server/ingest/agent-gate.ts), and a request
 * with a typed answer is the simplest thing to retry and to test.
 */
export const ENROL_PATH = "/api/enrol";

/** enrolment codes: "kame_" and 32 random bytes, base64url (safe on a shell command line without quotes) */
export const ENROL_CODE_RE = /^kame_[A-Za-z0-9_-]{43}$/;

export const EnrolRequest = z.object({
  code: z.string().check(z.regex(ENROL_CODE_RE, "not an enrolment code (kame_ and 43 letters, digits, '-' or '_')")),
  /** the node name the agent will connect as: must be the code's */
  node: name.check(z.regex(/^[A-Za-z0-9._-]+$/, "node names use letters, digits, '.', '_' and '-'")),
  /** the agent's id (its state directory's agent-id), recorded with the token's first use */
  agentId: z.optional(z.uuid()),
  version: z.optional(str(64)),
});
export type EnrolRequest = z.infer<typeof EnrolRequest>;

/** a success: the agent token (shown this once; the server keeps its SHA-256 only) for `node` of `cluster` */
export const EnrolReply = z.object({ ok: z.literal(true), cluster: z.string(), node: z.string(), token: z.string(), codeId: z.optional(z.int()) });
export type EnrolReply = z.infer<typeof EnrolReply>;

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
      lastSeen: z.nullable(z.string()),
      /** node clock minus server clock (ms) from the agent's last heartbeat; null = not measured yet */
      skewMs: z.optional(z.nullable(z.number())),
      /**
       * keepalived's process as the agent's process watch last saw it: "down" = not running, or its VRRP child
       * gone (its instances are then shown STOP); null/absent = not watched (an older agent, --pidfile none)
       */
      keepalived: z.optional(z.nullable(z.enum(["running", "down"]))),
      /**
       * the node's agent as it announced itself in its handshake: its version, and whether that is older than
       * the server's (upgrade it: the server accepts the agents of its protocol, docs in README "Upgrades");
       * null/absent = no agent of the node seen yet (an empty version: an agent that announced none)
       */
      agent: z.optional(z.nullable(z.object({ version: z.string(), outdated: z.boolean() }))),
      instances: z.array(
        z.object({
          name: z.string(),
          vrid: z.nullable(z.number()),
          state: InstanceState,
          priority: z.optional(z.nullable(z.number())),
          /** the priority in the node's keepalived.conf; null/absent: no config snapshot names it */
          configuredPriority: z.optional(z.nullable(z.number())),
          /**
           * keepalived's own figures from its newest dump (agent --dumps-interval): the effective priority
           * (configured plus track weights) and when the dump was taken; absent: no dump sample of it
           */
          dump: z.optional(z.object({ effectivePriority: z.nullable(z.number()), at: z.string() })),
          vips: z.array(z.object({ address: z.string(), held: z.boolean() })),
        }),
      ),
    }),
  ),
  openIncidents: z.int(),
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
  vrid: z.nullable(z.number()),
  /** node name -> instance name */
  instances: z.record(z.string(), z.string()),
  nodes: z.array(z.string()),
  openedAt: z.string(),
  closedAt: z.nullable(z.string()),
  /** opened during a maintenance window: recorded, not notified */
  silenced: z.boolean(),
  /** optional extra fields: set once an operator acknowledged the incident */
  ackedAt: z.optional(z.string()),
  ackedBy: z.optional(z.string()),
  /** optional: id of the incident this one follows (same subject, re-occurred within the hold-down with a different cause) */
  follows: z.optional(z.string()),
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
  clusters: z.array(str(128)).check(z.minLength(1), z.maxLength(1000)),
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

/** Format a zod error (of these schemas or of any zod schema, classic or mini) as one short line naming the first failing fields. */
export function describeZodError(err: z.core.$ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}
