/**
 * socket.io namespace /agent: authenticates agents in the handshake (token
 * scoped to one cluster, node name bound to the first token that used it),
 * validates every message against the protocol, stores batches and
 * acknowledges them only after the commit.
 *
 * It is attached twice (issue 19, server/main.ts): on the agents' own socket.io
 * server (SOCKET_PATHS.agent, 4 MiB messages, behind the token gate of
 * agent-gate.ts; the handshake's token must be the gate's) and, for agents
 * from before that server, on the default path (SOCKET_PATHS.browser, the
 * browsers' 256 KiB limit): the legacy path, counted per cluster
 * (kam_agent_legacy_path_total) and logged once per node, or refused
 * `forbidden` with KAM_AGENT_LEGACY_PATH=off.
 */
import type { Namespace, Server, Socket } from "socket.io";
import {
  AgentHello,
  Batch,
  OPTIONAL_RECORDS,
  LIMITS,
  SOCKET_PATHS,
  Heartbeat,
  PROTOCOL_VERSION,
  describeZodError,
  type AgentClientToServer,
  type AgentServerToClient,
  type BatchAck,
  type ErrorCode,
  type HandshakeRefusal,
  type HeartbeatAck,
} from "../protocol";
import type { AppContext } from "../app-context";
import type { Ingest } from "./batches";
import type { Liveness } from "./liveness";
import type { StorageRecovery } from "./recovery";
import { verifyToken } from "./tokens";
import { BatchQueue } from "./batch-queue";
import { type IngestLimiter, LogThrottle, nodeKey, permanentStoreError, unstorable } from "./limits";
import { clientAddress } from "../auth/net";
import { SWEEP_MS } from "../auth/access";
import { bearerToken } from "./agent-gate";

export interface AgentSocketData {
  clusterId: number;
  cluster: string;
  nodeId: number;
  node: string;
  agentId: string;
  tokenId: number;
  /** node's UTC offset, for log lines stamped in local time */
  utcOffsetMinutes: number;
  /** the agent's version from its handshake ("" when it sent none) */
  version: string;
}

type AgentNamespace = Namespace<AgentClientToServer, AgentServerToClient, Record<string, never>, AgentSocketData>;
type AgentSocket = Socket<AgentClientToServer, AgentServerToClient, Record<string, never>, AgentSocketData>;

class HandshakeError extends Error {
  data: HandshakeRefusal;
  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.data = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? { code, retryAfterMs: Math.ceil(retryAfterMs) } : { code };
  }
}

/** the retry hint when the token cannot be checked (database away) */
const UNAVAILABLE_RETRY_MS = 5000;

/** Prisma's unique-constraint violation: someone else created the row first */
function isUniqueViolation(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "P2002";
}

/**
 * Who may connect as which node (issue 19):
 * - a per-node token connects as its own node name only; it takes the name
 *   over from a legacy cluster token or a revoked token (the admin issued it
 *   for that node), but not from another active per-node token;
 * - a legacy cluster token (node_name NULL) is accepted for a node name nobody
 *   claimed yet (logged and counted: kam_agent_cluster_token_total), and for a
 *   node it claimed only with an agent id already registered for that node: a
 *   second agent with the cluster token and a peer's name is refused `forbidden`
 *   (a node the token claimed without any agent, left by a handshake cut short,
 *   is still unclaimed);
 *   at most caps.nodesPerToken names per cluster token (`limit_exceeded`).
 * - a node registers new agent ids (reinstalls) at a bounded rate.
 * `gateToken`: on the agent path, the token the gate admitted (agent-gate.ts), which the handshake must carry.
 */
