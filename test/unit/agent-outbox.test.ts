import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Outbox, type NewRecord } from "../../agent/outbox";
import { silentLogger } from "../../agent/log";
import type { AgentRecord } from "../../server/protocol";
import { tmpDir } from "../helpers/tmp";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const log = silentLogger();

const rec = (line: string): NewRecord => ({ kind: "log", ts: 1_700_000_000_000, source: "file", line });
const lineOf = (r: AgentRecord) => (r.kind === "log" ? r.line : null);

test("seqs keep increasing across reopen, even after everything was acknowledged", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  let ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  assert.deepEqual([ob.append(rec("a")), ob.append(rec("b")), ob.append(rec("c"))], [1, 2, 3]);
  await ob.close();
  ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  assert.deepEqual(ob.peek(10).map((p) => p.seq), [1, 2, 3]);
  assert.equal(ob.append(rec("d")), 4);
  await ob.flush();
  ob.ack([1, 2, 3, 4]);
  assert.equal(ob.depth(), 0);
  await ob.close();
  ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  assert.equal(ob.peek(10).length, 0);
  assert.equal(ob.append(rec("e")), 5);
  await ob.close();
});

test("peek hands out only flushed records, oldest first, and ack removes them for good", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  let ob = new Outbox({ dir, maxBytes: 1 << 20, segmentBytes: 4096, log });
  for (let i = 1; i <= 200; i++) {
    ob.append(rec(`line ${i} ${"x".repeat(60)}`));
    if (i === 190) {
      assert.equal(ob.peek(1000).length, 180, "nothing is handed out before its fsync");
      assert.equal(ob.depth(), 190);
    }
    if (i % 20 === 0) await ob.flush();
  }
  const all = ob.peek(1000);
  assert.deepEqual(all.map((p) => p.seq), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.equal(lineOf(all[41].record), `line 42 ${"x".repeat(60)}`);
  const segsBefore = fs.readdirSync(path.join(dir, "outbox")).filter((f) => f.startsWith("seg-")).length;
  assert.ok(segsBefore > 2, `several segments (got ${segsBefore})`);
  assert.equal(ob.ack(Array.from({ length: 150 }, (_, i) => i + 1)), 150);
  assert.equal(ob.ack([1, 2, 3]), 0, "acking twice counts once");
  assert.deepEqual(ob.peek(5).map((p) => p.seq), [151, 152, 153, 154, 155]);
  assert.deepEqual(ob.peek(3, { exclude: (s) => s < 160 }).map((p) => p.seq), [160, 161, 162]);
  const segsAfter = fs.readdirSync(path.join(dir, "outbox")).filter((f) => f.startsWith("seg-")).length;
  assert.ok(segsAfter < segsBefore, "fully acknowledged segments are deleted");
  ob.ack([170, 171]);
  await ob.close();
  ob = new Outbox({ dir, maxBytes: 1 << 20, segmentBytes: 4096, log });
  const left = ob.peek(1000).map((p) => p.seq);
  assert.equal(left.length, 48);
  assert.equal(left[0], 151);
  assert.ok(!left.includes(170) && !left.includes(171), "acks survive a reopen");
  await ob.close();
});

test("a full outbox drops the oldest unacked records and reports them in a gap record with exact counts", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  const maxBytes = 32 * 1024;
  const ob = new Outbox({ dir, maxBytes, segmentBytes: 4096, log });
  const appended: number[] = [];
  for (let i = 0; i < 600; i++) {
    appended.push(ob.append(rec(`r${i} ${"y".repeat(150)}`)));
    if (i === 30) {
      await ob.flush();
      ob.ack([1, 2, 3, 4, 5]); // acked records are not counted as dropped
    }
    if (i % 25 === 0) await ob.flush();
  }
  await ob.flush();
  assert.ok(ob.diskBytes() <= maxBytes, `disk use ${ob.diskBytes()} stays within ${maxBytes}`);
  const left = ob.peek(100_000).map((p) => p.record);
  const gaps = left.filter((r) => r.kind === "gap");
  assert.ok(gaps.length > 0, "a gap record was enqueued");
  const kept = new Set(left.filter((r) => r.kind === "log").map((r) => r.seq));
  const dropped = appended.filter((s) => s > 5 && !kept.has(s));
  assert.ok(dropped.length > 0);
  let reported = 0;
  for (const g of gaps) {
    if (g.kind !== "gap") continue;
    assert.equal(g.reason, "outbox full");
    assert.ok(g.seq > g.toSeq && g.fromSeq <= g.toSeq);
    reported += g.dropped;
  }
  // a gap record that is itself dropped is folded into the next one, so the counts add up exactly
  assert.equal(reported, dropped.length, "the gap records count exactly the records dropped");
  for (const s of dropped) {
    assert.ok(gaps.some((g) => g.kind === "gap" && g.fromSeq <= s && s <= g.toSeq), `dropped seq ${s} lies in a reported gap`);
  }
  assert.ok(Math.max(...dropped) < Math.min(...kept), "the oldest records were the ones dropped");
  assert.equal(ob.stats.droppedRecords, dropped.length);
  await ob.close();
});

