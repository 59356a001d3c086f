import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeField, journalctlArgs, journalEntryToRecord } from "../../agent/sources/journal";
import { DEFAULT_JOURNAL_MATCHES } from "../../agent/options";
import { LIMITS, LogRecordMsg } from "../../server/protocol";

const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/agent/hx1.journal.head.json");

test("journalctl arguments: from the end on first start, after the saved cursor (no tail limit) later", () => {
  assert.deepEqual(journalctlArgs({ matches: DEFAULT_JOURNAL_MATCHES, directory: null, cursor: null }), [
    "--output=json", "--output-fields=MESSAGE,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID", "--all", "--follow", "--no-pager", "--quiet", "--lines=1000", ...DEFAULT_JOURNAL_MATCHES,
  ]);
  const later = journalctlArgs({ matches: ["_COMM=keepalived"], directory: "/tmp/j", cursor: "s=1;i=2" });
  assert.deepEqual(later.slice(6), ["--directory", "/tmp/j", "--after-cursor=s=1;i=2", "--no-tail", "_COMM=keepalived"]);
  assert.ok(!later.some((a) => a.startsWith("--lines")));
});

test("maps real keepalived 2.2.7 journal entries: ts in ms from microseconds, cursor, ident, pid, message", () => {
  const lines = fs.readFileSync(fixture, "utf8").trim().split("\n");
  const recs = lines.map((l) => journalEntryToRecord(JSON.parse(l)));
  assert.equal(recs.length, 40);
  for (const r of recs) {
    assert.ok(r);
    assert.equal(LogRecordMsg.safeParse({ ...r, seq: 1 }).success, true);
  }
  const first = JSON.parse(lines[0]);
  assert.deepEqual(recs[0], {
    kind: "log",
    ts: 1795460961522.208,
    source: "journal",
    line: "Starting Keepalived v2.2.7 (01/16,2022)",
    cursor: first.__CURSOR,
    ident: "Keepalived",
    pid: 12321,
  });
  const master = recs.find((r) => r!.line === "(VI_WEB) Entering MASTER STATE")!;
  assert.equal(master.ident, "Keepalived_vrrp");
  assert.equal(master.pid, 12335);
});

test("decodes MESSAGE given as bytes, repeated fields, and falls back to _PID; unusable entries give null", () => {
  assert.equal(decodeField([99, 97, 102, 195, 169, 1]), "café\u0001");
  assert.equal(decodeField(["a", [98]]), "a\nb");
  assert.equal(decodeField(null), null);
  const r = journalEntryToRecord({ __CURSOR: "c1", __REALTIME_TIMESTAMP: "1000001", MESSAGE: [104, 105, 10], _PID: "77" })!;
  assert.equal(r.line, "hi");
  assert.equal(r.ts, 1000.001);
  assert.equal(r.pid, 77);
  assert.equal(r.ident, undefined);
  const long = journalEntryToRecord({ __CURSOR: "c2", MESSAGE: "x".repeat(LIMITS.maxLineLength + 5) })!;
  assert.equal(long.truncated, true);
  assert.equal(long.line.length, LIMITS.maxLineLength);
  assert.ok(Math.abs(long.ts - Date.now()) < 5000, "no __REALTIME_TIMESTAMP: the read time");
  for (const bad of [null, 5, "x", {}, { MESSAGE: "no cursor" }, { __CURSOR: "c", MESSAGE: null }]) {
    assert.equal(journalEntryToRecord(bad), null, `unusable entry ${JSON.stringify(bad)}`);
  }
  const badPid = journalEntryToRecord({ __CURSOR: "c", MESSAGE: "m", SYSLOG_PID: "-1" });
  assert.ok(badPid, "an entry with an invalid pid is still a line");
  assert.equal(badPid.line, "m");
  assert.equal(badPid.pid, undefined, "an invalid SYSLOG_PID is dropped, not stored");
});

test("NUL and lone surrogates in a journal MESSAGE or identifier are replaced (the server cannot store them)", () => {
  const rec = journalEntryToRecord({
    __CURSOR: "s=1;i=2", __REALTIME_TIMESTAMP: "1700000000000000",
    MESSAGE: [0, 0, ...Buffer.from("(VI_1) Entering MASTER STATE"), 0, 0, 0x41], SYSLOG_IDENTIFIER: "Keep\u0000alived\ud800",
  });
  assert.ok(rec);
  assert.equal(rec.line, "(VI_1) Entering MASTER STATE\ufffdA");
  assert.equal(rec.ident, "Keep\ufffdalived\ufffd");
});
