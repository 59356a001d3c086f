/**
 * Log file source with `tail -F` semantics.
 *
 * - Follows the file by path: waits for it to appear; on rotation (the path
 *   names another inode, or is gone) reads the old descriptor to its end, keeps
 *   reading it for a short grace period (a writer may still append before it
 *   reopens), and opens the new file from offset 0; on truncation (size below
 *   our offset: copytruncate) restarts at 0.
 * - Emits complete lines only; a partial last line is held until its newline
 *   (a rotated file's unterminated tail is emitted when it is let go). Lines
 *   longer than LIMITS.maxLineLength are cut and flagged.
 * - Resumes at a saved {inode, offset}: same inode at the path -> that offset;
 *   the inode found in a rotated sibling (keepalived.log.1) -> its rest first,
 *   then the current file from 0; otherwise the current file from 0 when it was
 *   created after the position was saved (or its birth time is unknown), else
 *   from its end. Without a saved position (first start) it reads the last
 *   BACKFILL_BYTES of the file (from a line start), so that the server learns
 *   the instances' current states instead of showing them unknown until the
 *   next transition.
 * - NUL bytes (a crash-damaged file) never reach the server: a run of them
 *   where a line starts is skipped, one inside a line becomes U+FFFD.
 * - Backpressure: before every read (READ_CHUNK_BYTES) it asks `room()` (the
 *   outbox's hasRoom); when there is none it stops, keeps its offset, and goes on
 *   at `resume()` (the outbox's "room" event) or the next poll. A rotated file is
 *   let go only once it was read to its end (its descriptor keeps it readable
 *   even when deleted), and the new file is read only after it, so the order of
 *   the lines holds. So a backlog of any size (first start, a reconnect after a
 *   long outage, a burst) costs no more memory than one chunk and one line
 *   (MAX_LINE_BYTES).
 * - fs.watch on the directory for promptness, plus a poll because watch events
 *   are not guaranteed (network filesystems, bind mounts): every 250 ms
 *   (pollMs) without a watch, every 5 s (watchedPollMs) while the watch runs
 *   (every 1 s while reading is paused for want of room: see schedulePoll),
 *   and every 250 ms again for good once a poll finds lines no watch event
 *   announced (the watch misses events here: those first lines came up to 5 s
 *   late, once). An idle agent woke 4 times a second for nothing, and its
 *   every-second poll was a quarter of its idle work (docs/PERFORMANCE.md,
 *   "Agent").
 */
import fs from "node:fs";
import path from "node:path";
import { LIMITS, type LogRecordMsg } from "../../server/protocol";
import type { Logger } from "../log";
import type { Position } from "../outbox";
import { cutLine, storableText } from "../lines";
import { every, type Periodic } from "../ticker";

export interface FilePosition {
  inode: string;
  /** byte offset after the last line read */
  offset: number;
  /** when it was saved (epoch ms) */
  at: number;
}

export interface FileSourceOptions {
  file: string;
  log: Logger;
  emit: (rec: Omit<LogRecordMsg, "seq">, pos?: Position) => void;
  start?: FilePosition | null;
  /** may the source read more (backpressure)? default: always */
  room?: () => boolean;
  pollMs?: number;
  /** the poll while the directory watch runs (default 1000 ms) */
  watchedPollMs?: number;
  rotateGraceMs?: number;
  now?: () => number;
}

interface Reader {
  fd: number;
  ino: string;
  /** next byte to read */
  pos: number;
  /** file offset where `partial` starts */
  lineStart: number;
  partial: Buffer;
  /** inside an over-long line: drop bytes until its newline */
  skipping: boolean;
  /** when a rotated reader is let go */
  until?: number;
  /** the last read reached the end of the file */
  atEnd?: boolean;
}

/** bytes of a line held before its newline: beyond it the line is sent cut (flagged) and the rest of it dropped */
export const MAX_LINE_BYTES = LIMITS.maxLineLength * 4;
/** bytes read per read(2); the source asks for room before each */
export const READ_CHUNK_BYTES = 64 * 1024;

export const FILE_POSITION_KEY = "file";

export class FileSource {
  private cur: Reader | null = null;
  private draining: Reader[] = [];
  private poll: Periodic | null = null;
  private pollMs = 0;
  private watcher: fs.FSWatcher | null = null;
  private state = "starting";
  private first = true;
  private curEmitted = false;
  private readonly now: () => number;
  private readonly buf = Buffer.alloc(READ_CHUNK_BYTES);
  private paused = false;
  /** times the source stopped reading for want of room (tests and status) */
  readonly stats = { pauses: 0 };

  constructor(private readonly o: FileSourceOptions) {
    this.now = o.now ?? Date.now;
  }

  status(): string {
    return this.state;
  }

  /** the outbox has room again: read on (no-op when not paused) */
  resume(): void {
    if (this.paused) this.tick();
  }

  private lastPauseLog = 0;

