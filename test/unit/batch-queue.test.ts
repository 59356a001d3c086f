/**
 * The server's per-agent batch queue (group commit): one store at a time in
 * arrival order, batches waiting meanwhile merged into the next store, each
 * answered on its own and only after the store that holds it resolved.
 * Driven by hand (deferred stores): no timing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BatchQueue, type StoredOutcome } from "../../server/ingest/batch-queue";
import type { AgentRecord, BatchAck } from "../../server/protocol";

const log = (seq: number): AgentRecord => ({ kind: "log", seq, ts: 1_700_000_000_000, source: "file", line: `line ${seq}` });

interface Call {
  seqs: number[];
  resolve: (r: StoredOutcome) => void;
  reject: (e: unknown) => void;
}

function harness(maxRecords = 1000) {
  const calls: Call[] = [];
  const failures: Array<{ batches: number }> = [];
  const q = new BatchQueue({
    maxRecords,
    store: (records) =>
      new Promise<StoredOutcome>((resolve, reject) => calls.push({ seqs: records.map((r) => r.seq), resolve, reject })),
    failure: (e, batches) => {
      failures.push({ batches });
      const permanent = (e as Error).message === "bad data";
      return { permanent, reply: { ok: false, code: permanent ? "invalid_message" : "unavailable", message: (e as Error).message } };
    },
  });
  const replies = new Map<string, BatchAck>();
  const push = (name: string, seqs: number[]) => q.push({ records: seqs.map(log), reply: (r) => replies.set(name, r) });
  return { q, calls, replies, push, failures };
}

/** a store that wrote every seq it got once (the first time a seq appears), as storeBatch does */
const wrote = (seqs: number[], already: number[] = []): StoredOutcome => {
  const fresh = [...new Set(seqs)].filter((s) => !already.includes(s));
  return { stored: fresh.length, duplicates: seqs.length - fresh.length, logs: fresh.map((seq) => ({ seq })), vips: [], configs: [], gaps: [] };
};

const settle = () => new Promise<void>((r) => setImmediate(r));

test("batches arriving during a store wait, then share ONE store; each is answered with its own seqs, only after that store", async () => {
  const h = harness();
  h.push("a", [1]);
  assert.deepEqual(h.calls.map((c) => c.seqs), [[1]], "an idle queue stores at once");
  h.push("b", [2, 3]);
  h.push("c", [3, 4]); // seq 3 again (a resend): stored once
  h.push("d", [5]);
  assert.equal(h.calls.length, 1, "one store at a time");
  assert.equal(h.q.size, 4);
  await settle();
  assert.equal(h.replies.size, 0, "nothing is acknowledged before its store resolved");
  h.calls[0].resolve(wrote([1]));
  await settle();
  assert.deepEqual(h.replies.get("a"), { ok: true, acked: [1], stored: 1, duplicates: 0 });
  assert.deepEqual(h.calls.map((c) => c.seqs), [[1], [2, 3, 3, 4, 5]], "the waiting batches are merged, in arrival order");
  assert.equal(h.replies.size, 1, "the merged batches wait for their store");
  h.calls[1].resolve(wrote([2, 3, 3, 4, 5]));
  await settle();
  assert.deepEqual(h.replies.get("b"), { ok: true, acked: [2, 3], stored: 2, duplicates: 0 });
  assert.deepEqual(h.replies.get("c"), { ok: true, acked: [3, 4], stored: 1, duplicates: 1 });
  assert.deepEqual(h.replies.get("d"), { ok: true, acked: [5], stored: 1, duplicates: 0 });
  assert.equal(h.q.size, 0);
  assert.equal(h.q.commits, 2);
});

test("a merged store never exceeds maxRecords; the rest goes in the next one", async () => {
  const h = harness(3);
  h.push("a", [1]);
  h.push("b", [2, 3]);
  h.push("c", [4]);
  h.push("d", [5, 6, 7]);
  h.calls[0].resolve(wrote([1]));
  await settle();
  assert.deepEqual(h.calls.map((c) => c.seqs), [[1], [2, 3, 4]]);
  h.calls[1].resolve(wrote([2, 3, 4]));
  await settle();
  assert.deepEqual(h.calls.map((c) => c.seqs), [[1], [2, 3, 4], [5, 6, 7]]);
  h.calls[2].resolve(wrote([5, 6, 7]));
  await settle();
  assert.equal(h.replies.size, 4);
  assert.equal(h.q.size, 0);
});

test("a merged group refused for its data is retried batch by batch: only the bad batch is refused", async () => {
  const h = harness();
  h.push("a", [1]);
  h.push("b", [2]);
  h.push("bad", [3]);
  h.push("c", [4]);
  h.calls[0].resolve(wrote([1]));
  await settle();
  h.calls[1].reject(new Error("bad data"));
  await settle();
  assert.deepEqual(h.calls.slice(2).map((c) => c.seqs), [[2]], "then one by one, in order");
  h.calls[2].resolve(wrote([2]));
  await settle();
  h.calls[3].reject(new Error("bad data"));
  await settle();
  h.calls[4].resolve(wrote([4]));
  await settle();
  assert.deepEqual(h.calls.map((c) => c.seqs), [[1], [2, 3, 4], [2], [3], [4]]);
  assert.deepEqual(h.replies.get("b"), { ok: true, acked: [2], stored: 1, duplicates: 0 });
  assert.deepEqual(h.replies.get("bad"), { ok: false, code: "invalid_message", message: "bad data" });
  assert.deepEqual(h.replies.get("c"), { ok: true, acked: [4], stored: 1, duplicates: 0 });
  assert.equal(h.q.size, 0);
});

test("a transient failure is answered to every batch of the group (they are resent); the queue goes on", async () => {
  const h = harness();
  h.push("a", [1]);
  h.push("b", [2]);
  h.push("c", [3]);
  h.calls[0].resolve(wrote([1]));
  await settle();
  h.calls[1].reject(new Error("database away"));
  await settle();
  assert.equal(h.calls.length, 2, "not retried by the server: the agents resend");
  for (const n of ["b", "c"]) assert.deepEqual(h.replies.get(n), { ok: false, code: "unavailable", message: "database away" });
  assert.deepEqual(h.failures, [{ batches: 2 }]);
  h.push("b again", [2, 3]);
  assert.deepEqual(h.calls[2].seqs, [2, 3]);
  h.calls[2].resolve(wrote([2, 3]));
  await settle();
  assert.deepEqual(h.replies.get("b again"), { ok: true, acked: [2, 3], stored: 2, duplicates: 0 });
  assert.equal(h.q.size, 0);
});
