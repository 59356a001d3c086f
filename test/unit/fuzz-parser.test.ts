/**
 * Fuzzing the keepalived log parser: parseLine and parseMessage on 120,000
 * generated inputs (random bytes, random ASCII, mutations of the real
 * captured lines: bit flips, truncation, duplication, splicing, inserted
 * noise, huge numbers, long lines). Neither may throw, each answer must have
 * the documented shape, and no input may take 100 ms or more.
 * FUZZ_SEED=<n> replays a run; the seed is in every failure message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLine, parseMessage } from "../../server/parser/index";
import { consoleLines, journalRecords } from "./parser-cases";
import { prng } from "../helpers/prng";

const N = 120_000;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const REAL = [
  ...consoleLines("node1"), ...consoleLines("node2"),
  ...(["hx1", "hx2", "hx3"] as const).flatMap((h) => journalRecords(h).map((r) => r.MESSAGE)),
];
/** the same messages behind the other prefixes the parser splits */
const PREFIXED = REAL.slice(0, 200).flatMap((m, i) => [
  `Nov 23 18:53:${String(i % 60).padStart(2, "0")} hx1 Keepalived_vrrp[${1000 + i}]: ${m}`,
  `2026-11-23T18:53:53.${String(i).padStart(6, "0")}+00:00 hx1 Keepalived_vrrp[${i}]: ${m}`,
]);
const SEEDS = [...REAL, ...PREFIXED];
const NOISE = ["(", ")", "[", "]", ":", " ", "\t", "\r", "\n", "\u0000", "\ufffd", "\ud800", "\udfff", "💥", "%s", "%n", "`", "'", '"', "\\",
  "VRRP_Instance(", "(VI_1)", "Entering ", " STATE", "MASTER", "BACKUP", "FAULT", "Netlink reports ", "Kernel is reporting: interface ",
  "9".repeat(30), "-1", "1e309", "NaN", "Nov 31 25:61:61 ", "2026-13-45T99:99:99Z ", "Keepalived_vrrp[", "]: "];

type Gen = (rnd: () => number) => string;
const int = (rnd: () => number, n: number) => Math.floor(rnd() * n);
const pick = <T>(rnd: () => number, a: readonly T[]): T => a[int(rnd, a.length)];

const GENERATORS: [string, Gen][] = [
  ["random bytes (utf8)", (r) => Buffer.from(Array.from({ length: int(r, 300) }, () => int(r, 256))).toString("utf8")],
  ["random bytes (latin1)", (r) => Buffer.from(Array.from({ length: int(r, 300) }, () => int(r, 256))).toString("latin1")],
  ["random ASCII", (r) => String.fromCharCode(...Array.from({ length: int(r, 300) }, () => 32 + int(r, 95)))],
  ["random UTF-16 units", (r) => String.fromCharCode(...Array.from({ length: int(r, 120) }, () => int(r, 0x10000)))],
  ["bit flips", (r) => {
    const s = [...pick(r, SEEDS)];
    for (let k = 1 + int(r, 4); k > 0; k--) {
      const i = int(r, s.length || 1);
      s[i] = String.fromCharCode((s[i]?.charCodeAt(0) ?? 32) ^ (1 << int(r, 8)));
    }
    return s.join("");
  }],
  ["truncation", (r) => {
    const s = pick(r, SEEDS);
    const a = int(r, s.length);
    return r() < 0.5 ? s.slice(0, a) : s.slice(a);
  }],
  ["duplication", (r) => {
    const s = pick(r, SEEDS);
    const a = int(r, s.length);
    const b = a + int(r, s.length - a + 1);
    return s.slice(0, b) + s.slice(a, b).repeat(1 + int(r, 5)) + s.slice(b);
  }],
  ["splicing", (r) => {
    let out = "";
    for (let k = 1 + int(r, 4); k > 0; k--) {
      const s = pick(r, SEEDS);
      const a = int(r, s.length);
      out += s.slice(a, a + int(r, 80));
    }
    return out;
  }],
  ["inserted noise", (r) => {
    let s = pick(r, SEEDS);
    for (let k = 1 + int(r, 6); k > 0; k--) {
      const i = int(r, s.length + 1);
      s = s.slice(0, i) + pick(r, NOISE) + s.slice(i);
    }
    return s;
  }],
  ["numbers replaced", (r) => pick(r, SEEDS).replace(/\d+/g, () => pick(r, ["", "0", "-0", "99999999999999999999", "1.5", "0x1f", "٣"]))],
  ["long line", (r) => {
    const s = pick(r, SEEDS);
    const unit = r() < 0.5 ? s : pick(r, NOISE);
    return (r() < 0.5 ? s : "") + unit.repeat(Math.ceil((2000 + int(r, 60_000)) / Math.max(1, unit.length)));
  }],
];