  private hasRoom(): boolean {
    const room = this.o.room ? this.o.room() : true;
    if (!room && !this.paused) {
      this.stats.pauses++;
      if (this.now() - this.lastPauseLog > 10_000) {
        this.lastPauseLog = this.now();
        this.o.log.info({ file: this.o.file, pauses: this.stats.pauses }, "backlog: reading paused until the outbox drains (the file offset waits)");
      }
    }
    const was = this.paused;
    this.paused = !room;
    if (this.paused !== was && this.poll) this.schedulePoll();
    return room;
  }

  start(): void {
    this.tick();
    this.schedulePoll();
  }

  /** watch events seen; the watch proved unreliable (see the header) */
  private watchEvents = 0;
  private watchMissed = false;

  /**
   * (re)start the poll at the period of the moment: 5 s while the watch runs (on the agent's shared tick), 250 ms
   * without, and 1 s while reading is paused for want of room: the outbox says "room" only below its low-water
   * marks, and a pause for bytes not yet written ends before that, so the poll is what reads on (a backlog is
   * not idle: its reading must not wait 5 s at each such pause)
   */
  private schedulePoll(): void {
    const watched = this.watcher && !this.watchMissed;
    const ms = !watched ? (this.o.pollMs ?? 250) : this.paused ? Math.min(1000, this.o.watchedPollMs ?? 5000) : (this.o.watchedPollMs ?? 5000);
    if (this.poll && ms === this.pollMs) return;
    this.poll?.cancel();
    this.pollMs = ms;
    this.poll = every(ms, () => {
      this.pollTick();
      if (this.poll) this.schedulePoll();
    });
  }

  private pollTick(): void {
    const progress = () => `${this.cur?.ino}:${this.cur?.pos}:${this.draining.length}`;
    const before = progress();
    const events = this.watchEvents;
    const watched = !!this.watcher && !this.watchMissed;
    this.tick();
    if (watched && this.watchEvents === events && !this.paused && progress() !== before) {
      this.watchMissed = true;
      this.o.log.info({ file: this.o.file }, "the directory watch missed new lines: polling every 250 ms from now on");
    }
  }

  async stop(): Promise<void> {
    this.poll?.cancel();
    this.poll = null;
    this.watcher?.close();
    this.watcher = null;
    for (const r of [...this.draining, ...(this.cur ? [this.cur] : [])]) fs.closeSync(r.fd);
    this.draining = [];
    this.cur = null;
    this.state = "stopped";
  }

  private watchDir(): void {
    if (this.watcher) return;
    try {
      const base = path.basename(this.o.file);
      this.watcher = fs.watch(path.dirname(this.o.file), { persistent: false }, (_e, name) => {
        if (!name || name === base) {
          this.watchEvents++;
          this.tick();
        }
      });
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // the directory does not exist (yet): the poll covers it
    }
  }

  /** one pass: read what is new, notice rotation/truncation/appearance. Synchronous, so never re-entered. */
  private tick(): void {
    if (!this.poll && this.state !== "starting") return;
    this.watchDir();
    try {
      if (!this.cur) this.open();
      if (this.readDraining()) {
        // a rotated file is not read to its end yet (backpressure): the current one waits, so lines stay in order
        this.state = "ok; backlog: waiting for the outbox to drain";
        return;
      }
      if (!this.cur) return;
      const st = fs.fstatSync(this.cur.fd);
      if (st.size < this.cur.pos) {
        this.o.log.info({ file: this.o.file, size: st.size, offset: this.cur.pos }, "log file truncated: reading it again from the start");
        Object.assign(this.cur, { pos: 0, lineStart: 0, partial: Buffer.alloc(0), skipping: false });
      }
      this.readAll(this.cur, true);
      let now: fs.Stats | null = null;
      try {
        now = fs.statSync(this.o.file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      if (!now || String(now.ino) !== this.cur.ino) {
        this.o.log.info({ file: this.o.file, oldInode: this.cur.ino }, "log file rotated");
        this.cur.until = this.now() + (this.o.rotateGraceMs ?? 2000);
        this.draining.push(this.cur);
        this.cur = null;
        this.curEmitted = false;
        this.open();
        if (this.cur && !this.draining.some((r) => !r.atEnd)) this.readAll(this.cur, true);
      }
      this.state = this.cur ? (this.paused ? "ok; backlog: waiting for the outbox to drain" : "ok") : `waiting for ${this.o.file} to appear`;
    } catch (e) {
      this.state = `cannot read ${this.o.file}: ${(e as Error).message}`.slice(0, 500);
      this.o.log.warn({ err: (e as Error).message, file: this.o.file }, "log file source");
    }
  }

  /** open the file at the path, choosing where to start (see the header) */
  private open(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.o.file, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        if (this.first && this.o.start) this.drainSibling(this.o.start);
        this.first = false;
        this.state = `waiting for ${this.o.file} to appear`;
        return;
      }
      throw e;
    }
    const st = fs.fstatSync(fd);
    const ino = String(st.ino);
    let pos = 0;
    if (this.first) {
      const saved = this.o.start;
      if (!saved) pos = backfillStart(fd, st.size);
      else if (saved.inode === ino) pos = saved.offset <= st.size ? saved.offset : 0;
      else {
        this.drainSibling(saved);
        const born = st.birthtimeMs || 0;
        pos = born === 0 || born >= saved.at - 1000 ? 0 : st.size;
      }
      this.o.log.info({ file: this.o.file, inode: ino, offset: pos, saved }, "following log file");
    }
    this.first = false;
    this.cur = { fd, ino, pos, lineStart: pos, partial: Buffer.alloc(0), skipping: false };
  }

