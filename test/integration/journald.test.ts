/**
 * The agent's journal source against a REAL systemd-journald (a private
 * instance in its own journal namespace: the system journal is not touched).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { JournalSource } from "../../agent/sources/journal";
import { DEFAULT_JOURNAL_MATCHES } from "../../agent/options";
import { silentLogger } from "../../agent/log";
import { LogRecordMsg } from "../../server/protocol";
import { execFileSync } from "node:child_process";
import { startPrivateJournald, type PrivateJournald } from "../helpers/journald";
import { waitFor } from "../helpers/wait";

type Rec = Omit<LogRecordMsg, "seq">;

/** the identifiers keepalived logs under: what these tests match on (the default match is on _COMM/_UID, tested at the end) */
const IDENT_MATCHES = ["SYSLOG_IDENTIFIER=Keepalived", "SYSLOG_IDENTIFIER=Keepalived_vrrp", "SYSLOG_IDENTIFIER=Keepalived_healthcheckers", "SYSLOG_IDENTIFIER=Keepalived_bfd"];

function follow(j: PrivateJournald, cursor: string | null, matches = IDENT_MATCHES) {
  const got: Rec[] = [];
  let saved: string | null = cursor;
  const src = new JournalSource({
    journalctl: "journalctl", matches, directory: j.journalDir, cursor, log: silentLogger(),
    emit: (rec, pos) => {
      assert.equal(LogRecordMsg.safeParse({ ...rec, seq: 1 }).success, true, JSON.stringify(rec));
      got.push(rec);
      saved = pos.value as string;
    },
  });
  src.start();
  return { src, got, cursor: () => saved };
}

/** journalctl -n 0 starts at the end: log markers until one arrives, so later lines are surely followed */
async function waitFollowing(j: PrivateJournald, got: Rec[], as?: { comm: string }): Promise<void> {
  const end = Date.now() + 10_000;
  for (let i = 0; !got.some((r) => r.line.startsWith("marker ")); i++) {
    if (Date.now() > end) throw new Error("journalctl never delivered a marker line");
    j.log("Keepalived", 1, `marker ${i}`, undefined, as);
    await new Promise((r) => setTimeout(r, 200));
  }
  // markers logged while the first was on its way may still come (a loaded machine: "marker 1" arrived after the
  // test had counted what it got); one more, which the journal delivers after all of them, drains them
  const last = `marker drained ${Date.now()}`;
  j.log("Keepalived", 1, last, undefined, as);
  await waitFor("the last marker", () => got.some((r) => r.line === last), 10_000, 20);
}

test("journal source against a private journald: fields, filtering, and resume after the saved cursor", async (t) => {
  const j = await startPrivateJournald();
  if ("unavailable" in j) {
    if (process.env.CI === "true") assert.fail(`journald test cannot run: ${j.unavailable}`);
    return t.skip(j.unavailable);
  }
  t.after(() => j.stop());

  const a = follow(j, null);
  t.after(() => a.src.stop());
  await waitFollowing(j, a.got);
  const startTs = Date.now();
  const before = a.got.length;

  for (let i = 0; i < 5; i++) j.log("Keepalived_vrrp", 1234, `(VI_1) line ${i}`);
  for (let i = 0; i < 3; i++) j.log("Keepalived_healthcheckers", 1235, `check ${i}`);
  for (let i = 0; i < 4; i++) j.log("sshd", 99, `not keepalived ${i}`);
  j.log("Keepalived_bfd", 1236, "ctrl \x01 byte"); // journald stores it as a byte array in JSON
  j.log("Keepalived", 1230, "fence 1"); // the journal keeps order: once the fence is here, everything before is too
  await waitFor("fence 1", () => a.got.some((r) => r.line === "fence 1"), 10_000, 20);

  const first = a.got.slice(before);
  assert.deepEqual(first.map((r) => r.line), [
    "(VI_1) line 0", "(VI_1) line 1", "(VI_1) line 2", "(VI_1) line 3", "(VI_1) line 4",
    "check 0", "check 1", "check 2", "ctrl \x01 byte", "fence 1",
  ], "matched identifiers arrive in order; other identifiers are filtered out");
  const vrrp = first[0];
  assert.equal(vrrp.source, "journal");
  assert.equal(vrrp.ident, "Keepalived_vrrp");
  assert.equal(vrrp.pid, 1234, "pid from SYSLOG_PID");
  assert.equal(first[5].ident, "Keepalived_healthcheckers");
  assert.equal(first[5].pid, 1235);
  assert.match(vrrp.cursor!, /^s=[0-9a-f]+;i=[0-9a-f]+;b=[0-9a-f]+;m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$/);
  assert.equal(new Set(first.map((r) => r.cursor)).size, first.length, "each entry has its own cursor");
  assert.ok(vrrp.ts >= startTs - 2000 && vrrp.ts <= Date.now() + 1000, `ts from __REALTIME_TIMESTAMP in ms (${vrrp.ts})`);
  assert.ok(first.every((r, i) => i === 0 || r.ts >= first[i - 1].ts));
  assert.equal(a.src.status(), "ok");

  // stop, log while nobody follows (more than journalctl's default tail of 10), restart from the saved cursor
  await a.src.stop();
  const saved = a.cursor();
  assert.equal(saved, a.got.at(-1)!.cursor);
  const missed: string[] = [];
  for (let i = 0; i < 15; i++) {
    j.log("Keepalived_vrrp", 1234, `missed ${i}`);
    missed.push(`missed ${i}`);
    if (i % 5 === 0) j.log("cron", 7, `noise ${i}`);
  }
  const b = follow(j, saved);
  t.after(() => b.src.stop());
  await waitFor("the missed lines", () => b.got.length >= missed.length, 10_000, 20);
  j.log("Keepalived", 1230, "fence 2");
  await waitFor("fence 2", () => b.got.some((r) => r.line === "fence 2"), 10_000, 20);
  assert.deepEqual(b.got.map((r) => r.line), [...missed, "fence 2"], "exactly the missed lines: none lost, none twice");
  const cursorsA = new Set(a.got.map((r) => r.cursor));
  assert.ok(b.got.every((r) => !cursorsA.has(r.cursor)), "no entry delivered to both runs");
  await b.src.stop();
});

