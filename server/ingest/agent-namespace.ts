/**
 * socket.io namespace /agent: authenticates agents in the handshake (token
 * scoped to one cluster, node name bound to the first token that used it),
 * validates every message against the protocol, stores batches and
 * acknowledges them only after the commit.
 */
import type { Namespace, Server, Socket } from "socket.io";
import {
  AgentHello,
  Batch,
  LIMITS,
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
import type { Hub } from "../hub";
import { verifyToken } from "./tokens";
import { BatchQueue } from "./batch-queue";
import { IngestLimiter, LogThrottle, permanentStoreError, unstorable } from "./limits";

export interface AgentSocketData {
  clusterId: number;
  cluster: string;
  nodeId: number;
  node: string;
  agentId: string;
  tokenId: number;
  /** node's UTC offset, for log lines stamped in local time */
  utcOffsetMinutes: number;
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

async function authenticate(hub: Hub, auth: unknown): Promise<AgentSocketData> {
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
  const scope = await verifyToken(hub.db, h.token);
  if (!scope) throw new HandshakeError("unauthorized", "unknown or revoked agent token: check the agent's --token / KAM_TOKEN");

  const db = hub.db;
  const now = new Date();
  let node = await db.node.findUnique({ where: { clusterId_name: { clusterId: scope.clusterId, name: h.node } } });
  if (!node) {
    node = await db.node.upsert({
      where: { clusterId_name: { clusterId: scope.clusterId, name: h.node } },
      create: { clusterId: scope.clusterId, name: h.node, tokenId: scope.tokenId, createdAt: now },
      update: {},
    });
  }
  if (node.tokenId != null && node.tokenId !== scope.tokenId) {
    throw new HandshakeError("forbidden", `node name "${h.node}" in cluster "${scope.cluster}" is bound to another agent token`);
  }
  const agent = await db.agent.findUnique({ where: { id: h.agentId } });
  if (agent && (agent.clusterId !== scope.clusterId || agent.nodeId !== node.id)) {
    throw new HandshakeError("forbidden", `agent id ${h.agentId} belongs to another node: give each node its own state directory`);
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
    utcOffsetMinutes: h.utcOffsetMinutes,
  };
}

/** batches waiting for storage on one socket beyond which new ones are refused (the agent retries later) */
const MAX_QUEUED_BATCHES = 16;

export function attachAgentNamespace(io: Server, hub: Hub, limiter?: IngestLimiter): AgentNamespace {
  const nsp = io.of("/agent") as unknown as AgentNamespace;

  const quiet = new LogThrottle();
  nsp.use((socket, next) => {
    const allowed = limiter?.handshake(socket.handshake.address) ?? { ok: true };
    if (!allowed.ok) {
      hub.counters.inc("kam_agent_handshake_rejected_total", { code: "rate_limited" });
      const suppressed = quiet.allow(`hs:${socket.handshake.address}`);
      if (suppressed !== null) hub.log.warn({ code: "rate_limited", addr: socket.handshake.address, suppressed }, `agent refused: ${allowed.message}`);
      next(new HandshakeError("rate_limited", allowed.message, allowed.retryMs));
      return;
    }
    authenticate(hub, socket.handshake.auth)
      .then((data) => {
        socket.data = data;
        next();
      })
      .catch((e: unknown) => {
        const err = e instanceof HandshakeError ? e : new HandshakeError("unavailable", "server cannot check the token right now, retry later", UNAVAILABLE_RETRY_MS);
        if (!(e instanceof HandshakeError)) hub.log.error({ err: e }, "agent handshake failed");
        hub.counters.inc("kam_agent_handshake_rejected_total", { code: err.data.code });
        hub.log.warn({ code: err.data.code, addr: socket.handshake.address }, `agent refused: ${err.message}`);
        next(err);
      });
  });

  nsp.on("connection", (socket: AgentSocket) => {
    const d = socket.data;
    const log = hub.log.child({ cluster: d.cluster, node: d.node, agent: d.agentId, sid: socket.id });
    log.info("agent connected");
    void hub.agentConnected(d, true);
    // one commit at a time per agent, in arrival order; batches waiting meanwhile share the next commit
    const queue = new BatchQueue({
      store: (records) => hub.ingest(d, records),
      maxRecords: LIMITS.maxBatchRecords,
      failure: (e, batches) => {
        // PostgreSQL refusing the data itself would refuse it again on every retry: answer
        // invalid_message, so the agent isolates the record and reports it as a gap
        const permanent = permanentStoreError(e);
        // a merged group refused for its data is retried batch by batch (BatchQueue): not an answer yet
        if (permanent && batches > 1) return { permanent: true, reply: { ok: false, code: "invalid_message", message: permanent } };
        const code: ErrorCode = permanent ? "invalid_message" : "unavailable";
        hub.counters.inc("kam_ingest_rejected_total", { code }, batches);
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
      hub.counters.inc("kam_ingest_rejected_total", { code });
      const suppressed = quiet.allow(`${socket.id}:${code}`);
      if (suppressed !== null) log.warn({ code, message, suppressed }, "batch rejected");
      reply(retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? { ok: false, code, message, retryAfterMs: Math.ceil(retryAfterMs) } : { ok: false, code, message });
    };

    socket.on("batch", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      // checked on arrival, so a flood is answered at once instead of queueing
      const msgLimit = limiter?.message(d.agentId) ?? { ok: true };
      if (!msgLimit.ok) return refuse(reply, "rate_limited", msgLimit.message, msgLimit.retryMs);
      const parsed = Batch.safeParse(payload);
      if (!parsed.success) return refuse(reply, "invalid_message", describeZodError(parsed.error));
      const problem = unstorable(parsed.data.records);
      if (problem) return refuse(reply, "invalid_message", problem);
      if (queue.size >= MAX_QUEUED_BATCHES) return refuse(reply, "unavailable", `more than ${MAX_QUEUED_BATCHES} batches wait for storage: retry later`);
      const recLimit = limiter?.recordsOf(d.agentId, parsed.data.records.length) ?? { ok: true };
      if (!recLimit.ok) return refuse(reply, "rate_limited", recLimit.message, recLimit.retryMs);
      queue.push({ records: parsed.data.records, reply });
    });

    socket.on("heartbeat", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      const msgLimit = limiter?.message(d.agentId) ?? { ok: true };
      if (!msgLimit.ok) {
        hub.counters.inc("kam_ingest_rejected_total", { code: "rate_limited" });
        reply({ ok: false, code: "rate_limited", message: msgLimit.message } satisfies HeartbeatAck);
        return;
      }
      const hb = Heartbeat.safeParse(payload);
      if (!hb.success) {
        hub.counters.inc("kam_ingest_rejected_total", { code: "invalid_message" });
        reply({ ok: false, code: "invalid_message", message: describeZodError(hb.error) } satisfies HeartbeatAck);
        return;
      }
      hub.heartbeat(d, hb.data);
      reply({ ok: true, serverTime: Date.now() });
    });

    socket.on("disconnect", (reason) => {
      // an oversized message (over maxHttpBufferSize) shows here as "transport error"
      hub.counters.inc("kam_agent_disconnects_total", { reason });
      log.info({ reason }, "agent disconnected");
      void hub.agentConnected(d, false);
    });
  });
  return nsp;
}

/**
 * Revocation reaches connected agents: every `everyMs` the tokens of the
 * connected agents are checked, and the sockets of a revoked token are closed
 * (the agent's reconnection is then refused `unauthorized`). A revocation from
 * the dashboard closes them at once (main.ts); this covers the admin CLI,
 * which runs in another process. Returns a stop function.
 */
export function sweepRevokedAgentTokens(nsp: AgentNamespace, hub: Hub, everyMs = 2000): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const byToken = new Map<number, AgentSocket[]>();
    for (const s of nsp.sockets.values()) {
      const id = s.data?.tokenId;
      if (typeof id === "number") byToken.set(id, [...(byToken.get(id) ?? []), s]);
    }
    if (byToken.size === 0) return;
    busy = true;
    hub.db.agentToken
      .findMany({ where: { id: { in: [...byToken.keys()] }, revokedAt: { not: null } }, select: { id: true } })
      .then((revoked) => {
        for (const { id } of revoked) {
          for (const s of byToken.get(id) ?? []) {
            hub.log.warn({ cluster: s.data.cluster, node: s.data.node, agent: s.data.agentId }, "agent token revoked: closing its connection");
            s.disconnect(true);
          }
        }
      })
      .catch((e: unknown) => hub.log.warn({ err: e }, "agent token revocation check failed (retried)"))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