async function authenticate(
  app: AppContext, auth: unknown, limiter: IngestLimiter | undefined, addr: string, gateToken?: string | null,
): Promise<AgentSocketData> {
  const proto = (auth as { protocol?: unknown } | null)?.protocol;
  if (proto !== PROTOCOL_VERSION) {
    throw new HandshakeError(
      "protocol_mismatch",
      `agent speaks protocol ${JSON.stringify(proto)}, server speaks ${PROTOCOL_VERSION}: upgrade the agent or the server`,
    );
  }
  const hello = AgentHello.safeParse(auth);
  if (!hello.success) throw new HandshakeError("invalid_message", `invalid handshake: ${describeZodError(hello.error)}`);
  const h = hello.data;
  if (gateToken !== undefined && gateToken !== h.token) {
    throw new HandshakeError("forbidden", "the handshake's token is not the Authorization header's: the agent sends one token in both");
  }
  const scope = await verifyToken(app.db, h.token);
  if (!scope) throw new HandshakeError("unauthorized", "unknown or revoked agent token: check the agent's --token / KAM_TOKEN");
  const rate = limiter?.handshake(addr, scope.tokenId) ?? { ok: true };
  if (!rate.ok) throw new HandshakeError("rate_limited", rate.message, rate.retryMs);
  if (scope.nodeName !== null && scope.nodeName !== h.node) {
    throw new HandshakeError("forbidden", `this agent token is for node "${scope.nodeName}", not "${h.node}": check --node / KAM_NODE`);
  }

  const db = app.db;
  const now = new Date();
  const where = { clusterId_name: { clusterId: scope.clusterId, name: h.node } };
  let node = await db.node.findUnique({ where });
  let created = false;
  if (!node) {
    if (scope.nodeName === null) {
      const claimed = await db.node.count({ where: { tokenId: scope.tokenId } });
      if (claimed >= app.settings.caps.nodesPerToken) {
        throw new HandshakeError(
          "limit_exceeded",
          `this cluster token already named ${claimed} nodes (limit ${app.settings.caps.nodesPerToken}): give each node its own token (npm run token -- create --cluster ${scope.cluster} --node NAME)`,
        );
      }
    }
    try {
      node = await db.node.create({ data: { clusterId: scope.clusterId, name: h.node, tokenId: scope.tokenId, createdAt: now } });
      created = true;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      node = await db.node.findUniqueOrThrow({ where });
    }
  }
  const agent = await db.agent.findUnique({ where: { id: h.agentId } });
  if (agent && (agent.clusterId !== scope.clusterId || agent.nodeId !== node.id)) {
    throw new HandshakeError("forbidden", `agent id ${h.agentId} belongs to another node: give each node its own state directory`);
  }
  if (node.tokenId !== scope.tokenId) {
    const bound = node.tokenId == null ? null : await db.agentToken.findUnique({ where: { id: node.tokenId } });
    const takeOver = scope.nodeName !== null && (!bound || bound.revokedAt !== null || bound.nodeName === null);
    if (!takeOver) {
      throw new HandshakeError("forbidden", `node name "${h.node}" in cluster "${scope.cluster}" is bound to another agent token`);
    }
    await db.node.update({ where: { id: node.id }, data: { tokenId: scope.tokenId } });
    app.log.warn({ cluster: scope.cluster, node: h.node, token: scope.tokenId, previous: node.tokenId }, "node name bound to its new per-node agent token");
  } else if (scope.nodeName === null && !created && !agent && (await db.agent.count({ where: { nodeId: node.id } })) > 0) {
    // the attack of issue 19: the cluster token, a peer's name (a node with an agent of its own), a fresh agent
    // id. A node row without any agent was left by a handshake cut short (the server killed between creating
    // the node and registering its agent): nobody's node yet, the next agent claims it (CI: locked out for ever)
    throw new HandshakeError(
      "forbidden",
      `node "${h.node}" already exists and this cluster token may not register a new agent for it: give the node its own token (npm run token -- create --cluster ${scope.cluster} --node ${h.node})`,
    );
  }
  if (scope.nodeName === null) {
    app.counters.inc("kam_agent_cluster_token_total", { cluster: scope.cluster });
    if (quietClusterTokens.allow(`ct:${scope.tokenId}`) !== null) {
      app.log.warn({ cluster: scope.cluster, node: h.node, token: scope.tokenId }, "agent uses a legacy cluster token (accepted for its own node only): issue a per-node token with npm run token -- create --cluster CLUSTER --node NODE");
    }
  }
  if (!agent && limiter) {
    const v = limiter.newAgent(nodeKey({ tokenId: scope.tokenId, nodeId: node.id }));
    if (!v.ok) throw new HandshakeError("rate_limited", v.message, v.retryMs);
  }
  await db.agent.upsert({
    where: { id: h.agentId },
    create: {
      id: h.agentId,
      clusterId: scope.clusterId,
      nodeId: node.id,
      tokenId: scope.tokenId,
      version: h.version,
      hostname: h.hostname,
      firstSeenAt: now,
      lastSeenAt: now,
    },
    update: { version: h.version, hostname: h.hostname, lastSeenAt: now, tokenId: scope.tokenId },
  });
  await db.agentToken.update({ where: { id: scope.tokenId }, data: { lastUsedAt: now } });
  return {
    clusterId: scope.clusterId, cluster: scope.cluster, nodeId: node.id, node: h.node, agentId: h.agentId, tokenId: scope.tokenId,
    utcOffsetMinutes: h.utcOffsetMinutes, version: h.version,
  };
}

