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
  Heartbeat,
  PROTOCOL_VERSION,
  describeZodError,
  type AgentClientToServer,
  type AgentServerToClient,
  type BatchAck,
  type ErrorCode,
  type HeartbeatAck,
} from "../protocol";
import type { Hub } from "../hub";
import { verifyToken } from "./tokens";

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
  data: { code: ErrorCode };
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.data = { code };
  }
}

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

export function attachAgentNamespace(io: Server, hub: Hub): AgentNamespace {
  const nsp = io.of("/agent") as unknown as AgentNamespace;

  nsp.use((socket, next) => {
    authenticate(hub, socket.handshake.auth)
      .then((data) => {
        socket.data = data;
        next();
      })
      .catch((e: unknown) => {
        const err = e instanceof HandshakeError ? e : new HandshakeError("unavailable", "server cannot check the token right now, retry later");
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
    // one batch at a time per agent, in arrival order
    let chain: Promise<unknown> = Promise.resolve();

    socket.on("batch", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      chain = chain.then(async () => {
        const parsed = Batch.safeParse(payload);
        if (!parsed.success) {
          hub.counters.inc("kam_ingest_rejected_total", { code: "invalid_message" });
          const message = describeZodError(parsed.error);
          log.warn({ message }, "batch rejected");
          reply({ ok: false, code: "invalid_message", message } satisfies BatchAck);
          return;
        }
        try {
          const r = await hub.ingest(d, parsed.data.records);
          reply({ ok: true, acked: parsed.data.records.map((x) => x.seq), stored: r.stored, duplicates: r.duplicates });
        } catch (e) {
          hub.counters.inc("kam_ingest_rejected_total", { code: "unavailable" });
          log.error({ err: e }, "batch not stored");
          reply({ ok: false, code: "unavailable", message: "the server could not store the batch; it will be retried" });
        }
      }).catch((e: unknown) => log.error({ err: e }, "batch handler failed"));
    });

    socket.on("heartbeat", (payload, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
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
      log.info({ reason }, "agent disconnected");
      void hub.agentConnected(d, false);
    });
  });
  return nsp;
}