  /** after a restart: finish the rotated file that still holds our saved inode (keepalived.log.1 and the like) */
  private drainSibling(saved: FilePosition): void {
    const dir = path.dirname(this.o.file);
    const base = path.basename(this.o.file);
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).filter((n) => n !== base && n.startsWith(base) && !/\.(gz|xz|bz2|zst)$/.test(n));
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      try {
        const st = fs.statSync(p);
        if (String(st.ino) !== saved.inode || saved.offset > st.size) continue;
        const fd = fs.openSync(p, "r");
        this.o.log.info({ file: p, offset: saved.offset }, "reading the rest of the rotated log file");
        // read (and let go) by tick() before the current file, as the outbox has room
        this.draining.push({ fd, ino: saved.inode, pos: saved.offset, lineStart: saved.offset, partial: Buffer.alloc(0), skipping: false, until: 0 });
        return;
      } catch {
        // vanished meanwhile
      }
    }
  }

  private release(r: Reader): void {
    if (r.partial.length > 0 && !r.skipping) this.line(r, r.partial, r.lineStart, false);
    fs.closeSync(r.fd);
    this.draining = this.draining.filter((x) => x !== r);
  }

  /** read the rotated files (oldest first), letting go of those read to their end after their grace; true while one is behind */
  private readDraining(): boolean {
    for (const r of this.draining.slice()) {
      if (!this.readAll(r, !this.curEmitted)) return true;
      if (this.now() >= (r.until ?? 0)) this.release(r);
    }
    return false;
  }

  /** read what the outbox has room for; true when the end of the file was reached */
  private readAll(r: Reader, withPos: boolean): boolean {
    for (;;) {
      r.atEnd = false;
      if (!this.hasRoom()) return false;
      const n = fs.readSync(r.fd, this.buf, 0, this.buf.length, r.pos);
      if (n <= 0) return (r.atEnd = true);
      r.pos += n;
      let data = r.partial.length ? Buffer.concat([r.partial, this.buf.subarray(0, n)]) : Buffer.from(this.buf.subarray(0, n));
      let start = 0;
      for (;;) {
        // NUL padding left by a crash (blocks allocated, never written) before the next real line: skip it
        // here, byte by byte, so a long run can neither swallow that line as "over-long" nor reach the server
        if (!r.skipping) while (start < data.length && data[start] === 0) {
          start++;
          r.lineStart++;
        }
        const nl = data.indexOf(0x0a, start);
        if (nl < 0) break;
        if (r.skipping) r.skipping = false;
        else this.line(r, data.subarray(start, nl), r.lineStart, withPos, r.lineStart + (nl + 1 - start));
        r.lineStart += nl + 1 - start;
        start = nl + 1;
      }
      data = data.subarray(start);
      if (!r.skipping && data.length > MAX_LINE_BYTES) {
        // an endless line: send what we have, flagged, and drop the rest up to its newline
        this.line(r, data, r.lineStart, false);
        r.skipping = true;
      }
      if (r.skipping) {
        r.lineStart += data.length;
        data = Buffer.alloc(0);
      }
      r.partial = Buffer.from(data);
    }
  }

  private line(r: Reader, bytes: Buffer, offset: number, withPos: boolean, end?: number): void {
    let text = storableText(bytes.toString("utf8"));
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const cut = cutLine(text);
    const long = bytes.length > MAX_LINE_BYTES;
    const now = this.now();
    const pos = withPos && end !== undefined ? { key: FILE_POSITION_KEY, value: { inode: r.ino, offset: end, at: now } satisfies FilePosition } : undefined;
    if (r === this.cur) this.curEmitted = true;
    this.o.emit(
      { kind: "log", ts: now, source: "file", line: cut.line, ...(cut.truncated || long ? { truncated: true } : {}), inode: r.ino, offset },
      pos,
    );
  }
}

/** first start: how much of an existing log file to send, so the current states are known */
export const BACKFILL_BYTES = 256 * 1024;

/** offset of the first line start within the last BACKFILL_BYTES of the file */
export function backfillStart(fd: number, size: number): number {
  if (size <= BACKFILL_BYTES) return 0;
  const from = size - BACKFILL_BYTES;
  const buf = Buffer.alloc(Math.min(65536, BACKFILL_BYTES));
  const n = fs.readSync(fd, buf, 0, buf.length, from - 1);
  const nl = buf.subarray(0, n).indexOf(10);
  // the byte before `from` is a newline: `from` starts a line
  return nl < 0 ? size : from - 1 + nl + 1;
}
