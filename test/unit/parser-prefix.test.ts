import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLine } from "../../server/parser/index";
import { consoleLines } from "./parser-cases";

const MSG = "(VI_1) Entering MASTER STATE";
const MASTER = { type: "state", instance: "VI_1", state: "MASTER" };

test("console prefix (real line): time read as UTC, message after ': ', no ident or pid", () => {
  const line = consoleLines("node2").find((l) => l.endsWith("Master received advert from 192.0.2.1 with higher priority 150, ours 100"));
  assert.ok(line);
  const p = parseLine(line);
  assert.equal(p.ts, Date.UTC(2026, 10, 23, 18, 54, 10));
  assert.equal(p.ident, null);
  assert.equal(p.pid, null);
  assert.equal(p.message, "(VI_1) Master received advert from 192.0.2.1 with higher priority 150, ours 100");
});

test("console prefix with strftime %c's space-padded day", () => {
  const p = parseLine(`Tue Nov  3 08:05:09 2026: ${MSG}`);
  assert.equal(p.ts, Date.UTC(2026, 10, 3, 8, 5, 9));
  assert.equal(p.message, MSG);
  assert.deepEqual(p.event, MASTER);
});

test("log-file prefix with nanoseconds before the year keeps the milliseconds", () => {
  const p = parseLine(`Mon Nov 23 18:53:53.123456789 2026: ${MSG}`);
  assert.equal(p.ts, Date.UTC(2026, 10, 23, 18, 53, 53, 123));
  assert.deepEqual(p.event, MASTER);
});

test("classic syslog prefix: host, ident and pid split off; year taken from opts.now", () => {
  const p = parseLine(`Nov 23 18:53:53 lb1 Keepalived_vrrp[1234]: ${MSG}`, { now: Date.UTC(2026, 10, 23, 19, 0, 0) });
  assert.equal(p.ts, Date.UTC(2026, 10, 23, 18, 53, 53));
  assert.equal(p.ident, "Keepalived_vrrp");
  assert.equal(p.pid, 1234);
  assert.equal(p.message, MSG);
  assert.deepEqual(p.event, MASTER);
});

test("classic syslog prefix: space-padded day, no pid, namespaced ident", () => {
  const p = parseLine("Jan  5 01:02:03 lb1 Keepalived_vrrp_ns1_lb: Stopping", { year: 2025 });
  assert.equal(p.ts, Date.UTC(2025, 0, 5, 1, 2, 3));
  assert.equal(p.ident, "Keepalived_vrrp_ns1_lb");
  assert.equal(p.pid, null);
  assert.deepEqual(p.event, { type: "daemon", what: "stopping" });
});

test("classic syslog: opts.year wins over opts.now", () => {
  const p = parseLine(`Dec 31 23:59:58 lb1 Keepalived_vrrp[1]: ${MSG}`, { year: 2030, now: Date.UTC(2027, 0, 1) });
  assert.equal(p.ts, Date.UTC(2030, 11, 31, 23, 59, 58));
});

test("classic syslog across New Year: a December line read on 1 January belongs to the previous year", () => {
  const now = Date.UTC(2027, 0, 1, 0, 0, 3);
  const p = parseLine(`Dec 31 23:59:58 lb1 Keepalived_vrrp[1]: ${MSG}`, { now });
  assert.equal(p.ts, Date.UTC(2026, 11, 31, 23, 59, 58));
});

test("classic syslog: a line up to a day ahead of now (clock skew) keeps the current year", () => {
  const now = Date.UTC(2026, 11, 31, 23, 59, 50);
  assert.equal(parseLine(`Jan  1 00:00:05 lb1 Keepalived_vrrp[1]: ${MSG}`, { now: Date.UTC(2027, 0, 1, 0, 0, 1) }).ts, Date.UTC(2027, 0, 1, 0, 0, 5));
  assert.equal(parseLine(`Dec 31 23:59:59 lb1 Keepalived_vrrp[1]: ${MSG}`, { now }).ts, Date.UTC(2026, 11, 31, 23, 59, 59));
  // the limit is exactly one day: at it the year stays, 4 s past it the line is read as last year's
  const jan1 = Date.UTC(2027, 0, 1, 0, 0, 1);
  assert.equal(parseLine(`Jan  2 00:00:01 lb1 Keepalived_vrrp[1]: ${MSG}`, { now: jan1 }).ts, Date.UTC(2027, 0, 2, 0, 0, 1));
  assert.equal(parseLine(`Jan  2 00:00:05 lb1 Keepalived_vrrp[1]: ${MSG}`, { now: jan1 }).ts, Date.UTC(2026, 0, 2, 0, 0, 5));
});

test("classic syslog without opts uses the current UTC year", () => {
  const year = new Date().getUTCFullYear();
  assert.equal(parseLine(`Jan  1 00:00:00 lb1 Keepalived_vrrp[1]: ${MSG}`).ts, Date.UTC(year, 0, 1));
});

test("classic syslog Feb 29 read in the January after a leap year lands in that leap year", () => {
  const p = parseLine(`Feb 29 12:00:00 lb1 Keepalived_vrrp[1]: ${MSG}`, { now: Date.UTC(2029, 0, 10) });
  assert.equal(p.ts, Date.UTC(2028, 1, 29, 12));
});

test("RFC 3339 prefix: microseconds kept to the millisecond, offset honoured", () => {
  const utc = parseLine(`2026-11-23T18:53:53.123456+00:00 lb1 Keepalived_vrrp[1234]: ${MSG}`);
  assert.equal(utc.ts, Date.UTC(2026, 10, 23, 18, 53, 53, 123));
  assert.equal(utc.ident, "Keepalived_vrrp");
  assert.equal(utc.pid, 1234);
  assert.deepEqual(utc.event, MASTER);
  assert.equal(parseLine(`2026-11-23T20:53:53.5+02:00 lb1 Keepalived_vrrp[1]: ${MSG}`).ts, Date.UTC(2026, 10, 23, 18, 53, 53, 500));
  assert.equal(parseLine(`2026-11-23T18:53:53Z lb1 Keepalived[7]: Stopping`).ts, Date.UTC(2026, 10, 23, 18, 53, 53));
  // journalctl -o short-iso writes the offset without a colon
  assert.equal(parseLine(`2026-11-23T13:23:53-0530 lb1 Keepalived_vrrp[1]: ${MSG}`).ts, Date.UTC(2026, 10, 23, 18, 53, 53));
});

test("no prefix (journald MESSAGE): ts, ident and pid are null and the message is untouched", () => {
  const p = parseLine(MSG);
  assert.deepEqual(p, { ts: null, ident: null, pid: null, message: MSG, event: MASTER });
});

test("a trailing CR/LF is dropped from the message", () => {
  assert.equal(parseLine(`Mon Nov 23 18:53:53 2026: ${MSG}\r\n`).message, MSG);
  assert.deepEqual(parseLine(`${MSG}\n`).event, MASTER);
});

test("a prefix with impossible date or time fields is not taken as a prefix", () => {
  for (const line of [
    `Nov 31 18:53:53 lb1 Keepalived_vrrp[1]: ${MSG}`,
    `Nov 23 25:00:00 lb1 Keepalived_vrrp[1]: ${MSG}`,
    `Mon Nov 23 18:61:53 2026: ${MSG}`,
    `2026-13-23T18:53:53Z lb1 Keepalived_vrrp[1]: ${MSG}`,
  ]) {
    const p = parseLine(line, { now: Date.UTC(2026, 11, 1) });
    assert.equal(p.ts, null, line);
    assert.equal(p.message, line);
    assert.equal(p.event, null);
  }
});
