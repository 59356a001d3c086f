import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLine, parseMessage } from "../../server/parser/index";
import type { KeepalivedEvent } from "../../server/parser/types";
import { type ConsoleFile, type JournalFile, consoleLines, journalRecords } from "./parser-cases";

/** "MASTER", or "BACKUP(init)" for the startup line, per instance in log order. */
function stateSequences(events: Array<KeepalivedEvent | null>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    if (e?.type !== "state") continue;
    (out[e.instance] ??= []).push(e.init ? `${e.state}(init)` : e.state);
  }
  return out;
}

const consoleEvents = (file: ConsoleFile) => consoleLines(file).map((l) => parseLine(l).event);
const journalEvents = (file: JournalFile) => journalRecords(file).map((r) => parseMessage(r.MESSAGE));

// Expected sequences read off the captures by hand (see the "Entering ... STATE" lines).
test("two-node-console node1: VI_1 goes BACKUP(init), MASTER, BACKUP (script failed), MASTER, FAULT (eth0 down), BACKUP, MASTER", () => {
  assert.deepEqual(stateSequences(consoleEvents("node1")), {
    VI_1: ["BACKUP(init)", "MASTER", "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"],
  });
});

test("two-node-console node2: VI_1 takes over while node1's script fails, faults with eth0, and takes over when node1 stops", () => {
  assert.deepEqual(stateSequences(consoleEvents("node2")), {
    VI_1: ["BACKUP(init)", "MASTER", "BACKUP", "FAULT", "BACKUP", "MASTER", "BACKUP", "MASTER", "BACKUP"],
  });
});

test("three-node-journald hx1: VI_WEB flaps with its check script, VI_DB stays BACKUP", () => {
  assert.deepEqual(stateSequences(journalEvents("hx1")), {
    VI_WEB: ["BACKUP(init)", "MASTER", "BACKUP", "MASTER", "BACKUP", "MASTER", "BACKUP", "MASTER"],
    VI_DB: ["BACKUP(init)"],
  });
});

test("three-node-journald hx2: takes VI_WEB whenever hx1 drops to priority 90, loses VI_DB to hx3", () => {
  assert.deepEqual(stateSequences(journalEvents("hx2")), {
    VI_WEB: ["BACKUP(init)", "MASTER", "BACKUP", "MASTER", "BACKUP", "MASTER", "BACKUP"],
    VI_DB: ["BACKUP(init)", "MASTER", "BACKUP"],
  });
});

test("three-node-journald hx3: becomes VI_WEB MASTER while partitioned, back to BACKUP on heal; holds VI_DB", () => {
  assert.deepEqual(stateSequences(journalEvents("hx3")), {
    VI_WEB: ["BACKUP(init)", "MASTER", "BACKUP"],
    VI_DB: ["BACKUP(init)", "MASTER"],
  });
});

test("node1: link, script and priority events appear in log order with their values", () => {
  const events = consoleEvents("node1");
  assert.deepEqual(events.filter((e) => e?.type === "link"), [
    { type: "link", iface: "eth0", up: false },
    { type: "link", iface: "eth0", up: true },
  ]);
  assert.deepEqual(
    events.flatMap((e) => (e?.type === "script" ? [`${e.result}${e.code === undefined ? "" : ":" + e.code}`] : [])),
    ["succeeded", "returned:1", "failed:1", "returned:0", "succeeded"],
  );
  assert.deepEqual(events.flatMap((e) => (e?.type === "priority" ? [[e.from, e.to]] : [])), [[150, 90], [90, 150]]);
  assert.deepEqual(events.flatMap((e) => (e?.type === "daemon" ? [e.what] : [])), ["starting", "started", "stopping", "stopped"]);
});

test("hx1: the effective priority of VI_WEB alternates 140 -> 90 -> 140 three times", () => {
  const prios = journalEvents("hx1").flatMap((e) => (e?.type === "priority" ? [`${e.instance}:${e.from}->${e.to}`] : []));
  assert.deepEqual(prios, Array(3).fill(["VI_WEB:140->90", "VI_WEB:90->140"]).flat());
});

test("every console line parses without throwing, with its timestamp read as UTC and no syslog identity", () => {
  for (const file of ["node1", "node2"] as const) {
    let prev = -Infinity;
    for (const line of consoleLines(file)) {
      const p = parseLine(line);
      assert.notEqual(p.ts, null, line);
      assert.ok((p.ts as number) >= prev, `time went backwards at ${line}`);
      prev = p.ts as number;
      assert.equal(p.ident, null);
      assert.equal(p.pid, null);
      assert.ok(line.endsWith(p.message), line);
    }
    const all = consoleLines(file);
    assert.equal(parseLine(all[0]).ts, Date.UTC(2026, 10, 23, 18, 53, 53));
    assert.equal(parseLine(all[all.length - 1]).ts, Date.UTC(2026, 10, 23, 19, 4, 22));
  }
});

test("the console continuation line keeps its leading spaces and carries no event", () => {
  const line = consoleLines("node1").find((l) => l.includes("'/run/keepalived/vrrp.pid'"));
  assert.ok(line);
  const p = parseLine(line);
  assert.match(p.message, /^ {2,}'\/run\/keepalived\/vrrp\.pid'$/);
  assert.equal(p.event, null);
});

test("every journald MESSAGE parses without throwing; as a line it has no prefix and keeps its text", () => {
  for (const file of ["hx1", "hx2", "hx3"] as const) {
    for (const rec of journalRecords(file)) {
      const p = parseLine(rec.MESSAGE);
      assert.equal(p.ts, null, rec.MESSAGE);
      assert.equal(p.ident, null);
      assert.equal(p.message, rec.MESSAGE);
      assert.deepEqual(p.event, parseMessage(rec.MESSAGE));
    }
  }
});

test("no line in any capture that mentions a state, priority, advert, script or link is left unclassified", () => {
  const important = /STATE|\bpriority\b|advert|VRRP_Script|Netlink reports|Keepalived v/;
  const messages = [
    ...(["node1", "node2"] as const).flatMap((f) => consoleLines(f).map((l) => parseLine(l).message)),
    ...(["hx1", "hx2", "hx3"] as const).flatMap((f) => journalRecords(f).map((r) => r.MESSAGE)),
  ];
  const missed = messages.filter((m) => parseMessage(m) === null && important.test(m));
  assert.deepEqual(missed, []);
});