test("a torn last line (crash mid-write) is cut off and the records before it are intact", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  const ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  for (let i = 1; i <= 5; i++) ob.append(rec(`line ${i}`), { key: "file", value: { offset: i * 100 } });
  await ob.flush();
  // simulated crash: no close(); the last line loses its end
  const seg = path.join(dir, "outbox", fs.readdirSync(path.join(dir, "outbox")).find((f) => f.startsWith("seg-"))!);
  fs.truncateSync(seg, fs.statSync(seg).size - 12);
  const re = new Outbox({ dir, maxBytes: 1 << 20, log });
  assert.ok(re.stats.tornBytes > 0);
  const got = re.peek(100);
  assert.deepEqual(got.map((p) => lineOf(p.record)), ["line 1", "line 2", "line 3", "line 4"]);
  assert.deepEqual(re.position("file"), { offset: 400 }, "the position is that of the last intact record");
  const next = re.append(rec("after"));
  assert.equal(next, 5);
  await re.flush();
  assert.deepEqual(re.peek(100).map((p) => lineOf(p.record)), ["line 1", "line 2", "line 3", "line 4", "after"]);
  // garbage without a newline at the end (e.g. zeros after a power loss) is cut as well
  fs.appendFileSync(seg, Buffer.alloc(40));
  await re.close();
  const again = new Outbox({ dir, maxBytes: 1 << 20, log });
  assert.equal(again.peek(100).length, 5);
  await again.close();
  void ob;
});

const CHILD = `
import { Outbox } from ${JSON.stringify(path.join(repo, "agent/outbox.ts"))};
import { silentLogger } from ${JSON.stringify(path.join(repo, "agent/log.ts"))};
const ob = new Outbox({ dir: process.argv[2], maxBytes: 1 << 30, segmentBytes: 16384, log: silentLogger() });
let n = 0;
for (;;) {
  const batch = [];
  const k = 1 + Math.floor(Math.random() * 40);
  for (let i = 0; i < k; i++) { n++; batch.push([ob.append({ kind: "log", ts: Date.now(), source: "file", line: "n" + n + " " + "z".repeat(n % 300) }, { key: "file", value: n }), n]); }
  await ob.flush();
  process.stdout.write("F " + batch.map((b) => b.join(":")).join(",") + "\\n");
  if (n > 300 && Math.random() < 0.3) {
    const seqs = ob.peek(50).map((p) => p.seq);
    // announced first: a kill between ack() and the "A" line leaves them acknowledged but unreported
    process.stdout.write("P " + seqs.join(",") + "\\n");
    ob.ack(seqs);
    process.stdout.write("A " + seqs.join(",") + "\\n");
  }
}
`;

