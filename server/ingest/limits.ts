/**
 * Edge limits of the /agent namespace that the wire schema alone cannot say:
 *
 * - Rate limits (token buckets), keyed by what the server authenticated (the
 *   token and the node it is bound to), never by the agent-chosen agent id (a
 *   fresh id would be a fresh allowance): per node, records, messages
 *   (batches and heartbeats) and bytes per second, and new agent ids per
 *   minute; per client address (as the trusted-proxy setting resolves it),
 *   failed connection attempts (handshakes). Over a limit a batch is answered
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
import type { NodeView } from "../state/derive";
import type { StateChangeRow } from "./store";

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
  /** records per second per node (burst: 4 s worth, and at least one full batch) */
  agentRecordsPerSecond: number;
  /** batches and heartbeats per second per node (burst: 4 s worth) */
  agentMessagesPerSecond: number;
  /** failed connection attempts per client address per 10 s (burst: twice that) */
  ipHandshakesPer10s: number;
  /** message bytes per second per node (burst: 4 s worth, and at least one largest message) */
  agentBytesPerSecond?: number;
}

/** bytes per second per node when not configured: 1 MiB/s sustained */
export const DEFAULT_BYTES_PER_SECOND = 1024 * 1024;
/** new agent ids one node may register: a burst of 5, then one a minute */
const NEW_AGENTS_BURST = 5;
const NEW_AGENTS_PER_SECOND = 1 / 60;

export type LimitVerdict = { ok: true } | { ok: false; message: string; retryMs: number };

const OK: LimitVerdict = { ok: true };

export class IngestLimiter {
  private records: BucketMap;
  private messages: BucketMap;
  private handshakes: BucketMap;
  private bytes: BucketMap;
  private newAgents: BucketMap;
  private recordCapacity: number;
  readonly bytesPerSecond: number;

  constructor(
    readonly settings: RateLimitSettings,
    maxBatchRecords: number,
    private now: () => number = Date.now,
    maxMessageBytes = 4 * 1024 * 1024,
  ) {
    this.recordCapacity = Math.max(maxBatchRecords, 4 * settings.agentRecordsPerSecond);
    this.records = new BucketMap(this.recordCapacity, settings.agentRecordsPerSecond);
    this.messages = new BucketMap(Math.max(1, 4 * settings.agentMessagesPerSecond), settings.agentMessagesPerSecond);
    this.handshakes = new BucketMap(Math.max(1, 2 * settings.ipHandshakesPer10s), settings.ipHandshakesPer10s / 10);
    this.bytesPerSecond = settings.agentBytesPerSecond ?? DEFAULT_BYTES_PER_SECOND;
    this.bytes = new BucketMap(Math.max(maxMessageBytes, 4 * this.bytesPerSecond), this.bytesPerSecond);
    this.newAgents = new BucketMap(NEW_AGENTS_BURST, NEW_AGENTS_PER_SECOND);
  }

  /**
   * A handshake with a valid token from `address`: limited per (address,
   * token), so a flood of connections is still bounded while failed attempts
   * of others at the same address (bogus tokens behind one proxy) spend
   * another allowance (`handshakeFailed`) and lock no agent out.
   */
  handshake(address: string, tokenId: number): LimitVerdict {
    return this.takeHandshake(`${address || "unknown"}|${tokenId}`, address, "connection attempts");
  }

  /** a handshake from `address` was refused for what it sent (bad token, protocol, ...): counts against the address */
  handshakeFailed(address: string): LimitVerdict {
    return this.takeHandshake(`${address || "unknown"}|failed`, address, "failed connection attempts");
  }

  private takeHandshake(key: string, address: string, what: string): LimitVerdict {
    const now = this.now();
    const b = this.handshakes.get(key, now);
    if (b.take(1, now)) return OK;
    const retryMs = b.waitMs(1, now);
    return {
      ok: false,
      retryMs,
      message: `too many ${what} from ${address} (limit ${this.settings.ipHandshakesPer10s} per 10 s): retry in ${Math.ceil(retryMs / 1000)} s`,
    };
  }

