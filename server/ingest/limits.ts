/**
 * Edge limits of the /agent namespace that the wire schema alone cannot say:
 *
 * - Rate limits (token buckets): per agent, records per second and messages
 *   (batches and heartbeats) per second; per remote address, connection
 *   attempts (handshakes). Over a limit a batch is answered
 *   `{ ok: false, code: "rate_limited" }` (the agent keeps its outbox and
 *   retries later) and a handshake is refused with the same code.
 * - Storability: values that pass the protocol schema but that PostgreSQL
 *   cannot store (a NUL character, a lone UTF-16 surrogate in a JSON field, a
 *   time beyond year 9999, an integer beyond its column) would fail the
 *   transaction, and the agent would retry the same batch for ever. They are
 *   refused up front as `invalid_message`, naming the field, so the agent
 *   isolates the record and reports it as a gap.
 */
import type { AgentRecord } from "../protocol";

/** A token bucket: `capacity` tokens, refilled at `ratePerSec`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly ratePerSec: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
      this.last = now;
    }
  }

  /** Take `n` tokens if there are that many (all or nothing). */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }

  /** milliseconds until `n` tokens are available (0 = now; Infinity = never: more than the capacity) */
  waitMs(n: number, now: number): number {
    this.refill(now);
    if (n > this.capacity) return Infinity;
    if (n <= this.tokens) return 0;
    return Math.ceil(((n - this.tokens) / this.ratePerSec) * 1000);
  }

  /** full and unused for `forMs`: can be forgotten (a new bucket starts full) */
  idle(now: number, forMs: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity && now - this.lastUse >= forMs;
  }

  private lastUse = 0;
  touch(now: number): void {
    this.lastUse = now;
  }
}

/** Buckets by key, forgetting idle ones so memory stays bounded by the active keys. */
class BucketMap {
  private map = new Map<string, TokenBucket>();
  private lastSweep = 0;

  constructor(
    private capacity: number,
    private ratePerSec: number,
  ) {}

  get(key: string, now: number): TokenBucket {
    if (now - this.lastSweep > 60_000 || this.map.size > 10_000) this.sweep(now);
    let b = this.map.get(key);
    if (!b) {
      b = new TokenBucket(this.capacity, this.ratePerSec, now);
      this.map.set(key, b);
    }
    b.touch(now);
    return b;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.map) if (b.idle(now, 60_000)) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }
}

export interface RateLimitSettings {
  /** records per second per agent (burst: 4 s worth, and at least one full batch) */
  agentRecordsPerSecond: number;
  /** batches and heartbeats per second per agent (burst: 4 s worth) */
  agentMessagesPerSecond: number;
  /** connection attempts per remote address per 10 s (burst: twice that) */
  ipHandshakesPer10s: number;
}

export type LimitVerdict = { ok: true } | { ok: false; message: string; retryMs: number };

const OK: LimitVerdict = { ok: true };

export class IngestLimiter {
  private records: BucketMap;
  private messages: BucketMap;
  private handshakes: BucketMap;
  private recordCapacity: number;

  constructor(
    readonly settings: RateLimitSettings,
    maxBatchRecords: number,
    private now: () => number = Date.now,
  ) {
    this.recordCapacity = Math.max(maxBatchRecords, 4 * settings.agentRecordsPerSecond);
    this.records = new BucketMap(this.recordCapacity, settings.agentRecordsPerSecond);
    this.messages = new BucketMap(Math.max(1, 4 * settings.agentMessagesPerSecond), settings.agentMessagesPerSecond);
    this.handshakes = new BucketMap(Math.max(1, 2 * settings.ipHandshakesPer10s), settings.ipHandshakesPer10s / 10);
  }

  /** one connection attempt from `address` */
  handshake(address: string): LimitVerdict {
    const now = this.now();
    const b = this.handshakes.get(address || "unknown", now);
    if (b.take(1, now)) return OK;
    const retryMs = b.waitMs(1, now);
    return {
      ok: false,
      retryMs,
      message: `too many connection attempts from ${address} (limit ${this.settings.ipHandshakesPer10s} per 10 s): retry in ${Math.ceil(retryMs / 1000)} s`,
    };
  }

  /** one message (batch or heartbeat) of an agent */
  message(agentId: string): LimitVerdict {
    const now = this.now();
    const b = this.messages.get(agentId, now);
    if (b.take(1, now)) return OK;
    const retryMs = b.waitMs(1, now);
    return { ok: false, retryMs, message: `more than ${this.settings.agentMessagesPerSecond} messages/s from this agent: retry in ${retryMs} ms` };
  }

