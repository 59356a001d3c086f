/**
 * Exactly-once checks against the ground truth: what keepalived really wrote
 * (the host's log file, or its entries in the lab journal) compared with what
 * the server stored for that node, line by line and in order, and the state
 * timeline keepalived logged compared with the stored one.
 */
import assert from "node:assert/strict";
import type { Lab, LabHost } from "./lab";
import type { LabJournal } from "./journal";
import type { Stack } from "./stack";

/** the lines keepalived produced on the host, oldest first */
export function sourceLines(h: LabHost, journal: LabJournal | null): string[] {
  if (h.facility === null) return h.ka.lines();
  if (!journal) throw new Error(`${h.name} logs to the journal but the lab has none`);
  return journal.entries(h.facility).map((e) => e.message);
}

/** keepalived's own state lines -> MASTER/BACKUP/FAULT/STOP, in order */
export function statesLogged(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const m = /\(([^)]+)\) Entering (MASTER|BACKUP|FAULT) STATE/.exec(l);
    if (m) out.push(m[2]);
    else if (/Stopped Keepalived v/.test(l)) out.push("STOP");
  }
  return out;
}

/** wait until the server stored as many lines for every host as keepalived wrote; returns when */
export async function waitAllStored(stack: Stack, lab: Lab, journal: LabJournal | null, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let status = "";
  for (;;) {
    const parts: string[] = [];
    let done = true;
    for (const h of lab.hosts.values()) {
      const want = sourceLines(h, journal).length;
      const got = (await stack.storedLines(lab.cluster, h.name).catch(() => [])).length;
      parts.push(`${h.name} ${got}/${want}`);
      if (got < want) done = false;
    }
    status = parts.join(", ");
    if (done) return Date.now();
    if (Date.now() > end) throw new Error(`${lab.cluster}: not every line stored within ${timeoutMs / 1000} s (${status})\n${lab.diagnostics()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** every line keepalived wrote stored exactly once, in order, and the stored state timeline is keepalived's */
export async function assertExactlyOnce(stack: Stack, lab: Lab, journal: LabJournal | null): Promise<{ lines: number; states: number }> {
  let lines = 0;
  let states = 0;
  const changes = await stack.stateChanges(lab.cluster);
  for (const h of lab.hosts.values()) {
    const src = sourceLines(h, journal);
    const stored = await stack.storedLines(lab.cluster, h.name);
    const positions = stored.map((r) => (h.facility === null ? `${r.offset}` : r.cursor));
    assert.equal(new Set(positions).size, positions.length, `${h.name}: no source position stored twice`);
    assert.equal(stored.length, src.length, `${h.name}: ${stored.length} lines stored for ${src.length} written`);
    const firstDiff = src.findIndex((l, i) => stored[i]?.line !== l);
    assert.equal(firstDiff, -1, `${h.name}: stored line ${firstDiff} differs: ${JSON.stringify(stored[firstDiff]?.line)} vs ${JSON.stringify(src[firstDiff])}`);
    const seqs = stored.map((r) => Number(r.seq));
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `${h.name}: sequence numbers increase`);
    const want = statesLogged(src);
    const got = changes.filter((c) => c.node === h.name).map((c) => c.state);
    assert.deepEqual(got, want, `${h.name}: the stored state timeline is the one keepalived logged`);
    lines += src.length;
    states += want.length;
  }
  return { lines, states };
}
