/**
 * STAND-IN for the real server's /agent namespace, used ONLY by the agent's
 * unit tests. It speaks the wire contract (validates with the protocol's zod
 * schemas, acks by seq, dedups by (agentId, seq)) so the agent can be tested
 * alone; the real server is exercised by the lead's integration tests.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import {
  AgentHello, Batch, Heartbeat, PROTOCOL_VERSION, SOCKET_PATHS, describeZodError, type AgentClientToServer, type AgentRecord,
  type AgentServerToClient, type BatchAck, type ErrorCode,
} from "../../server/protocol";

export interface StandIn {
  url: string;
  port: number;
  /** stored records per agent, by seq */
  records: Map<string, Map<number, AgentRecord>>;
  hellos: AgentHello[];
  /** the Authorization header of each accepted handshake (the real server's gate checks it: agent-gate.ts) */
  authorizations: (string | undefined)[];
  heartbeats: Heartbeat[];
  /** the optional record kinds the heartbeat answer lists (null: none, as a server from before them answers) */
  heartbeatRecords: string[] | null;
  batches: number;
  /** the token the stand-in accepts (change it to test refusals) */
  token: string;
  /** extra stand-in rule: a record for which this returns a message is refused as invalid_message */
  refuse: (r: AgentRecord) => string | null;
  /** drop (never answer) the next N batches */
  swallow: number;
  /** refuse every handshake with this code (null: normal checks) */
  handshakeError: ErrorCode | null;
  /** retry hint sent with handshakeError */
  handshakeRetryAfterMs: number | null;
  /** times of every handshake attempt (ms) */
  attempts: number[];
  /** answer the next `count` batches with this error (retryAfterMs included when set) */
  batchError: { code: ErrorCode; retryAfterMs?: number; count: number } | null;
  /** times batches arrived (ms) */
  batchTimes: number[];
  all(): AgentRecord[];
  resync(): void;
  /** close every agent socket from the server side */
  kick(): void;
  close(): Promise<void>;
}

function refusal(code: ErrorCode, message: string, retryAfterMs: number | null = null): Error {
  const e = new Error(message) as Error & { data: unknown };
  e.data = retryAfterMs === null ? { code, message } : { code, message, retryAfterMs };
  return e;
}

export async function startStandIn(token: string, port = 0): Promise<StandIn> {
  const httpServer = http.createServer();
  const io = new Server<AgentClientToServer, AgentServerToClient>(httpServer, {
    path: SOCKET_PATHS.agent, transports: ["websocket"], maxHttpBufferSize: 4 * 1024 * 1024,
  });
  const s: StandIn = {
    url: "",
    port: 0,
    records: new Map(),
    hellos: [],
    authorizations: [],
    heartbeats: [],
    heartbeatRecords: null,
    batches: 0,
    token,
    refuse: () => null,
    swallow: 0,
    handshakeError: null,
    handshakeRetryAfterMs: null,
    attempts: [],
    batchError: null,
    batchTimes: [],
    kick: () => void io.of("/agent").disconnectSockets(true),
    all: () => [...s.records.values()].flatMap((m) => [...m.values()]).sort((a, b) => a.seq - b.seq),
    resync: () => void io.of("/agent").emit("resync"),
    close: async () => {
      await io.close();
      await new Promise((r) => httpServer.close(r));
    },
  };
  const ns = io.of("/agent");
  ns.use((socket, next) => {
    s.attempts.push(Date.now());
    if (s.handshakeError) return next(refusal(s.handshakeError, `stand-in refuses: ${s.handshakeError}`, s.handshakeRetryAfterMs));
    const hello = AgentHello.safeParse(socket.handshake.auth);
    if (!hello.success) return next(refusal("invalid_message", describeZodError(hello.error)));
    if (hello.data.protocol !== PROTOCOL_VERSION) return next(refusal("protocol_mismatch", `server ${PROTOCOL_VERSION}, agent ${hello.data.protocol}`));
    if (hello.data.token !== s.token) return next(refusal("unauthorized", "unknown token"));
    socket.data.agentId = hello.data.agentId;
    s.hellos.push(hello.data);
    s.authorizations.push(socket.request.headers.authorization);
    next();
  });
  ns.on("connection", (socket) => {
    socket.on("batch", (raw, ack) => {
      s.batches++;
      s.batchTimes.push(Date.now());
      if (typeof ack !== "function") return;
      if (s.batchError && s.batchError.count > 0) {
        s.batchError.count--;
        const { code, retryAfterMs } = s.batchError;
        return ack({ ok: false, code, message: `stand-in refuses the batch: ${code}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      }
      if (s.swallow > 0) {
        s.swallow--;
        return;
      }
      const parsed = Batch.safeParse(raw);
      if (!parsed.success) return ack({ ok: false, code: "invalid_message", message: describeZodError(parsed.error) });
      for (const r of parsed.data.records) {
        const why = s.refuse(r);
        if (why) return ack({ ok: false, code: "invalid_message", message: why });
      }
      const mine = s.records.get(socket.data.agentId) ?? new Map<number, AgentRecord>();
      s.records.set(socket.data.agentId, mine);
      let stored = 0;
      for (const r of parsed.data.records) {
        if (!mine.has(r.seq)) {
          mine.set(r.seq, r);
          stored++;
        }
      }
      const reply: BatchAck = { ok: true, acked: parsed.data.records.map((r) => r.seq), stored, duplicates: parsed.data.records.length - stored };
      ack(reply);
    });
    socket.on("heartbeat", (raw, ack) => {
      const hb = Heartbeat.safeParse(raw);
      if (!hb.success) return ack?.({ ok: false, code: "invalid_message", message: describeZodError(hb.error) });
      s.heartbeats.push(hb.data);
      ack?.(s.heartbeatRecords === null ? { ok: true, serverTime: Date.now() } : { ok: true, serverTime: Date.now(), records: s.heartbeatRecords });
    });
  });
  await new Promise<void>((r) => httpServer.listen(port, "127.0.0.1", r));
  s.port = (httpServer.address() as AddressInfo).port;
  s.url = `http://127.0.0.1:${s.port}`;
  return s;
}