const quietClusterTokens = new LogThrottle(600_000);
/** nodes already warned about the legacy path: once per node (and process) */
const legacyNodes = new LogThrottle(Number.POSITIVE_INFINITY);

/** size of a received message as JSON (what it cost on the wire, about); unserialisable: the limit */
function messageBytes(payload: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? "", "utf8");
  } catch {
    return LIMITS.maxMessageBytes;
  }
}

/** batches waiting for storage on one socket beyond which new ones are refused (the agent retries later) */
const MAX_QUEUED_BATCHES = 16;

export interface AgentNamespaceOptions {
  /** KAM_TRUSTED_PROXIES: whose X-Forwarded-For names the client address the handshake limit is keyed on */
  trustedProxies?: string[];
  /**
   * which server this namespace is on: "agent" (default), the agents' own, whose gate checked the
   * Authorization header (the handshake must carry the same token); "legacy", the default path, served for
   * agents from before the agent path (counted and logged); "legacy-off", the default path refusing agents
   */
  path?: "agent" | "legacy" | "legacy-off";
}

/** the refusal of every agent on the default path when KAM_AGENT_LEGACY_PATH=off */
export const LEGACY_OFF_MESSAGE = `agents connect on ${SOCKET_PATHS.agent}/ (KAM_AGENT_LEGACY_PATH=off on this server): upgrade the agent`;

/** what the agent namespace hands its agents' messages to */
export interface AgentParts {
  ingest: Ingest;
  liveness: Liveness;
  /** told when a batch could not be stored for a transient reason; tells the agents to resume when storage is back */
  recovery?: StorageRecovery;
}