test("after a real kill -9 while appending, every record reported flushed is there exactly once", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  const script = path.join(dir, "child.mts");
  fs.writeFileSync(script, CHILD);
  const state = path.join(dir, "state");
  const child = spawn(process.execPath, ["--import", "tsx", script, state], { cwd: repo, stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  // let it run until it has flushed a good amount, then kill at an arbitrary moment
  const t0 = Date.now();
  while (out.split("\n").length < 60 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));

  const flushed = new Map<number, number>();
  const acked = new Set<number>();
  const pending = new Set<number>();
  const complete = out.split("\n").slice(0, -1); // a line cut by the kill is not a report
  for (const l of complete) {
    if (l.startsWith("F ")) for (const p of l.slice(2).split(",")) {
      const [s, n] = p.split(":").map(Number);
      if (Number.isFinite(n)) flushed.set(s, n);
    }
    if (l.startsWith("A ")) for (const s of l.slice(2).split(",")) if (s) acked.add(Number(s));
    if (l.startsWith("P ")) for (const s of l.slice(2).split(",")) if (s) pending.add(Number(s));
  }
  assert.ok(flushed.size > 100, `the child flushed records before the kill (${flushed.size})`);

  const ob = new Outbox({ dir: state, maxBytes: 1 << 30, log });
  const got = ob.peek(1_000_000);
  const seen = new Map<number, string>();
  for (const p of got) {
    assert.ok(!seen.has(p.seq), `seq ${p.seq} appears once`);
    seen.set(p.seq, lineOf(p.record)!);
  }
  const seqs = got.map((p) => p.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in seq order");
  let checked = 0;
  for (const [s, n] of flushed) {
    if (acked.has(s)) {
      assert.ok(!seen.has(s), `acknowledged seq ${s} stays deleted`);
      continue;
    }
    if (pending.has(s)) continue; // the kill may have come between ack() and its report: either outcome is right
    assert.ok(seen.has(s), `flushed seq ${s} survived the kill`);
    assert.ok(seen.get(s)!.startsWith(`n${n} `), `seq ${s} holds its own line`);
    checked++;
  }
  assert.ok(checked > 50);
  const lastFlushedN = Math.max(...flushed.values());
  assert.ok((ob.position("file") as number) >= lastFlushedN, "the source position covers every flushed record");
  const next = ob.append(rec("after restart"));
  assert.ok(next > Math.max(...flushed.keys(), ...seen.keys()), "new seqs continue above everything written before");
  await ob.close();
});

/** turns of the event loop until `done()` (fsync runs in the thread pool); a bound on turns, not on time */
async function turnsUntil(done: () => boolean, maxTurns = 100_000): Promise<boolean> {
  for (let i = 0; i < maxTurns && !done(); i++) await new Promise<void>((r) => setImmediate(r));
  return done();
}

test("an append on an idle outbox is written and fsynced without any timer (no coalescing delay on the latency path)", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  const ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  // no timer can fire: only the event loop's own turns and the fsync's completion drive the flush
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  let flushedTo = 0;
  ob.on("flushed", (s: number) => (flushedTo = s));
  const a = ob.append(rec("a"));
  const b = ob.append(rec("b")); // same turn: same write and fsync
  assert.equal(ob.peek(10).length, 0, "nothing is handed out before its fsync");
  assert.ok(await turnsUntil(() => flushedTo >= b), "flushed with timers frozen");
  assert.deepEqual(ob.peek(10).map((p) => p.seq), [a, b]);
  t.mock.timers.reset();
  await ob.close();
});

test("records appended while an fsync is under way go together in the next write (group commit), none handed out early", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  const ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  const flushes: number[] = [];
  ob.on("flushed", (s: number) => flushes.push(s));
  ob.append(rec("first"));
  // let the first write start (next turn), then append while its fsync is in flight
  await new Promise<void>((r) => setImmediate(r));
  const during = [ob.append(rec("x")), ob.append(rec("y")), ob.append(rec("z"))];
  if (flushes.length === 0) {
    assert.deepEqual(ob.peek(10).map((p) => p.seq), [], "the first record is not handed out before its fsync");
  }
  assert.ok(await turnsUntil(() => flushes.at(-1) === during[2]));
  assert.deepEqual(ob.peek(10).map((p) => p.seq), [1, ...during]);
  assert.ok(flushes.length <= 2, `at most two fsyncs for the four records (got ${flushes.length})`);
  await ob.close();
});

test("an unacknowledged record survives any number of reopens; only its ack deletes it", async (t) => {
  const dir = tmpDir(t, "kam-outbox-");
  let ob = new Outbox({ dir, maxBytes: 1 << 20, segmentBytes: 64 * 1024, log });
  const s = ob.append(rec("sent, not acked"));
  await ob.flush();
  assert.deepEqual(ob.peek(10).map((p) => p.seq), [s]);
  for (let i = 0; i < 3; i++) {
    await ob.close();
    ob = new Outbox({ dir, maxBytes: 1 << 20, segmentBytes: 64 * 1024, log });
    assert.deepEqual(ob.peek(10).map((p) => p.seq), [s], `still there after reopen ${i + 1}`);
  }
  assert.equal(ob.ack([s + 1]), 0, "an ack for a seq the outbox never flushed changes nothing");
  assert.equal(ob.ack([s]), 1);
  await ob.close();
  ob = new Outbox({ dir, maxBytes: 1 << 20, log });
  assert.equal(ob.peek(10).length, 0);
  await ob.close();
});
