/**
 * Durable outbox: every record the agent produces is appended here, gets the
 * next seq, and stays until the server acknowledges it.
 *
 * - Append-only segment files of JSON lines in <stateDir>/outbox. Appends are
 *   buffered and written + fsynced together (group commit): when no write is
 *   under way, the records appended in one turn of the event loop are written
 *   and fsynced at once (flushDelayMs, default 0: no coalescing timer on the
 *   latency path); records appended while an fsync is under way wait for it
 *   and go together in the next write, so there is never more than one fsync
 *   in flight and the fsync rate stays bounded under load. Only flushed
 *   (fsynced) records are handed out by peek(), so the server never sees a
 *   record a crash, even a power failure, could take back (see "Outbox" in
 *   ARCHITECTURE.md for why sending before the fsync is not done).
 * - Seqs strictly increase for the life of the outbox: the newest segment is
 *   never deleted and is named after its first seq, so the next seq survives
 *   even when everything was acknowledged.
 * - Acknowledged seqs are kept as ranges in acked.json; a segment whose records
 *   are all acknowledged is deleted.
 * - Source positions ride on the records (see outbox-files.ts) and are also
 *   saved to positions.json before a segment is deleted: a restart resumes the
 *   source right after the newest flushed record: no line lost or read twice.
 * - Bounded by maxBytes: when full, the oldest segments are dropped and a gap
 *   record {fromSeq, toSeq, dropped, reason: "outbox full"} is appended.
 * - A kill -9 at any moment loses at most records not yet flushed; a torn last
 *   line is cut off when reopening.
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { AgentRecord, describeZodError, type GapRecordMsg } from "../server/protocol";
import type { Logger } from "./log";
import { RangeSet } from "./ranges";
import {
  type Entry, type Segment, encodeLine, ensureDir, fsyncDir, hasSeq, readEntries, readJson, recover, segmentName, segmentOf, writeAll,
  writeJsonAtomic,
} from "./outbox-files";

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** a record before it gets its seq */
export type NewRecord = Without<AgentRecord, "seq">;
export interface Position {
  key: string;
  value: unknown;
}
export interface Peeked {
  seq: number;
  record: AgentRecord;
  bytes: number;
}

/**
 * Backpressure (see "Backlog" in README.md): sources read only while the outbox
 * has room, i.e. while fewer than SOURCE_HIGH_WATER_RECORDS records wait for an
 * acknowledgement, the segment files fill less than SOURCE_HIGH_WATER_DISK of
 * maxBytes (so a backlog never makes the outbox drop records: the lines wait in
 * the log file or the journal instead), and less than MAX_PENDING_BYTES wait in
 * memory for their write + fsync. Beyond that a source stops reading (its file
 * offset or journal cursor simply waits) until the outbox emits "room".
 * The record bound also bounds the outbox's in-memory index (one small entry per
 * record on disk). 10,000 records are 2 s at the server's default per-agent
 * limit: reading stops long before that matters for the catch-up rate (20,000
 * records and 512 KiB pending before; halved with the client's in-flight
 * budget for a lower catch-up peak, MAX_IN_FLIGHT_BYTES in client.ts).
 */
export const SOURCE_HIGH_WATER_RECORDS = 10_000;
/** sources resume once the unacknowledged records are below this (hysteresis: no stop/start per record) */
export const SOURCE_LOW_WATER_RECORDS = 7_500;
/** share of maxBytes the segment files may fill before the sources stop */
export const SOURCE_HIGH_WATER_DISK = 0.75;
/** bytes of records appended but not yet written beyond which the sources stop (2 MiB, then 512 KiB before: see MAX_IN_FLIGHT_BYTES in client.ts) */
export const MAX_PENDING_BYTES = 128 * 1024;

export interface OutboxOptions {
  dir: string;
  maxBytes: number;
  log: Logger;
  /** a segment is closed once it is this big (default: maxBytes / 16, between 64 KiB and 4 MiB) */
  segmentBytes?: number;
  /** longest wait between an append and its write + fsync when none is under way (default 0: the next turn of the event loop) */
  flushDelayMs?: number;
  now?: () => number;
  /** backpressure marks (default SOURCE_HIGH_WATER_RECORDS / SOURCE_LOW_WATER_RECORDS) */
  highWaterRecords?: number;
  lowWaterRecords?: number;
}

interface Pending {
  seq: number;
  text: string;
  bytes: number;
  pos?: Position;
  gap?: Entry["gap"];
}