export function attachAgentNamespace(io: Server, app: AppContext, parts: AgentParts, limiter?: IngestLimiter, opts: AgentNamespaceOptions = {}): AgentNamespace {
  const nsp = io.of("/agent") as unknown as AgentNamespace;
  const trusted = opts.trustedProxies ?? [];
  const path = opts.path ?? "agent";

  const quiet = new LogThrottle();
  nsp.use((socket, next) => {
    // the client as the trusted-proxy setting resolves it: behind the documented reverse proxy every
    // agent would otherwise share the proxy's allowance
    const addr = clientAddress(socket.handshake.address, socket.request.headers, trusted);
    // on the agent path the gate admitted the Authorization header's token: the handshake must name the same
    const gateToken = path === "agent" ? bearerToken(socket.request.headers.authorization) : undefined;
    const checked = path === "legacy-off"
      ? Promise.reject(new HandshakeError("forbidden", LEGACY_OFF_MESSAGE))
      : authenticate(app, socket.handshake.auth, limiter, addr, gateToken);
    checked
      .then((data) => {
        socket.data = data;
        next();
      })
      .catch((e: unknown) => {
        let err = e instanceof HandshakeError ? e : new HandshakeError("unavailable", "server cannot check the token right now, retry later", UNAVAILABLE_RETRY_MS);
        if (!(e instanceof HandshakeError)) app.log.error({ err: e }, "agent handshake failed");
        // refusals for what the client sent spend its address's allowance of failures; over it, it is told to
        // wait (an agent from before the agent path, refused with the legacy path off, spends none)
        if (!["unavailable", "rate_limited"].includes(err.data.code) && path !== "legacy-off") {
          const v = limiter?.handshakeFailed(addr) ?? { ok: true };
          if (!v.ok) err = new HandshakeError("rate_limited", v.message, v.retryMs);
        }
        app.counters.inc("kam_agent_handshake_rejected_total", { code: err.data.code });
        const suppressed = quiet.allow(`hs:${addr}:${err.data.code}`);
        if (suppressed !== null) app.log.warn({ code: err.data.code, addr, suppressed }, `agent refused: ${err.message}`);
        next(err);
      });
  });

  nsp.on("connection", (socket: AgentSocket) => {
    const d = socket.data;
    const key = nodeKey(d);
    const log = app.log.child({ cluster: d.cluster, node: d.node, agent: d.agentId, sid: socket.id });
    log.info("agent connected");
    if (path === "legacy") {
      app.counters.inc("kam_agent_legacy_path_total", { cluster: d.cluster });
      if (legacyNodes.allow(key) !== null) {
        log.warn(
          { version: d.version, limitBytes: LIMITS.maxBrowserMessageBytes },
          `agent connected on the legacy path (${SOCKET_PATHS.browser}/, messages up to ${LIMITS.maxBrowserMessageBytes / 1024} KiB; kam_agent_legacy_path_total): upgrade it to use ${SOCKET_PATHS.agent}/`,
        );
      }
    }
    void parts.liveness.agentConnected(d, true);
    // one commit at a time per agent, in arrival order; batches waiting meanwhile share the next commit
    const queue = new BatchQueue({
      store: (records) => parts.ingest.ingest(d, records),
      maxRecords: LIMITS.maxBatchRecords,
      failure: (e, batches) => {
        // PostgreSQL refusing the data itself would refuse it again on every retry: answer
        // invalid_message, so the agent isolates the record and reports it as a gap
        const permanent = permanentStoreError(e);
        // a merged group refused for its data is retried batch by batch (BatchQueue): not an answer yet
        if (permanent && batches > 1) return { permanent: true, reply: { ok: false, code: "invalid_message", message: permanent } };
        const code: ErrorCode = permanent ? "invalid_message" : "unavailable";
        if (!permanent) parts.recovery?.failed();
        app.counters.inc("kam_ingest_rejected_total", { code }, batches);
        log.error({ err: e, permanent: !!permanent, batches }, "batch not stored");
        return {
          permanent: !!permanent,
          reply: permanent
            ? { ok: false, code, message: `the database refused the batch: ${permanent}` }
            : { ok: false, code, message: "the server could not store the batch; it will be retried" },
        };
      },
    });
    const refuse = (reply: (r: BatchAck) => void, code: ErrorCode, message: string, retryAfterMs?: number) => {
      app.counters.inc("kam_ingest_rejected_total", { code });
      const suppressed = quiet.allow(`${socket.id}:${code}`);
      if (suppressed !== null) log.warn({ code, message, suppressed }, "batch rejected");
      reply(retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? { ok: false, code, message, retryAfterMs: Math.ceil(retryAfterMs) } : { ok: false, code, message });
    };

    socket.on("batch", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      // checked on arrival, so a flood is answered at once instead of queueing
      const msgLimit = limiter?.message(key) ?? { ok: true };
      if (!msgLimit.ok) return refuse(reply, "rate_limited", msgLimit.message, msgLimit.retryMs);
      const parsed = Batch.safeParse(payload);
      if (!parsed.success) return refuse(reply, "invalid_message", describeZodError(parsed.error));
      const problem = unstorable(parsed.data.records);
      if (problem) return refuse(reply, "invalid_message", problem);
      if (queue.size >= MAX_QUEUED_BATCHES) return refuse(reply, "unavailable", `more than ${MAX_QUEUED_BATCHES} batches wait for storage: retry later`);
      const recLimit = limiter?.recordsOf(key, parsed.data.records.length) ?? { ok: true };
      if (!recLimit.ok) return refuse(reply, "rate_limited", recLimit.message, recLimit.retryMs);
      // the byte budget of what a node may make us store, measured on the valid batch (a malformed one is
      // refused above and bounded by the message rate and maxHttpBufferSize)
      const byteLimit = limiter?.bytesOf(key, messageBytes(payload)) ?? { ok: true };
      if (!byteLimit.ok) return refuse(reply, "rate_limited", byteLimit.message, byteLimit.retryMs);
      queue.push({ records: parsed.data.records, reply });
    });

    socket.on("heartbeat", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      const msgLimit = limiter?.message(key) ?? { ok: true };
      if (!msgLimit.ok) {
        app.counters.inc("kam_ingest_rejected_total", { code: "rate_limited" });
        reply({ ok: false, code: "rate_limited", message: msgLimit.message } satisfies HeartbeatAck);
        return;
      }
      const hb = Heartbeat.safeParse(payload);
      if (!hb.success) {
        app.counters.inc("kam_ingest_rejected_total", { code: "invalid_message" });
        reply({ ok: false, code: "invalid_message", message: describeZodError(hb.error) } satisfies HeartbeatAck);
        return;
      }
      parts.liveness.heartbeat(d, hb.data);
      // the optional record kinds this server takes: an agent sends them only when listed (older servers do not)
      reply({ ok: true, serverTime: Date.now(), records: [...OPTIONAL_RECORDS] });
    });

    socket.on("disconnect", (reason) => {
      // an oversized message (over maxHttpBufferSize) shows here as "transport error"
      app.counters.inc("kam_agent_disconnects_total", { reason });
      log.info({ reason }, "agent disconnected");
      void parts.liveness.agentConnected(d, false);
    });
  });
  return nsp;
}