  /** one message (batch or heartbeat) of a node (`key`: token and node, see nodeKey) */
  message(key: string): LimitVerdict {
    const now = this.now();
    const b = this.messages.get(key, now);
    if (b.take(1, now)) return OK;
    const retryMs = b.waitMs(1, now);
    return { ok: false, retryMs, message: `more than ${this.settings.agentMessagesPerSecond} messages/s from this node: retry in ${retryMs} ms` };
  }

  /** `n` records of a node (all or nothing) */
  recordsOf(key: string, n: number): LimitVerdict {
    const now = this.now();
    const b = this.records.get(key, now);
    if (b.take(n, now)) return OK;
    const retryMs = b.waitMs(n, now);
    return { ok: false, retryMs, message: `more than ${this.settings.agentRecordsPerSecond} records/s from this node: retry in ${retryMs} ms` };
  }

  /** `n` bytes of messages of a node (all or nothing) */
  bytesOf(key: string, n: number): LimitVerdict {
    const now = this.now();
    const b = this.bytes.get(key, now);
    if (b.take(n, now)) return OK;
    const retryMs = b.waitMs(n, now);
    return { ok: false, retryMs, message: `more than ${this.bytesPerSecond} bytes/s from this node: retry in ${retryMs} ms` };
  }

  /** a node registers an agent id it has not used before (a reinstall): a few, then one a minute */
  newAgent(key: string): LimitVerdict {
    const now = this.now();
    const b = this.newAgents.get(key, now);
    if (b.take(1, now)) return OK;
    const retryMs = b.waitMs(1, now);
    return { ok: false, retryMs, message: `too many new agent ids for this node: retry in ${Math.ceil(retryMs / 1000)} s` };
  }

  /** tracked keys, for tests */
  sizes(): { records: number; messages: number; handshakes: number } {
    return { records: this.records.size, messages: this.messages.size, handshakes: this.handshakes.size };
  }
}

/** the key of the per-node limits: what the server authenticated, not what the agent chose */
export function nodeKey(d: { tokenId: number; nodeId: number }): string {
  return `${d.tokenId}/${d.nodeId}`;
}

/**
 * Caps on what one token and one node can make the server remember (issue 19).
 * A cluster token may create `nodesPerToken` node names; a node's live picture,
 * /metrics series and kept state rows hold at most `instancesPerNode` instance
 * names, each at most `instanceNameLength` characters (keepalived's own limit
 * is far below: names are identifiers from keepalived.conf).
 */
export interface StateCaps {
  nodesPerToken: number;
  instancesPerNode: number;
  instanceNameLength: number;
}
export const DEFAULT_CAPS: StateCaps = { nodesPerToken: 32, instancesPerNode: 1024, instanceNameLength: 128 };

/**
 * Which of `names` (instance names from a batch, in order) a node may add:
 * `known` are kept, new ones only while the node holds fewer than the cap,
 * none longer than the name limit. Returns the refused names.
 */
export function refusedInstances(known: ReadonlySet<string>, names: Iterable<string>, caps: StateCaps): Set<string> {
  const refused = new Set<string>();
  let count = known.size;
  const added = new Set<string>();
  for (const n of names) {
    if (n === "*" || known.has(n) || added.has(n) || refused.has(n)) continue;
    if (n.length > caps.instanceNameLength || count >= caps.instancesPerNode) {
      refused.add(n);
      continue;
    }
    added.add(n);
    count++;
  }
  return refused;
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

/**
 * Apply the instance caps to what a batch derived: state changes of refused
 * instance names are not stored (their log lines are, as evidence), and the
 * names leave the node's view, so neither the live picture, /metrics nor the
 * kept newest state rows grow past the cap. `refusedCount(n)` counts them.
 */
export function capInstances(
  view: NodeView, known: ReadonlySet<string>, rows: StateChangeRow[], caps: StateCaps, refusedCount: (n: number) => void,
): StateChangeRow[] {
  const refused = refusedInstances(known, [...view.instances, ...rows.map((r) => r.instance)], caps);
  if (refused.size === 0) return rows;
  for (const n of refused) {
    view.instances.delete(n);
    view.last.delete(n);
    view.vrids.delete(n);
  }
  refusedCount(refused.size);
  return rows.filter((r) => !refused.has(r.instance));
}
