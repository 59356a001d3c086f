/**
 * socket.io link to the server's /agent namespace, on the agents' own socket.io path (SOCKET_PATHS.agent,
 * issue 19), whose gate admits a connection only with the agent token in an `Authorization: Bearer` header.
 *
 * - A refusal by that gate (unknown or revoked token, or a server older than the agent path) comes before
 *   any socket.io handshake, as the HTTP 400 answer to the websocket upgrade: logged naming the token and
 *   the server version, retried at the longest delay like the other refusals.
 * - Handshake auth = AgentHello; websocket transport only; reconnection with
 *   exponential backoff and jitter (1 s .. 30 s). A refusal by the server
 *   (unauthorized, protocol_mismatch, forbidden) is logged with the setting
 *   to fix and retried at the longest delay; any other typed refusal
 *   (rate_limited, unavailable, ...) is logged with its code and message and
 *   retried no sooner than the server's `retryAfterMs` hint (capped, jittered).
 *   Only an untyped failure (nothing answered) points at --server / --ca.
 * - While connected: batches of the oldest unacknowledged outbox records
 *   (<= LIMITS.maxBatchRecords, <= MAX_BATCH_BYTES), up to 8 in flight within MAX_IN_FLIGHT_BYTES, each with an ack
 *   timeout. {ok:true, acked} -> outbox.ack(acked). A batch refused as
 *   invalid_message/too_large is resent record by record to isolate the bad
 *   one, which becomes a gap record ("rejected by server: ...") so the stream
 *   never blocks. Busy/unavailable answers pause sending with backoff (at
 *   least the server's `retryAfterMs`). A single record too big for one
 *   socket.io message (the server would drop the connection, again and again)
 *   becomes a gap record before it is sent.
 * - Heartbeat every --heartbeat-interval with the outbox depth and the status
 *   of every source; on `resync` the caller sends fresh VIP/config snapshots; on `resume` (the server
 *   stores again after a database outage) a retry delay ends at once.
 */
import { io, type Socket } from "socket.io-client";
import {
  LIMITS, PROTOCOL_VERSION, SOCKET_PATHS, type AgentClientToServer, type AgentHelloInput, type AgentServerToClient, type BatchAck, type ErrorCode,
  type HeartbeatAck,
} from "../server/protocol";
import type { Logger } from "./log";
import { backoffDelay, retryDelay } from "./lines";
import { GATE_REFUSED, errorCode, gateStatus, retryHint, tlsProblem } from "./connect-errors";

export { gateStatus, plainHttpWarning, retryHint, tlsProblem } from "./connect-errors";
import type { Outbox, Peeked } from "./outbox";
import { every, type Periodic } from "./ticker";