/**
 * Revocation reaches connected agents: every `everyMs` (SWEEP_MS) the tokens of the
 * connected agents are checked, and the sockets of a revoked token are closed
 * (the agent's reconnection is then refused `unauthorized`). A revocation from
 * the dashboard closes them at once (main.ts); this covers the admin CLI,
 * which runs in another process. Returns a stop function.
 */
export function sweepRevokedAgentTokens(namespaces: AgentNamespace[], app: AppContext, everyMs = SWEEP_MS): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const byToken = new Map<number, AgentSocket[]>();
    for (const s of namespaces.flatMap((nsp) => [...nsp.sockets.values()])) {
      const id = s.data?.tokenId;
      if (typeof id === "number") byToken.set(id, [...(byToken.get(id) ?? []), s]);
    }
    if (byToken.size === 0) return;
    busy = true;
    app.db.agentToken
      .findMany({ where: { id: { in: [...byToken.keys()] }, revokedAt: { not: null } }, select: { id: true } })
      .then((revoked) => {
        for (const { id } of revoked) {
          for (const s of byToken.get(id) ?? []) {
            app.log.warn({ cluster: s.data.cluster, node: s.data.node, agent: s.data.agentId }, "agent token revoked: closing its connection");
            s.disconnect(true);
          }
        }
      })
      .catch((e: unknown) => app.log.warn({ err: e }, "agent token revocation check failed (retried)"))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