test("matches on another field (as needed when keepalived runs with net_namespace) and a cursor journalctl rejects", async (t) => {
  const j = await startPrivateJournald();
  if ("unavailable" in j) {
    if (process.env.CI === "true") assert.fail(`journald test cannot run: ${j.unavailable}`);
    return t.skip(j.unavailable);
  }
  t.after(() => j.stop());
  // keepalived with net_namespace blue logs as Keepalived_vrrp_blue_...: the default identifiers miss it, the facility does not
  const a = follow(j, "s=0000;i=1;b=0000;m=1;t=1;x=1", ["SYSLOG_FACILITY=17"]);
  t.after(() => a.src.stop());
  await waitFor("the rejected cursor to show in the source status", () => /Failed to seek to cursor/.test(a.src.status()), 5000, 20);
  const end = Date.now() + 15_000;
  for (let i = 0; !a.got.some((r) => r.line.startsWith("ns line")); i++) {
    if (Date.now() > end) throw new Error(`no line arrived; status: ${a.src.status()}`);
    j.log("Keepalived_vrrp_blue_ka1", 500, `ns line ${i}`, "local1.info");
    j.log("Keepalived_vrrp", 501, `other facility ${i}`, "local2.info");
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(a.got.every((r) => r.ident === "Keepalived_vrrp_blue_ka1"), "only the matched facility arrives");
});

/** does this journald record the sender's real credentials? (some sandboxes hand every sender the same pid/uid) */
async function credentialsSeen(j: PrivateJournald): Promise<string | null> {
  j.log("kam-probe", 1, "credentials probe", undefined, { comm: "keepalived" });
  const end = Date.now() + 5000;
  for (;;) {
    const out = execFileSync("journalctl", ["--directory", j.journalDir, "--output=json", "--no-pager", "SYSLOG_IDENTIFIER=kam-probe"]).toString().trim();
    if (out) {
      const e = JSON.parse(out.split("\n")[0]) as Record<string, string>;
      return e._COMM === "keepalived" && e._UID === "0" ? null : `journald records _COMM=${e._COMM} _UID=${e._UID} for a root process named keepalived (no real sender credentials here)`;
    }
    if (Date.now() > end) throw new Error("the probe line never reached the journal");
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("issue 19: the default match takes keepalived's own lines and no forged ones (identifier set by another process, or a non-root keepalived)", async (t) => {
  const j = await startPrivateJournald();
  if ("unavailable" in j) {
    if (process.env.CI === "true") assert.fail(`journald test cannot run: ${j.unavailable}`);
    return t.skip(j.unavailable);
  }
  t.after(() => j.stop());
  const why = await credentialsSeen(j);
  if (why) {
    // Not a missing package CI could install: on these sandboxed machines journald receives no real sender
    // credentials (every line shows the sandbox's init as _COMM), so no match on trusted fields can be tested
    // here, in CI or not. The skip names the reason; on an ordinary kernel the test runs.
    return t.skip(why);
  }
  assert.deepEqual(DEFAULT_JOURNAL_MATCHES.filter((m) => !m.startsWith("_COMM=")), ["_UID=0"], "the default: process names OR-ed, AND uid 0");
  const a = follow(j, null, DEFAULT_JOURNAL_MATCHES);
  t.after(() => a.src.stop());
  const KA = { comm: "keepalived" };
  await waitFollowing(j, a.got, KA);
  const before = a.got.length;
  j.log("Keepalived_vrrp", 1234, "(VI_1) Entering MASTER STATE forged by logger -t");
  j.log("Keepalived_vrrp", 1234, "(VI_1) Entering MASTER STATE forged by a non-root process named keepalived", undefined, { comm: "keepalived", uid: 65534 });
  j.log("Keepalived_vrrp", 1234, "(VI_1) Entering MASTER STATE", undefined, KA);
  j.log("Keepalived_vrrp_blue_ka1", 1235, "net_namespace line", undefined, KA);
  j.log("Keepalived_vrrp", 1236, "process_names line", undefined, { comm: "keepalived_vrrp" });
  j.log("Keepalived", 1230, "fence", undefined, KA);
  await waitFor("the fence line", () => a.got.some((r) => r.line === "fence"), 10_000, 20);
  assert.deepEqual(a.got.slice(before).map((r) => r.line), ["(VI_1) Entering MASTER STATE", "net_namespace line", "process_names line", "fence"],
    "keepalived's lines (any identifier, process_names too) arrive; forged ones do not");
});