export interface AgentClientOptions {
  server: string;
  /** servers to try in turn (replicas); default [server] */
  servers?: string[];
  /** consecutive failed connection attempts to one server before the next is tried (default FAILOVER_AFTER) */
  failoverAfter?: number;
  hello: Omit<AgentHelloInput, "protocol">;
  /** PEM text of the CA(s) to trust for https */
  ca: string | null;
  outbox: Outbox;
  log: Logger;
  heartbeatMs: number;
  sources: () => Record<string, string>;
  onResync: () => void;
  ackTimeoutMs?: number;
  maxInFlight?: number;
  maxBatchBytes?: number;
  /** default MAX_IN_FLIGHT_BYTES */
  maxInFlightBytes?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;

const REFUSALS: Partial<Record<ErrorCode, string>> = {
  unauthorized: "the server refused the token: check --token / KAM_TOKEN (or --token-file / KAM_TOKEN_FILE)",
  forbidden: "the server does not allow this agent: check the token's cluster and --node / KAM_NODE",
  protocol_mismatch: `the server speaks another protocol version (this agent speaks ${PROTOCOL_VERSION}): upgrade the agent or the server`,
  limit_exceeded: "the server's cap for this token is reached: give this node its own token (npm run token -- create --cluster CLUSTER --node NODE) and set --token / KAM_TOKEN",
};


/**
 * The longest wait between two attempts to reach an unreachable server: the server gives agents the offline
 * limit (15 s by default) from when it listens again, so an agent must try well within it (at 30 s, agents
 * backed off during a restart came back late and were reported AGENT_OFFLINE).
 */
export const RECONNECT_MAX_MS = 10_000;

/** consecutive failed connection attempts to one server before moving to the next of --server a,b,... */
export const FAILOVER_AFTER = 2;

/** batches sent and not yet answered (default) */
export const MAX_IN_FLIGHT = 8;

/**
 * Bytes of records (as stored in the outbox) in flight at once, over all batches:
 * each batch in flight is held in memory as parsed records and as its encoded
 * message until it is acknowledged, so this bounds the client's share of the
 * agent's memory during a catch-up (8 full batches would be 8 MiB of JSON).
 * At the server's default per-agent limit (5,000 records/s, ~250 to 450 B
 * each) this is ~0.1 s of records in flight over 4 batches, enough to keep
 * the server's commits busy: the per-agent limit and the server's commits
 * pace a catch-up, not this budget. (2 MiB, then 512 KiB before: with 128 KiB
 * and the outbox's smaller marks, the peak VmRSS of a 1,000,000-line journald
 * catch-up fell from 65.2 to 60.5 MiB at the same catch-up rate, 3,097 and
 * 3,076 lines/s: "Agent backlog" in docs/PERFORMANCE.md.)
 */
export const MAX_IN_FLIGHT_BYTES = 128 * 1024;
/** a batch takes at most a quarter of the in-flight budget, so that several are in flight (pipelining) */
export const MAX_BATCH_BYTES = Math.min(1024 * 1024 - 4096, MAX_IN_FLIGHT_BYTES / 4);

/** a record this big (serialized) can never travel in one socket.io message */
const MAX_RECORD_BYTES = LIMITS.maxMessageBytes - 64 * 1024;


export class AgentClient {
  private socket: AgentSocket;
  private gen = 0;
  private inFlight = new Set<number>();
  private batches = 0;
  private inFlightBytes = 0;
  private heartbeat: Periodic | null = null;
  private retry: NodeJS.Timeout | null = null;
  private pauseTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private busyAttempt = 0;
  private lastError = "";
  private lastErrorAt = 0;
  private stopped = false;
  readonly stats = { batchesSent: 0, recordsAcked: 0, rejected: 0, timeouts: 0 };
  /** optional record kinds the server last said it takes (its heartbeat answer); null before the first answer */
  private serverRecords: Set<string> | null = null;

  private readonly servers: string[];
  private current = 0;
  /** failed connection attempts to the current server in a row */
  private failures = 0;

  constructor(private readonly o: AgentClientOptions) {
    this.servers = o.servers?.length ? o.servers : [o.server];
    this.socket = this.makeSocket(this.servers[0]);
    o.outbox.on("flushed", this.onFlushed);
  }

  /** the server this client connects to now */
  get server(): string {
    return this.servers[this.current];
  }

  private makeSocket(server: string): AgentSocket {
    const hello: AgentHelloInput = { protocol: PROTOCOL_VERSION, ...this.o.hello };
    const socket: AgentSocket = io(`${server}/agent`, {
      path: SOCKET_PATHS.agent,
      // the gate of the agent path checks it before any engine.io session (server/ingest/agent-gate.ts)
      extraHeaders: { authorization: `Bearer ${hello.token}` },
      auth: (cb) => cb(hello),
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: this.o.reconnectMinMs ?? 1000,
      reconnectionDelayMax: this.o.reconnectMaxMs ?? RECONNECT_MAX_MS,
      randomizationFactor: 0.5,
      timeout: 20_000,
      autoConnect: false,
      // a Manager of its own: after a failover back to a server, a cached one could be closed
      forceNew: true,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
    });
    socket.on("connect", () => this.onConnect());
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (err) => this.onConnectError(err));
    socket.on("resync", () => {
      this.o.log.info("server asked for a resync");
      this.o.onResync();
    });
    socket.on("resume", () => this.resume());
    return socket;
  }

