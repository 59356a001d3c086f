import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { BACKFILL_BYTES, FileSource, type FilePosition } from "../../agent/sources/file";
import { silentLogger } from "../../agent/log";
import { LIMITS, LogRecordMsg } from "../../server/protocol";
import { waitFor } from "../helpers/wait";
import { tmpDir } from "../helpers/tmp";

type Rec = Omit<LogRecordMsg, "seq">;

function setup(t: { after: (fn: () => void | Promise<void>) => void }) {
  const dir = tmpDir(t, "kam-file-");
  return { dir, file: path.join(dir, "keepalived.log") };
}

function follow(t: { after: (fn: () => void | Promise<void>) => void }, file: string, start: FilePosition | null = null) {
  const got: Rec[] = [];
  let pos: FilePosition | null = start;
  const src = new FileSource({
    file, log: silentLogger(), start, pollMs: 25, rotateGraceMs: 300,
    emit: (r, p) => {
      assert.equal(LogRecordMsg.safeParse({ ...r, seq: 1 }).success, true);
      got.push(r);
      if (p) pos = p.value as FilePosition;
    },
  });
  src.start();
  t.after(() => src.stop());
  return { src, got, lines: () => got.map((r) => r.line), position: () => pos };
}

test("on first start sends the existing file's recent lines (the current states), then each appended line with its inode and offset", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "old line 1\nold line 2\n");
  const f = follow(t, file);
  fs.appendFileSync(file, "Keepalived_vrrp[12]: (VI_1) Entering MASTER STATE\nsecond\r\n");
  await waitFor("4 lines", () => f.got.length === 4, 3000, 10);
  const ino = String(fs.statSync(file).ino);
  assert.deepEqual(f.got.map((r) => [r.line, r.inode, r.offset, r.source]), [
    ["old line 1", ino, 0, "file"],
    ["old line 2", ino, 11, "file"],
    ["Keepalived_vrrp[12]: (VI_1) Entering MASTER STATE", ino, 22, "file"],
    ["second", ino, 72, "file"],
  ]);
  assert.ok(Math.abs(f.got[2].ts - Date.now()) < 5000);
  assert.deepEqual({ ...f.position()!, at: 0 }, { inode: ino, offset: 80, at: 0 });
  assert.equal(f.src.status(), "ok");
});

test("on first start with a large file sends only its last BACKFILL_BYTES, from a line start", async (t) => {
  const { file } = setup(t);
  const line = "x".repeat(99) + "\n";
  const count = Math.ceil((BACKFILL_BYTES * 2) / line.length);
  fs.writeFileSync(file, line.repeat(count - 1) + "last old line\n");
  const f = follow(t, file);
  await waitFor("the last old line", () => f.got.at(-1)?.line === "last old line", 3000, 10);
  const size = fs.statSync(file).size;
  assert.ok(f.got.length > 1 && f.got.length <= BACKFILL_BYTES / line.length + 1, `${f.got.length} lines sent`);
  assert.ok(f.got[0].offset! >= size - BACKFILL_BYTES, "nothing older than the backfill window");
  assert.equal(f.got[0].offset! % line.length, 0, "starts at a line start");
  assert.equal(f.got[0].line, "x".repeat(99));
});

test("holds a partial line until its newline arrives", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "");
  const f = follow(t, file);
  fs.appendFileSync(file, "part one, ");
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(f.got.length, 0);
  fs.appendFileSync(file, "part two\nnext");
  await waitFor("1 line", () => f.got.length === 1, 3000, 10);
  assert.deepEqual(f.lines(), ["part one, part two"]);
  fs.appendFileSync(file, "\n");
  await waitFor("2 lines", () => f.got.length === 2, 3000, 10);
  assert.deepEqual(f.lines(), ["part one, part two", "next"]);
});

test("rotation by rename plus a new file: no line lost, the old file is read to its end first", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "");
  const f = follow(t, file);
  const want: string[] = [];
  for (let i = 0; i < 50; i++) {
    fs.appendFileSync(file, `a${i}\n`);
    want.push(`a${i}`);
  }
  fs.renameSync(file, `${file}.1`);
  // a writer that has not reopened yet still appends to the old file
  fs.appendFileSync(`${file}.1`, "late to old\n");
  want.push("late to old");
  fs.writeFileSync(file, "");
  for (let i = 0; i < 50; i++) {
    fs.appendFileSync(file, `b${i}\n`);
    want.push(`b${i}`);
  }
  await waitFor("every line written", () => f.got.length >= want.length, 3000, 10);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([...f.lines()].sort(), [...want].sort(), "every line exactly once");
  assert.deepEqual(f.lines().filter((l) => l.startsWith("b")), want.filter((l) => l.startsWith("b")), "new file in order");
  assert.equal(f.got.find((r) => r.line === "b0")!.offset, 0);
  assert.equal(f.got.find((r) => r.line === "b0")!.inode, String(fs.statSync(file).ino));
});

