import { test } from "node:test";
import assert from "node:assert/strict";
import { classify, parseLine, parseMessage } from "../../server/parser/index";
import { consoleLines, journalRecords } from "./parser-cases";
import { prng } from "../helpers/prng";

function assertShape(p: ReturnType<typeof parseLine>): void {
  assert.equal(typeof p.message, "string");
  assert.ok(p.ts === null || Number.isFinite(p.ts));
  assert.ok(p.pid === null || Number.isFinite(p.pid));
}

test("20,000 random lines built from real fragments and noise never throw", () => {
  const real = [...consoleLines("node1"), ...journalRecords("hx1").map((r) => r.MESSAGE)];
  const pieces = ["(", ")", "VRRP_Instance(", "VRRP_Group(", "VRRP_Script(", ": ", " STATE", "Entering ", "entering FAULT state",
    " (", "`", "Script `", "%s", "\u0000", "\uffff", "\ud800", "💥", " ", "\t", "\r", "\n", "9999999999999999999999", "-1", "Nov 23 ", "2026-11-23T"];
  const rnd = prng(0x5eed);
  const start = performance.now();
  for (let i = 0; i < 20_000; i++) {
    let s = "";
    const parts = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < parts; k++) {
      const r = rnd();
      if (r < 0.3) {
        const line = real[Math.floor(rnd() * real.length)];
        const a = Math.floor(rnd() * line.length);
        s += line.slice(a, a + Math.floor(rnd() * 60));
      } else if (r < 0.7) {
        s += pieces[Math.floor(rnd() * pieces.length)];
      } else {
        s += String.fromCharCode(Math.floor(rnd() * 0xffff));
      }
    }
    assertShape(parseLine(s, { now: 0 }));
    parseMessage(s);
  }
  assert.ok(performance.now() - start < 10_000, "fuzzing took too long");
});

test("pathological 1 MB inputs finish quickly (no catastrophic backtracking)", () => {
  const big = 1_000_000;
  const inputs = [
    "(".repeat(big),
    "VRRP_Instance(".repeat(big / 14),
    "(VI_1) " + "a".repeat(big),
    "(VI_1) entering FAULT state (interface " + "x ".repeat(big / 2),
    "(VI_1) Master received advert from " + "1".repeat(big),
    "VRRP_Group(G) Syncing " + " to MASTER".repeat(big / 10),
    "Script `" + "`".repeat(big),
    "Nov 23 18:53:53 " + " ".repeat(big),
    "Mon Nov 23 18:53:53 " + "2".repeat(big),
    "2026-11-23T18:53:53." + "1".repeat(big),
    "Unknown VRID(1) received on interface(" + "(".repeat(big),
    "(VI_1) ip address associated with VRID 1 not present in advert from " + ": ".repeat(big / 2),
  ];
  for (const s of inputs) {
    const start = performance.now();
    assertShape(parseLine(s));
    const ms = performance.now() - start;
    assert.ok(ms < 500, `${JSON.stringify(s.slice(0, 40))}... took ${ms.toFixed(0)} ms`);
  }
});

test("a line longer than 8192 characters is classified only when its pattern's text starts it", () => {
  const longName = "n".repeat(20_000);
  assert.deepEqual(parseMessage(`(VI_1) entering FAULT state due to script ${longName}`), {
    type: "fault_reason", instance: "VI_1", reason: "script", detail: longName,
  });
  assert.equal(parseMessage(`${"x".repeat(10_000)}(VI_1) Entering MASTER STATE`), null);
  assert.equal(classify(`(VI_1) Entering MASTER STATE${" ".repeat(9_000)}x`), null);
});

test("non-string input gives a null event instead of throwing", () => {
  for (const bad of [undefined, null, 42, {}, []] as unknown[]) {
    assert.doesNotThrow(() => parseLine(bad as string));
    assert.equal(parseLine(bad as string).event, null);
    assert.equal(parseMessage(bad as string), null);
  }
});