  /** a server that cannot be reached twice in a row: the next of --server a,b,... (round robin) */
  private failOver(): void {
    const from = this.server;
    this.current = (this.current + 1) % this.servers.length;
    this.failures = 0;
    const old = this.socket;
    old.removeAllListeners();
    old.disconnect();
    this.socket = this.makeSocket(this.server);
    this.o.log.warn({ from, to: this.server }, "server unreachable: trying the next one of --server");
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.socket.connect();
  }

  private readonly onFlushed = () => this.pump();

  get connected(): boolean {
    return this.socket.connected;
  }

  start(): void {
    this.stopped = false;
    this.socket.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.outbox.off("flushed", this.onFlushed);
    this.heartbeat?.cancel();
    for (const t of [this.retry, this.pauseTimer]) if (t) clearTimeout(t);
    this.heartbeat = null;
    this.gen++;
    this.socket.disconnect();
  }

  private logThrottled(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (msg === this.lastError && now - this.lastErrorAt < 60_000) return;
    this.lastError = msg;
    this.lastErrorAt = now;
    this.o.log.error(fields, msg);
  }

  private onConnect(): void {
    this.attempt = 0;
    this.failures = 0;
    this.lastError = "";
    this.gen++;
    this.inFlight.clear();
    this.batches = 0;
    this.inFlightBytes = 0;
    this.o.log.info({ server: this.server, depth: this.o.outbox.depth() }, "connected to the server");
    this.sendHeartbeat();
    this.heartbeat?.cancel();
    this.heartbeat = every(this.o.heartbeatMs, () => this.sendHeartbeat());
    this.pump();
  }

  private onDisconnect(reason: string): void {
    this.gen++;
    this.inFlight.clear();
    this.batches = 0;
    this.inFlightBytes = 0;
    this.heartbeat?.cancel();
    this.heartbeat = null;
    if (this.stopped) return;
    this.o.log.warn({ reason }, "disconnected from the server");
    // the server closing the socket turns off socket.io's own reconnection
    if (reason === "io server disconnect") this.scheduleReconnect(null);
  }

  private onConnectError(err: Error): void {
    if (this.stopped) return;
    const code = errorCode(err);
    const data = (err as { data?: unknown }).data;
    const hint = retryHint(data);
    const refusal = code ? REFUSALS[code] : undefined;
    const detail = (data as { message?: unknown } | undefined)?.message ?? err.message;
    // unreachable (no answer, or the server answered it cannot serve now): after a few tries, another replica;
    // a refusal (token, protocol, limit) would be the same everywhere
    if (this.servers.length > 1 && (code === null || code === "unavailable") && ++this.failures >= (this.o.failoverAfter ?? FAILOVER_AFTER)) {
      this.logThrottled(`cannot connect to ${this.server}: check --server / KAM_SERVER (and --ca / KAM_CA for https)`, { code, detail });
      this.failOver();
      return;
    }
    // refused by the server's middleware: socket.io will not retry by itself
    const delay = this.socket.active ? null : this.scheduleReconnect(code, hint);
    const status = code === null ? gateStatus(err) : null;
    if (refusal) this.logThrottled(refusal, { code, server: this.server, detail });
    else if (status !== null) this.logThrottled(GATE_REFUSED, { status, server: this.server });
    else if (code) {
      // the server answered and said why (rate_limited, unavailable, ...): that is the reason, not the URL
      this.logThrottled(`the server refused the connection (${code}): ${String(detail).slice(0, 300)}`, { code, server: this.server, retryAfterMs: hint, retryInMs: delay });
    } else {
      const tls = tlsProblem(err);
      if (tls) this.logThrottled(tls.message, { server: this.server, detail: tls.detail, ca: this.o.ca ? "given" : "none" });
      else this.logThrottled(`cannot connect to ${this.server}: check --server / KAM_SERVER (and --ca / KAM_CA for https)`, { code, detail });
    }
  }

