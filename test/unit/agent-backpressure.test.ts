/**
 * Issue 18: every buffer on the agent's path is bounded. The outbox says when
 * sources must stop (hasRoom / "room"); the file source stops reading there and
 * resumes, in order, across a rotation; the helper's stdout splitter drops a
 * JSON line over MAX_HELPER_LINE whole; the supervisor stops reading a helper's
 * stdout while paused (the helper blocks, nothing piles up in the agent).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MAX_PENDING_BYTES, Outbox, SOURCE_HIGH_WATER_DISK, type NewRecord } from "../../agent/outbox";
import { FileSource, MAX_LINE_BYTES, READ_CHUNK_BYTES } from "../../agent/sources/file";
import { LineSplitter } from "../../agent/lines";
import { MAX_HELPER_LINE, Supervisor } from "../../agent/supervise";
import { silentLogger } from "../../agent/log";
import type { LogRecordMsg } from "../../server/protocol";
import { waitFor } from "../helpers/wait";
import { tmpDir } from "../helpers/tmp";

const log = silentLogger();
type Rec = Omit<LogRecordMsg, "seq">;

const rec = (line: string): NewRecord => ({ kind: "log", ts: 1_700_000_000_000, source: "file", line });

test("outbox: no room at the high-water mark of unacknowledged records, 'room' once acks bring it under the low-water mark", async (t) => {
  const ob = new Outbox({ dir: tmpDir(t, "kam-bp-"), maxBytes: 64 << 20, log, highWaterRecords: 100, lowWaterRecords: 50 });
  let rooms = 0;
  ob.on("room", () => rooms++);
  for (let i = 0; i < 99; i++) ob.append(rec(`l${i}`));
  assert.equal(ob.hasRoom(), true);
  ob.append(rec("l99"));
  assert.equal(ob.hasRoom(), false, "100 unacknowledged records: stop");
  await ob.flush();
  assert.equal(rooms, 0, "a flush alone frees no room (nothing acknowledged)");
  ob.ack(Array.from({ length: 40 }, (_, i) => i + 1));
  assert.equal(rooms, 0, "60 left: still above the low-water mark (hysteresis)");
  assert.equal(ob.depth(), 60);
  ob.ack(Array.from({ length: 20 }, (_, i) => i + 41));
  assert.equal(rooms, 1, "40 left: room");
  assert.equal(ob.hasRoom(), true);
  ob.ack([61, 62]);
  assert.equal(rooms, 1, "'room' only after a refusal");
  await ob.close();
});

test("outbox: no room once MAX_PENDING_BYTES wait for their write, or the files fill SOURCE_HIGH_WATER_DISK of maxBytes", async (t) => {
  const big = "x".repeat(8000);
  const ob = new Outbox({ dir: tmpDir(t, "kam-bp-"), maxBytes: 64 << 20, log });
  let rooms = 0;
  ob.on("room", () => rooms++);
  let n = 0;
  while (ob.hasRoom()) {
    ob.append(rec(big));
    n++;
  }
  assert.ok(ob.pendingBytesNow >= MAX_PENDING_BYTES && n <= MAX_PENDING_BYTES / 8000 + 1, `stopped after ${n} records in memory`);
  await ob.flush();
  assert.equal(rooms, 1, "written: room again");

  await ob.close();
  const small = new Outbox({ dir: tmpDir(t, "kam-bp-"), maxBytes: 1 << 20, log });
  let m = 0;
  while (small.hasRoom()) {
    small.append(rec(big));
    m++;
    await small.flush();
  }
  assert.ok(small.diskBytes() >= (1 << 20) * SOURCE_HIGH_WATER_DISK && small.diskBytes() < 1 << 20, `stopped at ${small.diskBytes()} bytes on disk`);
  assert.equal(small.stats.droppedRecords, 0, "the sources stop before the outbox would drop anything");
  assert.ok(m > 50);
  await small.close();
});

test("outbox: closed segments count whole while any of their records waits (acks out of order, several batches in flight), so the files never outgrow maxBytes", async (t) => {
  // a 1 MiB outbox: 64 KiB segments of ~8 KiB records; every other record acknowledged (the acks of
  // interleaved batches): each closed segment stays on disk whole although half of it is acknowledged
  const big = "x".repeat(8000);
  const ob = new Outbox({ dir: tmpDir(t, "kam-bp-"), maxBytes: 1 << 20, log });
  let seq = 0;
  while (ob.hasRoom()) {
    ob.append(rec(big));
    seq++;
    await ob.flush();
    if (seq % 2 === 0) ob.ack([seq]);
  }
  assert.ok(ob.diskBytes() < 1 << 20, `stopped at ${ob.diskBytes()} bytes on disk`);
  assert.equal(ob.stats.droppedRecords, 0, "nothing dropped: the sources stopped first");
  assert.ok(ob.backlogBytes() >= ob.diskBytes() - 70_000, "what backpressure sees is what is on disk (but the active segment's acknowledged share)");
  await ob.close();
});

test("file source: stops reading where the outbox has no room (offset waits), resumes on resume(), and keeps order across a rotation", async (t) => {
  const dir = tmpDir(t, "kam-bp-");
  const file = path.join(dir, "keepalived.log");
  fs.writeFileSync(file, "");
  const got: Rec[] = [];
  // room for the first 1,000 lines, then none (as an outbox at its high-water mark)
  let limit = 1000;
  const src = new FileSource({ file, log, pollMs: 20, rotateGraceMs: 50, room: () => got.length < limit, emit: (r) => got.push(r) });
  src.start();
  t.after(() => src.stop());
  await new Promise((r) => setTimeout(r, 50));
  const N = 20_000; // ~1.3 MB: many READ_CHUNK_BYTES reads
  fs.appendFileSync(file, Array.from({ length: N }, (_, i) => `a ${String(i).padStart(6, "0")} ${"y".repeat(50)}\n`).join(""));
  await waitFor("the first lines", () => got.length >= 1000, 3000, 5);
  await new Promise((r) => setTimeout(r, 200));
  const stalled = got.length;
  assert.ok(stalled < N, "stopped before the end of the file");
  assert.ok(stalled - 1000 <= READ_CHUNK_BYTES / 60, `at most one chunk beyond the mark (${stalled} lines)`);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(got.length, stalled, "no line read while there is no room (polls and watch events included)");
  assert.match(src.status(), /backlog/);
  assert.ok(src.stats.pauses >= 1);

  // rotated while paused: the old file must be finished first
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, "b first line of the new file\n");
  await new Promise((r) => setTimeout(r, 150));
  limit = Infinity;
  src.resume();
  await waitFor("the new file's line", () => got.some((r) => r.line.startsWith("b ")), 5000, 5);
  const lines = got.map((r) => r.line);
  assert.equal(lines.length, N + 1, "every line once");
  assert.deepEqual(lines.slice(0, N), Array.from({ length: N }, (_, i) => `a ${String(i).padStart(6, "0")} ${"y".repeat(50)}`), "the old file whole and in order");
  assert.equal(lines[N], "b first line of the new file", "then the new file");
});

test("file source: an endless line holds at most MAX_LINE_BYTES (sent cut and flagged, its rest dropped)", async (t) => {
  const dir = tmpDir(t, "kam-bp-");
  const file = path.join(dir, "keepalived.log");
  fs.writeFileSync(file, "");
  const got: Rec[] = [];
  const src = new FileSource({ file, log, pollMs: 20, emit: (r) => got.push(r) });
  src.start();
  t.after(() => src.stop());
  await new Promise((r) => setTimeout(r, 50));
  fs.appendFileSync(file, "z".repeat(MAX_LINE_BYTES * 3) + "\nafter\n");
  await waitFor("the line after the over-long one", () => got.some((r) => r.line === "after"), 5000, 5);
  assert.equal(got.length, 2);
  assert.equal(got[0].truncated, true);
});

test("LineSplitter 'drop' mode: a line over the bound is dropped whole and counted; memory holds at most the bound plus a chunk", () => {
  const s = new LineSplitter(100, "drop");
  assert.deepEqual(s.push('{"a":1}\n{"b":'), ['{"a":1}']);
  assert.deepEqual(s.push("2}\n"), ['{"b":2}']);
  // 1000 characters without a newline, in chunks: dropped as they come, then the next line is whole
  for (let i = 0; i < 10; i++) assert.deepEqual(s.push("x".repeat(100)), []);
  assert.equal((s as unknown as { rest: string }).rest.length, 0, "nothing of the over-long line held");
  assert.deepEqual(s.push('xx\n{"c":3}\n'), ['{"c":3}']);
  assert.equal(s.dropped, 1);
  // an over-long line inside one chunk
  assert.deepEqual(s.push(`${"y".repeat(150)}\n{"d":4}\n`), ['{"d":4}']);
  assert.equal(s.dropped, 2);
  assert.equal(s.flush(), null);
  assert.ok(MAX_HELPER_LINE >= 64 * 1024, "a real journal entry (keepalived lines are a few KiB) fits");
});

test("Supervisor.pause(): the helper's stdout is not read while paused (the helper blocks), resume() delivers the rest", async (t) => {
  let n = 0;
  const sup = new Supervisor({ name: "yes", command: "sh", args: () => ["-c", "i=0; while [ $i -lt 200000 ]; do echo line $i; i=$((i+1)); done; sleep 30"], log, onLine: () => n++ });
  t.after(() => sup.stop());
  sup.start();
  await waitFor("the first lines", () => n > 0, 5000, 5);
  sup.pause();
  await new Promise((r) => setTimeout(r, 100));
  const held = n;
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(n - held < 5000, `at most one chunk of lines after the pause took effect (${n - held})`);
  assert.ok(n < 200_000);
  sup.resume();
  await waitFor("all lines after resume", () => n === 200_000, 30_000, 5);
});