test("copytruncate: a truncated file is read again from the start", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "");
  const f = follow(t, file);
  fs.appendFileSync(file, "one that is long enough\ntwo that is long enough\n");
  await waitFor("2 lines", () => f.got.length === 2, 3000, 10);
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  await new Promise((r) => setTimeout(r, 100));
  fs.appendFileSync(file, "three\n");
  await waitFor("3 lines", () => f.got.length === 3, 3000, 10);
  assert.deepEqual(f.lines(), ["one that is long enough", "two that is long enough", "three"]);
  assert.equal(f.got[2].offset, 0);
});

test("resumes at the saved inode and offset after a restart: nothing lost, nothing twice", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "");
  const a = follow(t, file);
  fs.appendFileSync(file, "1\n2\n3\n");
  await waitFor("3 lines in a", () => a.got.length === 3, 3000, 10);
  await a.src.stop();
  const saved = a.position()!;
  fs.appendFileSync(file, "4\n5\n");
  const b = follow(t, file, saved);
  await waitFor("2 lines in b", () => b.got.length === 2, 3000, 10);
  fs.appendFileSync(file, "6\n");
  await waitFor("3 lines in b", () => b.got.length === 3, 3000, 10);
  assert.deepEqual([...a.lines(), ...b.lines()], ["1", "2", "3", "4", "5", "6"]);
});

test("after a restart across a rotation: the rest of the rotated file, then the new file from the start", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "");
  const a = follow(t, file);
  fs.appendFileSync(file, "1\n2\n");
  await waitFor("2 lines in a", () => a.got.length === 2, 3000, 10);
  await a.src.stop();
  const saved = a.position()!;
  fs.appendFileSync(file, "3\n");
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, "4\n5\n");
  const b = follow(t, file, saved);
  await waitFor("3 lines in b", () => b.got.length === 3, 3000, 10);
  assert.deepEqual([...a.lines(), ...b.lines()], ["1", "2", "3", "4", "5"]);
});

test("waits for a file that does not exist yet and reads it from the start when it appears", async (t) => {
  const { dir } = setup(t);
  const file = path.join(dir, "later", "keepalived.log");
  const f = follow(t, file);
  await new Promise((r) => setTimeout(r, 100));
  assert.match(f.src.status(), /waiting for .*keepalived\.log to appear/);
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, "first\nsecond\n");
  await waitFor("2 lines", () => f.got.length === 2, 3000, 10);
  assert.deepEqual(f.lines(), ["first", "second"]);
  assert.equal(f.src.status(), "ok");
});

test("an over-long line is cut to the limit and flagged; the next line is intact", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "");
  const f = follow(t, file);
  fs.appendFileSync(file, "x".repeat(LIMITS.maxLineLength + 100) + "\nshort\n" + "é".repeat(LIMITS.maxLineLength * 3) + "\nend\n");
  await waitFor("4 lines", () => f.got.length === 4, 3000, 10);
  assert.equal(f.got[0].line.length, LIMITS.maxLineLength);
  assert.equal(f.got[0].truncated, true);
  assert.equal(f.got[1].line, "short");
  assert.equal(f.got[1].truncated, undefined);
  assert.equal(f.got[2].truncated, true);
  assert.equal(f.got[3].line, "end");
  assert.equal(f.got[3].offset, LIMITS.maxLineLength + 101 + 6 + LIMITS.maxLineLength * 6 + 1);
});

test("a crash-damaged file: NUL padding before a line is skipped (even 64 KiB of it), NULs inside a line become U+FFFD; offsets stay exact", async (t) => {
  const { file } = setup(t);
  fs.writeFileSync(file, "before crash\n");
  const f = follow(t, file);
  await waitFor("1 line", () => f.got.length === 1, 3000, 10);
  const pad = Buffer.alloc(64 * 1024, 0);
  const after = "Keepalived_vrrp[7]: (VI_1) Entering BACKUP STATE (init)";
  fs.appendFileSync(file, Buffer.concat([pad, Buffer.from(`${after}\nin\u0000\u0000side\u0000\n`), Buffer.alloc(10, 0), Buffer.from("\nlast\n")]));
  await waitFor("5 lines", () => f.got.length === 5, 3000, 10);
  assert.deepEqual(f.lines(), ["before crash", after, "in\ufffdside\ufffd", "", "last"]);
  assert.equal(f.got[1].offset, 13 + pad.length, "the line's offset is where its text starts");
  assert.equal(f.got[1].truncated, undefined, "padding does not make the line over-long");
  for (const r of f.got) assert.ok(!r.line.includes("\u0000"));
  assert.equal(f.position()!.offset, fs.statSync(file).size);
});