  /** reconnect later; returns the delay (ms), or null when one is already scheduled */
  private scheduleReconnect(code: ErrorCode | null, hintMs: number | null = null): number | null {
    if (this.retry || this.stopped) return null;
    const max = this.o.reconnectMaxMs ?? RECONNECT_MAX_MS;
    const delay = code && REFUSALS[code]
      ? backoffDelay(30, 1000, max, 0.2)
      : retryDelay(this.attempt++, hintMs, this.o.reconnectMinMs ?? 1000, max);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped && !this.socket.connected) this.socket.connect();
    }, delay);
    return delay;
  }

  private sendHeartbeat(): void {
    if (!this.socket.connected) return;
    const sources: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.o.sources())) sources[k.slice(0, 64)] = v.slice(0, 512);
    const ts = Date.now();
    this.socket
      .timeout(this.o.ackTimeoutMs ?? 15_000)
      .emitWithAck("heartbeat", { ts, outbox: this.o.outbox.depth(), sources })
      .then((reply: HeartbeatAck) => {
        if (reply?.ok) {
          this.serverRecords = new Set(Array.isArray(reply.records) ? reply.records.filter((k) => typeof k === "string") : []);
          this.o.log.debug({ skewMs: reply.serverTime - (ts + Date.now()) / 2 }, "heartbeat");
        }
        else this.o.log.warn({ code: reply?.code, message: reply?.message }, "heartbeat refused");
      })
      .catch(() => this.o.log.debug("heartbeat not acknowledged"));
  }

  /**
   * does the server take this optional record kind (OPTIONAL_RECORDS): as its last heartbeat answer said
   * (kept across reconnects), null before the first answer
   */
  accepts(kind: string): boolean | null {
    return this.serverRecords === null ? null : this.serverRecords.has(kind);
  }

  /** send as many batches as allowed in flight */
  private pump(): void {
    if (!this.socket.connected || this.pauseTimer || this.stopped) return;
    // 8 in flight (the server queues up to 16 per connection): a record sent while earlier batches
    // are being committed joins the server's next commit (its group commit) instead of waiting here
    // for an ack and then for a commit of its own (the file path's p99 under load, docs/PERFORMANCE.md)
    const byteBudget = this.o.maxInFlightBytes ?? MAX_IN_FLIGHT_BYTES;
    while (this.batches < (this.o.maxInFlight ?? MAX_IN_FLIGHT)) {
      // the first batch may always go (a single record can be bigger than the budget); later ones only within it
      const room = byteBudget - this.inFlightBytes;
      const batchBytes = this.o.maxBatchBytes ?? MAX_BATCH_BYTES;
      if (this.batches > 0 && room < batchBytes / 2) return; // no dribble of tiny batches near the budget
      const batch = this.o.outbox.peek(LIMITS.maxBatchRecords, {
        maxBytes: Math.max(1, Math.min(batchBytes, room)),
        exclude: (s) => this.inFlight.has(s),
      });
      if (batch.length === 0) return;
      if (batch.length === 1 && batch[0].bytes > MAX_RECORD_BYTES) {
        this.stats.rejected++;
        this.o.log.error({ seq: batch[0].seq, kind: batch[0].record.kind, bytes: batch[0].bytes }, "record too large for one message; replaced by a gap record");
        this.o.outbox.reject(batch[0].seq, `too large to send: ${batch[0].bytes} bytes (limit ${MAX_RECORD_BYTES})`);
        continue;
      }
      void this.sendBatch(batch);
    }
  }

  /** the server stores again (after answering `unavailable`): end the retry delay now */
  private resume(): void {
    this.busyAttempt = 0;
    if (!this.pauseTimer) return;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    this.o.log.info({ outbox: this.o.outbox.depth() }, "the server stores again: sending the outbox now");
    this.pump();
  }

  private pause(ms: number): void {
    if (this.pauseTimer) return;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      this.pump();
    }, ms);
  }

  private async emitBatch(records: Peeked[]): Promise<BatchAck> {
    return this.socket.timeout(this.o.ackTimeoutMs ?? 15_000).emitWithAck("batch", { records: records.map((p) => p.record) });
  }

  private async sendBatch(batch: Peeked[]): Promise<void> {
    const gen = this.gen;
    for (const p of batch) this.inFlight.add(p.seq);
    const bytes = batch.reduce((a, p) => a + p.bytes, 0);
    this.inFlightBytes += bytes;
    this.batches++;
    this.stats.batchesSent++;
    // the latency bench reads this (at --log-level debug) for its per-stage breakdown
    this.o.log.debug({ fromSeq: batch[0].seq, toSeq: batch[batch.length - 1].seq, records: batch.length }, "batch sent");
    try {
      const reply = await this.emitBatch(batch);
      if (gen !== this.gen) return;
      await this.handleReply(batch, reply, gen);
    } catch (e) {
      if (gen !== this.gen) return;
      this.stats.timeouts++;
      this.o.log.warn({ records: batch.length, err: (e as Error).message }, "batch not acknowledged in time; it will be resent");
    } finally {
      if (gen === this.gen) {
        for (const p of batch) this.inFlight.delete(p.seq);
        this.batches--;
        this.inFlightBytes -= bytes;
        setImmediate(() => this.pump());
      }
    }
  }

  private async handleReply(batch: Peeked[], reply: BatchAck, gen: number): Promise<void> {
    if (reply && reply.ok === true && Array.isArray(reply.acked)) {
      this.busyAttempt = 0;
      this.stats.recordsAcked += this.o.outbox.ack(reply.acked);
      const acked = new Set(reply.acked);
      const missing = batch.filter((p) => !acked.has(p.seq)).length;
      if (missing > 0) {
        this.o.log.warn({ missing }, "the server acknowledged only part of a batch; the rest will be resent");
        this.pause(1000);
      }
      return;
    }
    const code = reply && reply.ok === false ? reply.code : "internal";
    const message = reply && reply.ok === false ? String(reply.message) : "malformed answer";
    if (code === "invalid_message" || code === "too_large") {
      this.o.log.error({ code, message, records: batch.length }, "the server rejected a batch; isolating the bad record(s)");
      await this.isolate(batch, gen);
      return;
    }
    const hint = retryHint(reply);
    const delay = REFUSALS[code] ? 30_000 : retryDelay(this.busyAttempt++, hint, 1000, 30_000);
    this.o.log.warn({ code, message, retryAfterMs: hint, retryInMs: delay }, "the server did not take a batch; retrying later");
    this.pause(delay);
  }

  /** resend one by one; a record refused on its own turns into a gap record */
  private async isolate(batch: Peeked[], gen: number): Promise<void> {
    for (const p of batch) {
      if (gen !== this.gen) return;
      let reply: BatchAck;
      try {
        reply = await this.emitBatch([p]);
      } catch {
        return; // no answer: everything not acked is resent later
      }
      if (gen !== this.gen) return;
      if (reply?.ok === true) this.stats.recordsAcked += this.o.outbox.ack(reply.acked);
      else if (reply?.ok === false && (reply.code === "invalid_message" || reply.code === "too_large")) {
        this.stats.rejected++;
        this.o.log.error({ seq: p.seq, kind: p.record.kind, code: reply.code, message: reply.message }, "record rejected by the server; replaced by a gap record");
        this.o.outbox.reject(p.seq, `rejected by server: ${reply.message}`);
      } else {
        this.pause(retryDelay(this.busyAttempt++, retryHint(reply), 5000, 30_000));
        return;
      }
    }
  }
}