export class Outbox extends EventEmitter {
  private readonly dir: string;
  private readonly segBytes: number;
  private readonly delay: number;
  private readonly now: () => number;
  private segs: Segment[] = [];
  private fd: number;
  private acked: RangeSet;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** a source was told there is no room: emit "room" once there is again */
  private full = false;
  /** per-instance water marks (tests make them small) */
  private readonly highRecords: number;
  private readonly lowRecords: number;
  /** records not yet acknowledged (kept up to date: depth() is called per line read) */
  private unackedCount = 0;
  private nextSeq = 1;
  private durableSeq = 0;
  private positions = new Map<string, { seq: number; value: unknown }>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private closed = false;
  /** counters for logs and tests */
  readonly stats = { tornBytes: 0, corruptLines: 0, droppedRecords: 0, invalidRecords: 0, writeErrors: 0 };

  constructor(private readonly o: OutboxOptions) {
    super();
    this.dir = path.join(o.dir, "outbox");
    this.segBytes = o.segmentBytes ?? Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(o.maxBytes / 16)));
    this.delay = o.flushDelayMs ?? 0;
    this.now = o.now ?? Date.now;
    this.highRecords = o.highWaterRecords ?? SOURCE_HIGH_WATER_RECORDS;
    this.lowRecords = Math.min(o.lowWaterRecords ?? SOURCE_LOW_WATER_RECORDS, Math.floor(this.highRecords * 0.8));
    ensureDir(this.dir);
    this.acked = RangeSet.fromJSON(readJson(path.join(this.dir, "acked.json")));
    const r = recover(this.dir, readJson(path.join(this.dir, "positions.json")), (seq) => this.acked.has(seq));
    Object.assign(this.stats, { tornBytes: r.tornBytes, corruptLines: r.corrupt });
    if (r.tornBytes || r.corrupt) o.log.warn({ tornBytes: r.tornBytes, corruptLines: r.corrupt }, "outbox: recovered after a crash");
    this.segs = r.segs;
    this.positions = r.positions;
    const minSeq = r.nextSeq;
    this.nextSeq = minSeq;
    this.durableSeq = minSeq - 1;
    if (this.segs.length === 0) this.createSegment(this.nextSeq);
    this.fd = fs.openSync(this.active.path, "a", 0o600);
    fs.fsyncSync(this.fd); // what a crash left in the page cache is now on disk
    this.collect();
    this.unackedCount = this.segs.reduce((a, x) => a + x.unacked, 0);
    o.log.info({ dir: this.dir, nextSeq: this.nextSeq, depth: this.depth(), segments: this.segs.length }, "outbox opened");
  }

  private get active(): Segment {
    return this.segs[this.segs.length - 1];
  }

  /** durable position of a source (the one reached by its newest flushed record) */
  position(key: string): unknown {
    return this.positions.get(key)?.value;
  }

  /** records not yet acknowledged (flushed or waiting for the next flush) */
  depth(): number {
    return this.pending.length + this.unackedCount;
  }

  /** bytes appended and not yet written */
  get pendingBytesNow(): number {
    return this.pendingBytes;
  }

  /**
   * May a source read more? False once the backlog reached a high-water mark (see
   * SOURCE_HIGH_WATER_RECORDS); the outbox then emits "room" when it is back below
   * the low-water marks. Sources ask before every read.
   */
  hasRoom(): boolean {
    // what is not yet written counts toward the disk share too: a source reading a large file in one go must
    // stop before its lines overflow the outbox (and drop records already in flight), not after
    const room = this.depth() < this.highRecords && this.pendingBytes < MAX_PENDING_BYTES &&
      this.backlogBytes() + this.pendingBytes < this.o.maxBytes * SOURCE_HIGH_WATER_DISK;
    if (!room) this.full = true;
    return room;
  }

  /** after a flush or an ack: tell the paused sources when they may read again */
  private checkRoom(): void {
    if (!this.full || this.closed) return;
    if (this.depth() < this.lowRecords && this.pendingBytes < MAX_PENDING_BYTES / 2 && this.backlogBytes() + this.pendingBytes < this.o.maxBytes * SOURCE_HIGH_WATER_DISK * 0.9) {
      this.full = false;
      this.emit("room");
    }
  }

  /**
   * bytes on disk that backpressure looks at: a closed segment whole (it stays on disk, and counts toward
   * maxBytes when room is made, until its last record is acknowledged: with several batches in flight, acks
   * leave closed segments partly acknowledged), the active one by its unacknowledged share (it keeps its
   * acknowledged records until it rotates, so one large batch written to it would otherwise hold the sources
   * back for ever). Counting closed segments by their unacknowledged share only let the files outgrow maxBytes
   * during a catch-up with 4 batches in flight: "outbox full", records dropped (nothing-lost test).
   */
  backlogBytes(): number {
    let n = 0;
    const active = this.segs[this.segs.length - 1];
    for (const s of this.segs) {
      if (s !== active) n += s.size;
      else if (s.unacked > 0 && s.entries.length > 0) n += s.size * (s.unacked / s.entries.length);
    }
    return n;
  }

  /** bytes of segment files on disk */
  diskBytes(): number {
    return this.segs.reduce((a, s) => a + s.size, 0);
  }

  /** Append a record (and the source position it reaches); returns its seq, or 0 when the record is invalid. */
  append(rec: NewRecord, pos?: Position): number {
    if (this.closed) throw new Error("outbox is closed");
    const seq = this.nextSeq;
    const record = { ...rec, seq };
    const check = AgentRecord.safeParse(record);
    if (!check.success) {
      this.stats.invalidRecords++;
      this.o.log.error({ kind: rec.kind, problem: describeZodError(check.error) }, "outbox: refusing an invalid record");
      return 0;
    }
    this.nextSeq++;
    const text = encodeLine({ seq, rec: record, pos: pos ? [pos.key, pos.value] : undefined });
    const gap: Entry["gap"] = rec.kind === "gap" ? [rec.fromSeq, rec.toSeq, rec.dropped] : undefined;
    const bytes = Buffer.byteLength(text);
    this.pending.push({ seq, text, bytes, pos, gap });
    this.pendingBytes += bytes;
    // setImmediate, not a timer: the records of one read (a burst of lines) share one write and one fsync
    if (!this.timer) this.timer = this.delay > 0 ? setTimeout(() => void this.flush(), this.delay) : setImmediate(() => void this.flush());
    return seq;
  }

  /** Write and fsync everything appended so far; resolves once it is durable. */
  flush(): Promise<void> {
    if (this.timer) {
      if (this.delay > 0) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = null;
    this.chain = this.chain
      .then(() => this.writeBatch())
      .catch((e: Error) => {
        this.stats.writeErrors++;
        this.o.log.error({ err: e.message }, "outbox: flush failed");
      });
    return this.chain;
  }

  private async writeBatch(): Promise<void> {
    if (this.pending.length === 0) return;
    // everything up to the write is synchronous: no append can slip in between
    let batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let seg: Segment;
    try {
      let need = batch.reduce((a, p) => a + p.bytes, 0);
      if (this.diskBytes() + need > this.o.maxBytes) batch = this.makeRoom(batch, need);
      need = batch.reduce((a, p) => a + p.bytes, 0);
      if (this.active.size > 0 && this.active.size + need > this.segBytes) this.rotate(batch[0].seq);
      seg = this.active;
      try {
        writeAll(this.fd, Buffer.from(batch.map((p) => p.text).join("")));
      } catch (e) {
        fs.ftruncateSync(this.fd, seg.size); // no half batch left behind (else the next scan cuts it)
        throw e;
      }
    } catch (e) {
      // disk full, I/O error: keep the records in memory and try again (the size bound still applies then)
      this.stats.writeErrors++;
      this.o.log.error({ err: (e as Error).message }, "outbox: write failed; retrying in 1 s");
      this.pending = batch.concat(this.pending);
      this.pendingBytes = this.pending.reduce((a, p) => a + p.bytes, 0);
      setTimeout(() => void this.flush(), 1000).unref();
      return;
    }
    let off = seg.size;
    for (const p of batch) {
      seg.entries.push({ seq: p.seq, off, len: p.bytes, gap: p.gap });
      seg.unacked++;
      this.unackedCount++;
      off += p.bytes;
    }
    seg.size = off;
    const written = performance.now();
    await new Promise<void>((resolve) =>
      fs.fsync(this.fd, (err) => {
        if (err) this.o.log.error({ err: err.message }, "outbox: fsync failed");
        resolve();
      }),
    );
    this.durableSeq = Math.max(this.durableSeq, batch[batch.length - 1].seq);
    for (const p of batch) if (p.pos) this.positions.set(p.pos.key, { seq: p.seq, value: p.pos.value });
    // the latency bench reads this (at --log-level debug) for its per-stage breakdown
    this.o.log.debug({ fromSeq: batch[0].seq, toSeq: batch[batch.length - 1].seq, fsyncMs: Math.round((performance.now() - written) * 100) / 100 }, "outbox: flushed");
    this.emit("flushed", this.durableSeq);
    this.checkRoom();
  }

  /** Drop the oldest records until `need` more bytes fit; returns the batch to write (with a gap record). */
  private makeRoom(batch: Pending[], need: number): Pending[] {
    let from = Infinity;
    let to = 0;
    let dropped = 0;
    let lost = 0;
    const mark = (seq: number, gap?: Entry["gap"]) => {
      from = Math.min(from, gap ? gap[0] : seq);
      to = Math.max(to, seq);
      // a dropped gap record is folded into the new one, so no loss goes unreported
      dropped += gap ? gap[2] : 1;
      if (!gap) lost++;
    };
    const reserve = 1024; // room for the gap record itself
    const full = () => this.diskBytes() + need + reserve > this.o.maxBytes;
    const dropOldest = () => {
      while (this.segs.length > 1 && full()) {
        const s = this.segs[0];
        for (const e of s.entries) if (!this.acked.has(e.seq)) mark(e.seq, e.gap);
        this.removeSegment(s);
      }
    };
    dropOldest();
    if (full() && this.active.size > 0) {
      // the active segment itself must go: close it so it can be dropped like the others
      this.rotate(batch[0]?.seq ?? this.nextSeq);
      dropOldest();
    }
    while (batch.length > 0 && this.diskBytes() + need + reserve > this.o.maxBytes) {
      const p = batch.shift()!;
      mark(p.seq, p.gap);
      need -= p.bytes;
    }
    if (dropped === 0) return batch;
    this.stats.droppedRecords += lost;
    const seq = this.nextSeq++;
    const gap: GapRecordMsg = { kind: "gap", seq, ts: this.now(), fromSeq: from, toSeq: to, dropped, reason: "outbox full" };
    const text = encodeLine({ seq, rec: gap });
    this.o.log.warn({ fromSeq: from, toSeq: to, dropped, maxBytes: this.o.maxBytes }, "outbox full: dropped the oldest records");
    return [...batch, { seq, text, bytes: Buffer.byteLength(text), gap: [from, to, dropped] }];
  }

  private createSegment(firstSeq: number): void {
    const p = path.join(this.dir, segmentName(firstSeq));
    fs.closeSync(fs.openSync(p, "a", 0o600));
    fsyncDir(this.dir);
    this.segs.push({ firstSeq, path: p, size: 0, entries: [], unacked: 0 });
  }

  private rotate(firstSeq: number): void {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.createSegment(firstSeq);
    this.fd = fs.openSync(this.active.path, "a", 0o600);
    this.collect();
  }

  private removeSegment(s: Segment): void {
    // positions carried by this segment's lines must survive it
    writeJsonAtomic(path.join(this.dir, "positions.json"), Object.fromEntries(this.positions), true);
    fs.rmSync(s.path, { force: true });
    this.unackedCount -= s.unacked;
    this.segs.splice(this.segs.indexOf(s), 1);
  }

  /** delete fully acknowledged segments (never the active one) and forget their acked ranges */
  private collect(): void {
    let removed = false;
    for (const s of this.segs.slice(0, -1)) {
      if (s.unacked === 0) {
        this.removeSegment(s);
        removed = true;
      }
    }
    if (removed) fsyncDir(this.dir);
    const min = this.segs[0].entries[0]?.seq ?? this.segs[0].firstSeq;
    this.acked.prune(min);
  }

  /** Oldest flushed, unacknowledged records (skipping `exclude`d seqs), at most `max` and about `maxBytes`. */
  peek(max: number, opts: { maxBytes?: number; exclude?: (seq: number) => boolean } = {}): Peeked[] {
    const out: Peeked[] = [];
    let bytes = 0;
    const maxBytes = opts.maxBytes ?? Infinity;
    let stop = false;
    for (const s of this.segs) {
      const want = [];
      for (const e of s.entries) {
        if (out.length + want.length >= max || e.seq > this.durableSeq) {
          stop = true;
          break;
        }
        if (this.acked.has(e.seq) || opts.exclude?.(e.seq)) continue;
        if (bytes + e.len > maxBytes && out.length + want.length > 0) {
          stop = true;
          break;
        }
        want.push(e);
        bytes += e.len;
      }
      for (const r of readEntries(s.path, want)) out.push({ seq: r.seq, record: r.line.rec as unknown as AgentRecord, bytes: r.len });
      if (stop) break;
    }
    return out;
  }

  /** Forget acknowledged records; returns how many were newly acknowledged. */
  ack(seqs: Iterable<number>): number {
    let n = 0;
    for (const seq of seqs) {
      if (!Number.isSafeInteger(seq) || seq > this.durableSeq) continue;
      const s = segmentOf(this.segs, seq);
      if (!s || !hasSeq(s.entries, seq) || !this.acked.add(seq)) continue;
      s.unacked--;
      this.unackedCount--;
      n++;
    }
    if (n > 0) {
      this.collect();
      writeJsonAtomic(path.join(this.dir, "acked.json"), this.acked.toJSON(), false);
      this.checkRoom();
    }
    return n;
  }

  /** Replace a record the server will never accept by a gap record naming why (keeps the stream honest). */
  reject(seq: number, reason: string): void {
    if (this.ack([seq]) === 0) return;
    this.append({ kind: "gap", ts: this.now(), fromSeq: seq, toSeq: seq, dropped: 1, reason: reason.slice(0, 512) });
  }

  /** flush, persist acks and positions, close the file */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    writeJsonAtomic(path.join(this.dir, "acked.json"), this.acked.toJSON(), true);
    writeJsonAtomic(path.join(this.dir, "positions.json"), Object.fromEntries(this.positions), true);
    fs.closeSync(this.fd);
  }
}