  /** `n` records of an agent (all or nothing) */
  recordsOf(agentId: string, n: number): LimitVerdict {
    const now = this.now();
    const b = this.records.get(agentId, now);
    if (b.take(n, now)) return OK;
    const retryMs = b.waitMs(n, now);
    return { ok: false, retryMs, message: `more than ${this.settings.agentRecordsPerSecond} records/s from this agent: retry in ${retryMs} ms` };
  }

  /** tracked keys, for tests */
  sizes(): { records: number; messages: number; handshakes: number } {
    return { records: this.records.size, messages: this.messages.size, handshakes: this.handshakes.size };
  }
}

/**
 * At most one log line per key and period: refusals are counted in /metrics
 * one by one, but a flood must not turn into a flood of log lines.
 */
export class LogThrottle {
  private last = new Map<string, { at: number; suppressed: number }>();

  constructor(private periodMs = 10_000) {}

  /** null: stay quiet; else how many were left out since the last line */
  allow(key: string, now = Date.now()): number | null {
    const e = this.last.get(key);
    if (e && now - e.at < this.periodMs) {
      e.suppressed++;
      return null;
    }
    if (this.last.size > 10_000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return e?.suppressed ?? 0;
  }
}

// ------------------------------------------------------------ storability

/** the latest time PostgreSQL and Date#toISOString agree on (end of year 9999 UTC) */
export const MAX_STORABLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const INT4_MAX = 2 ** 31 - 1;
const INT8_MAX = 9223372036854775807n;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** PostgreSQL text and jsonb take neither a NUL nor a lone surrogate (the insert fails) */
function badText(s: string): string | null {
  if (s.includes("\u0000")) return "contains a NUL character";
  if (LONE_SURROGATE.test(s)) return "contains a lone UTF-16 surrogate";
  return null;
}

/** First string inside `v` (recursively, keys too) that cannot be stored, as "path: problem". */
function scanStrings(v: unknown, path: string): string | null {
  if (typeof v === "string") {
    const p = badText(v);
    return p ? `${path}: ${p}` : null;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = scanStrings(v[i], `${path}.${i}`);
      if (p) return p;
    }
    return null;
  }
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = badText(k);
      if (p) return `${path}: a key ${p}`;
      const q = scanStrings(x, `${path}.${k}`);
      if (q) return q;
    }
  }
  return null;
}

/**
 * Why a schema-valid batch cannot be stored, as one line naming the first
 * offending field ("records.3.line: contains a NUL character"), or null.
 */
export function unstorable(records: AgentRecord[]): string | null {
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const at = `records.${i}`;
    if (r.ts > MAX_STORABLE_MS) return `${at}.ts: ${r.ts} is after the year 9999`;
    if (r.kind === "log") {
      if (r.pid !== undefined && r.pid > INT4_MAX) return `${at}.pid: ${r.pid} is larger than ${INT4_MAX}`;
      if (r.inode !== undefined && BigInt(r.inode) > INT8_MAX) return `${at}.inode: larger than ${INT8_MAX}`;
    }
    if (r.kind === "gap" && r.dropped > INT4_MAX) return `${at}.dropped: ${r.dropped} is larger than ${INT4_MAX}`;
    const p = scanStrings(r, at);
    if (p) return p;
  }
  return null;
}

/**
 * SQLSTATE classes that depend on the data, not on the database being
 * reachable: 22 (data exception: bad encoding, value out of range, ...) and
 * 54000 (program limit exceeded, e.g. an index row too big). Retrying the same
 * batch cannot succeed.
 */
function permanentSqlState(code: string): boolean {
  return code.startsWith("22") || code === "54000";
}

/**
 * Why the database refused a batch for good (a data error it would repeat on
 * every retry), as "SQLSTATE: message", or null for anything else (connection
 * lost, timeout, serialization failure: worth retrying). Reads the SQLSTATE
 * from a Prisma driver-adapter error, or from a pg error.
 */
export function permanentStoreError(e: unknown): string | null {
  const seen = new Set<unknown>();
  const stack: unknown[] = [e];
  while (stack.length) {
    const x = stack.pop() as Record<string, unknown> | null;
    if (!x || typeof x !== "object" || seen.has(x)) continue;
    seen.add(x);
    const code = typeof x.originalCode === "string" ? x.originalCode : x.kind === "postgres" || "severity" in x ? x.code : undefined;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
      if (!permanentSqlState(code)) return null;
      const msg = typeof x.originalMessage === "string" ? x.originalMessage : typeof x.message === "string" ? x.message : "";
      return `${code}: ${msg}`.slice(0, 300);
    }
    const meta = x.meta as Record<string, unknown> | undefined;
    stack.push(x.cause, meta?.driverAdapterError, meta);
  }
  return null;
}