function checkLine(p: ReturnType<typeof parseLine>): string | null {
  if (typeof p !== "object" || p === null) return "not an object";
  if (typeof p.message !== "string") return "message is not a string";
  if (!(p.ts === null || Number.isFinite(p.ts))) return `ts ${p.ts}`;
  if (!(p.pid === null || Number.isFinite(p.pid))) return `pid ${p.pid}`;
  if (!(p.ident === null || typeof p.ident === "string")) return "ident";
  if (!(p.event === null || (typeof p.event === "object" && typeof p.event.type === "string"))) return "event shape";
  return null;
}

test(`parseLine and parseMessage never throw, keep their shape and stay under 100 ms per input on ${N.toLocaleString("en")} fuzzed inputs`, { timeout: 120_000 }, () => {
  const rnd = prng(SEED);
  const where = (i: number, kind: string, s: string) => `FUZZ_SEED=${SEED}, input #${i} (${kind}): ${JSON.stringify(s.slice(0, 160))}${s.length > 160 ? `... (${s.length} chars)` : ""}`;
  let slowest = { ms: 0, what: "" };
  const perKind = new Map<string, number>();
  let events = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    // one input in 200 is a long line; the others are spread over the generators
    const [kind, gen] = i % 200 === 199 ? GENERATORS[GENERATORS.length - 1] : GENERATORS[i % (GENERATORS.length - 1)];
    const s = gen(rnd);
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
    const t = performance.now();
    let line: ReturnType<typeof parseLine>;
    let msg: ReturnType<typeof parseMessage>;
    try {
      line = parseLine(s, { now: 1_795_000_000_000 });
      msg = parseMessage(s);
    } catch (e) {
      assert.fail(`threw ${(e as Error).message}: ${where(i, kind, s)}`);
    }
    let ms = performance.now() - t;
    // a pause of the machine (GC, another process) is not the input's fault: time a slow one again
    for (let k = 0; k < 2 && ms >= 100; k++) {
      const t2 = performance.now();
      parseLine(s, { now: 1_795_000_000_000 });
      parseMessage(s);
      ms = Math.min(ms, performance.now() - t2);
    }
    if (ms > slowest.ms) slowest = { ms, what: where(i, kind, s) };
    const bad = checkLine(line);
    assert.equal(bad, null, `${bad}: ${where(i, kind, s)}`);
    assert.ok(msg === null || (typeof msg === "object" && typeof msg.type === "string"), `parseMessage shape: ${where(i, kind, s)}`);
    if (line.event) events++;
  }
  const total = performance.now() - t0;
  console.log(`# seed ${SEED}: ${N} inputs in ${(total / 1000).toFixed(1)} s, ${events} classified, slowest ${slowest.ms.toFixed(1)} ms: ${slowest.what.slice(0, 200)}`);
  assert.ok(slowest.ms < 100, `slowest input took ${slowest.ms.toFixed(1)} ms: ${slowest.what}`);
  assert.ok(events > 1000, "mutations of real lines still classify often: the fuzzing reaches the patterns");
  for (const [kind] of GENERATORS) assert.ok((perKind.get(kind) ?? 0) >= 500, `generator ${kind} used`);
});

test("the real captured lines all still parse the same after a round of harmless mutations (trailing blanks, CRLF)", () => {
  for (const s of SEEDS) {
    const a = parseLine(s, { now: 0 });
    for (const v of [`${s} `, `${s}\r`, `${s}\t`]) assert.deepEqual(parseLine(v, { now: 0 }).event, a.event, JSON.stringify(v));
  }
});
