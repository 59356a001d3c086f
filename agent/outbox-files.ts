/**
 * On-disk pieces of the outbox: segment files of JSON lines, crash recovery
 * of a segment (a torn last line is cut off), atomic small JSON files.
 *
 * A segment line is `{"seq":N,"rec":{...record...},"pos":["key",value]}\n`;
 * `pos` (optional) is the source position reached by this record, so the
 * position is durable exactly when the record is.
 */
import fs from "node:fs";
import path from "node:path";

export interface Entry {
  seq: number;
  /** byte offset of the line in its segment, and its length including the newline */
  off: number;
  len: number;
  /** for a gap record: the range and count it reports (folded into a later gap if this one is dropped) */
  gap?: [number, number, number];
}

export interface ScannedSegment {
  firstSeq: number;
  path: string;
  size: number;
  entries: Entry[];
  /** newest position per key found in this segment */
  positions: Map<string, { seq: number; value: unknown }>;
  /** bytes cut off the end (a torn last line) */
  tornBytes: number;
  /** complete lines that were not valid records (skipped) */
  corrupt: number;
}

const SEG_RE = /^seg-(\d{16})\.jsonl$/;

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, "0")}.jsonl`;
}

/** segment files of dir, oldest first */
export function listSegments(dir: string): Array<{ firstSeq: number; path: string }> {
  return fs
    .readdirSync(dir)
    .map((f) => ({ f, m: SEG_RE.exec(f) }))
    .filter((x) => x.m)
    .map((x) => ({ firstSeq: Number(x.m![1]), path: path.join(dir, x.f) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

export interface OutboxLine {
  seq: number;
  rec: { kind: string; seq: number } & Record<string, unknown>;
  pos?: [string, unknown];
}

export function encodeLine(line: OutboxLine): string {
  return JSON.stringify(line) + "\n";
}

export function decodeLine(text: string): OutboxLine | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== "object") return null;
  const o = v as Partial<OutboxLine>;
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) return null;
  if (!o.rec || typeof o.rec !== "object" || typeof o.rec.kind !== "string" || o.rec.seq !== o.seq) return null;
  if (o.pos !== undefined && (!Array.isArray(o.pos) || typeof o.pos[0] !== "string")) return null;
  return o as OutboxLine;
}

/**
 * Read a segment, index its lines and cut off a torn tail (a last line
 * without its newline or that does not parse: a write interrupted by a crash).
 * Lines must have increasing seqs; anything else is skipped and counted.
 */
export function scanSegment(file: string, firstSeq: number, minSeq: number): ScannedSegment {
  const buf = fs.readFileSync(file);
  const out: ScannedSegment = { firstSeq, path: file, size: 0, entries: [], positions: new Map(), tornBytes: 0, corrupt: 0 };
  let start = 0;
  let good = 0; // end of the last complete, valid line
  let last = minSeq - 1;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break; // no newline: torn
    const line = decodeLine(buf.toString("utf8", start, nl));
    if (line && line.seq > last) {
      const r = line.rec;
      const gap: Entry["gap"] = r.kind === "gap" ? [Number(r.fromSeq), Number(r.toSeq), Number(r.dropped)] : undefined;
      out.entries.push({ seq: line.seq, off: start, len: nl + 1 - start, gap });
      if (line.pos) out.positions.set(line.pos[0], { seq: line.seq, value: line.pos[1] });
      last = line.seq;
      good = nl + 1;
    } else if (nl + 1 >= buf.length) {
      break; // an invalid LAST line is a torn write as well
    } else {
      out.corrupt++;
      good = nl + 1;
    }
    start = nl + 1;
  }
  if (good < buf.length) {
    out.tornBytes = buf.length - good;
    fs.truncateSync(file, good);
  }
  out.size = good;
  return out;
}

/** Write a small JSON file so that a crash leaves the old or the new version, never a mix. */
export function writeJsonAtomic(file: string, data: unknown, durable: boolean): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(data));
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * mkdir -p that always ends: node's recursive mkdirSync loops forever on some
 * paths (e.g. under /proc), and a bad --state-dir must give an error instead.
 */
export function ensureDir(dir: string, depth = 0): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir || depth > 64) throw e;
    ensureDir(parent, depth + 1);
    fs.mkdirSync(dir, { mode: 0o700 });
  }
}

/** make a created/removed directory entry durable */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on a directory; the data files are still synced
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** write all of buf at the file's end */
export function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
}

/** read the lines of `want` (sorted entries of one segment) in one read */
export function readEntries(file: string, want: Entry[]): Array<{ seq: number; len: number; line: OutboxLine }> {
  if (want.length === 0) return [];
  const start = want[0].off;
  const end = want[want.length - 1].off + want[want.length - 1].len;
  const buf = Buffer.alloc(end - start);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, buf, 0, buf.length, start);
  } finally {
    fs.closeSync(fd);
  }
  const out = [];
  for (const e of want) {
    const line = decodeLine(buf.toString("utf8", e.off - start, e.off - start + e.len - 1));
    if (line) out.push({ seq: e.seq, len: e.len, line });
  }
  return out;
}

/** the segment that holds seq: segments are named after a seq <= all of their own and > all of the previous ones' */
export function segmentOf<S extends { firstSeq: number }>(segs: S[], seq: number): S | undefined {
  let found: S | undefined;
  for (const s of segs) {
    if (s.firstSeq <= seq) found = s;
    else break;
  }
  return found;
}

export function hasSeq(entries: Entry[], seq: number): boolean {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = entries[mid].seq;
    if (v === seq) return true;
    if (v < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** a segment as the outbox tracks it */
export interface Segment {
  firstSeq: number;
  path: string;
  size: number;
  entries: Entry[];
  unacked: number;
}

/**
 * Reopen after a start or a crash: scan every segment (cutting torn tails),
 * find the next seq, and the newest position per key (from positions.json or
 * the segment lines, whichever has the higher seq).
 */
export function recover(dir: string, savedPositions: unknown, isAcked: (seq: number) => boolean) {
  const positions = new Map<string, { seq: number; value: unknown }>();
  if (savedPositions && typeof savedPositions === "object") {
    for (const [k, v] of Object.entries(savedPositions as Record<string, { seq: number; value: unknown }>)) {
      if (v && Number.isSafeInteger(v.seq)) positions.set(k, { seq: v.seq, value: v.value });
    }
  }
  const segs: Segment[] = [];
  let nextSeq = 1;
  let tornBytes = 0;
  let corrupt = 0;
  for (const f of listSegments(dir)) {
    const s = scanSegment(f.path, f.firstSeq, nextSeq);
    tornBytes += s.tornBytes;
    corrupt += s.corrupt;
    for (const [k, p] of s.positions) if ((positions.get(k)?.seq ?? 0) < p.seq) positions.set(k, p);
    nextSeq = Math.max(nextSeq, (s.entries.at(-1)?.seq ?? 0) + 1, f.firstSeq);
    segs.push({ firstSeq: f.firstSeq, path: f.path, size: s.size, entries: s.entries, unacked: s.entries.filter((e) => !isAcked(e.seq)).length });
  }
  return { segs, positions, nextSeq, tornBytes, corrupt };
}
