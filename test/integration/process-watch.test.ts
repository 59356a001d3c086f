/**
 * keepalived liveness end to end on real parts: the REAL agent (built bundle)
 * watches a keepalived stand-in (a process tree named keepalived, with
 * pidfiles) inside a network namespace the test creates, and follows a log
 * file; the real server stores its process records in keepalived_process.
 * Checked: a graceful stop (a "Stopping" line read by the agent's own source)
 * is "stopped", a SIGKILL is "vanished"; records made while the server was
 * SIGKILLed arrive after its restart; every record is stored exactly once;
 * loadFacts gives them back as `process` facts in storage order.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadFacts } from "../../server/incidents/facts";
import type { Fact } from "../../server/detect/types";
import { queryDb, startTestServer, type TestServer } from "../helpers/server";
import { startAgent, type AgentProc } from "../helpers/agent";
import { waitFor } from "../helpers/wait";
import { canUseNetns, createNetns, type Netns } from "../helpers/netns";
import { connectFakeAgent, consoleStamp } from "../helpers/fake-agent";
import { fakeKeepalived, keepalivedChildOf } from "../helpers/fake-keepalived";
import { testDbKind } from "../helpers/db";

const netnsProblem = canUseNetns();
const skipReason = netnsProblem && process.env.CI !== "true" ? netnsProblem : false;

let srv: TestServer;
let ns: Netns | null = null;
let agent: AgentProc | null = null;
const procs: ChildProcess[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-procwatch-int-"));

before(async () => {
  if (skipReason) return;
  if (netnsProblem) throw new Error(`${netnsProblem} (this test needs network namespaces; CI=true makes that a failure)`);
  srv = await startTestServer();
});

after(async () => {
  await agent?.stop("SIGTERM");
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  ns?.destroy();
  await srv?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Row = { seq: string; running: boolean; event: string; pid: number | null; vrrp_pid: number | null; via: string; exit: string | null };

describe(`keepalived process watch through the real agent and server (${testDbKind()})`, { skip: skipReason }, () => {
  it("start, graceful stop, restart while the server is down, SIGKILL: stored once each, replayed as process facts", { timeout: 150_000 }, async (t) => {
    const t00 = Date.now();
    const mark = (what: string) => t.diagnostic(`${what} at +${Date.now() - t00} ms`);
    ns = createNetns("kampwi", "198.18.0.31/24");
    const dir = path.join(tmp, "ka");
    const logFile = path.join(tmp, "keepalived.log");
    fs.writeFileSync(logFile, "");
    const start = () => {
      fs.rmSync(path.join(dir, "keepalived.pid"), { force: true });
      const p = fakeKeepalived(dir, ns!.name, true);
      procs.push(p);
      return p;
    };
    const rows = () =>
      queryDb<Row>(srv, `SELECT p.seq::text, p.running, p.event, p.pid, p.vrrp_pid, p.via, p.exit FROM keepalived_process p
                         JOIN cluster c ON c.id = p.cluster_id WHERE c.name = 'proc' ORDER BY p.seq`);
    const events = async () => (await rows()).map((r) => r.event).filter((e) => e !== "child_vanished");

    const k1 = start();
    await waitFor("the stand-in's pidfiles", () => fs.existsSync(path.join(dir, "vrrp.pid")) && keepalivedChildOf(k1.pid!) > 0);
    const token = await srv.token("proc");
    agent = startAgent(
      ["--server", srv.url, "--node", "n1", "--state-dir", path.join(tmp, "state"), "--source", "file", "--log-file", logFile,
        "--keepalived-conf", "none", "--netns", ns.name, "--pidfile", path.join(dir, "keepalived.pid"), "--vrrp-pidfile", path.join(dir, "vrrp.pid"),
        "--vip-interval", "60", "--heartbeat-interval", "1"],
      { KAM_TOKEN: token },
    );
    const fail = (what: string) => (e: Error) => {
      throw new Error(`${what}: ${e.message}\n--- agent:\n${agent!.output().slice(-3000)}\n--- server:\n${srv.output().slice(-2000)}`);
    };
    await waitFor("observed, running", async () => (await rows()).length >= 1).catch(fail("first record"));
    const [first] = await rows();
    assert.deepEqual({ ...first, seq: 0 }, { seq: 0, running: true, event: "observed", pid: k1.pid, vrrp_pid: keepalivedChildOf(k1.pid!), via: "pidfile", exit: null });
    mark("first record stored");
    await waitFor("the agent following its log file", () => /following log file/.test(agent!.output()));

    // graceful: keepalived logs Stopping (the agent's file source reads it), then exits
    fs.appendFileSync(logFile, `${consoleStamp(new Date())}: Stopping\n`);
    await waitFor("the Stopping line stored", async () =>
      (await queryDb<{ n: number }>(srv, `SELECT count(*)::int AS n FROM log_record WHERE line LIKE '%: Stopping'`))[0].n === 1);
    mark("Stopping line stored");
    k1.kill("SIGTERM");
    await waitFor("stopped", async () => (await events()).includes("stopped")).catch(fail("stopped"));

    // the server goes away; keepalived starts meanwhile: the agent keeps the record in its outbox
    mark("stopped stored");
    await srv.kill("SIGKILL");
    const k2 = start();
    await waitFor("the agent saw the start", () => /keepalived started/.test(agent!.output()));
    mark("server killed, keepalived started");
    await srv.restart();
    mark("server restarted");
    // the agent reconnects with backoff (up to 30 s after a long outage)
    await waitFor("started stored after the restart", async () => (await events()).includes("started"), 60_000).catch(fail("started"));

    mark("started stored after the server restart");
    const child = await waitFor("k2's child", () => keepalivedChildOf(k2.pid!));
    const t0 = Date.now();
    process.kill(k2.pid!, "SIGKILL");
    process.kill(child, "SIGKILL");
    await waitFor("vanished", async () => (await events()).includes("vanished"), 10_000).catch(fail("vanished"));
    // the agent sends within ~1.5 s; storing adds the round trip
    const storedAfter = Date.now() - t0;
    t.diagnostic(`vanished stored ${storedAfter} ms after the SIGKILL`);
    assert.ok(storedAfter < 5000, `vanished stored ${storedAfter} ms after the SIGKILL`);

    // let a late duplicate show up, then compare exactly
    await new Promise((r) => setTimeout(r, 1500));
    const all = await rows();
    assert.deepEqual(all.map((r) => r.event).filter((e) => e !== "child_vanished"), ["observed", "stopped", "started", "vanished"]);
    assert.equal(new Set(all.map((r) => r.seq)).size, all.length, "each seq once");
    const byEvent = (e: string) => all.find((r) => r.event === e)!;
    assert.deepEqual([byEvent("stopped").running, byEvent("stopped").pid], [false, null]);
    assert.deepEqual([byEvent("started").running, byEvent("started").pid, byEvent("started").via], [true, k2.pid, "pidfile"]);
    assert.deepEqual([byEvent("vanished").running, byEvent("vanished").exit], [false, null]);

    // replay: the same records come back from storage as process facts, in the agent's order
    const facts = await srv.withPrisma(async (db) => {
      const c = await db.cluster.findUniqueOrThrow({ where: { name: "proc" } });
      return loadFacts(db, c.id, new Date(0), new Date(Date.now() + 60_000));
    });
    const proc = facts.filter((f): f is Extract<Fact, { kind: "process" }> => f.kind === "process");
    assert.deepEqual(proc.map((f) => [f.node, f.event, f.running, f.exit]), all.map((r) => ["n1", r.event, r.running, r.exit]));
    assert.ok(proc.every((f) => /^p\d+$/.test(f.id) && f.ts > 0));
    const logs = facts.filter((f) => f.kind === "log");
    assert.equal(logs.length, 1, "the Stopping line is a fact too");
  });

  it("a redelivered process record is acknowledged but stored once; a malformed one is refused with a typed error", async () => {
    const fa = await connectFakeAgent(srv.url, await srv.token("proc-dup"), "d1");
    try {
      const rec = { kind: "process" as const, ts: Date.now(), running: false, event: "vanished" as const, pid: null, vrrpPid: null, via: "proc" as const, exit: "signal KILL" };
      const first = await fa.send([rec]);
      assert.deepEqual(first.ok && [first.stored, first.duplicates], [1, 0]);
      // the same seq again, as an agent resends what it did not see acknowledged
      const again = (await fa.socket.timeout(10_000).emitWithAck("batch", { records: [{ ...rec, seq: 1 }] })) as Awaited<ReturnType<typeof fa.send>>;
      assert.deepEqual(again.ok && [again.stored, again.duplicates, again.acked], [0, 1, [1]]);
      const bad = (await fa.socket.timeout(10_000).emitWithAck("batch", { records: [{ ...rec, seq: 2, event: "exploded" }] })) as Awaited<ReturnType<typeof fa.send>>;
      assert.equal(!bad.ok && bad.code, "invalid_message");
      const rows = await queryDb<{ n: number; exit: string }>(srv, `SELECT count(*)::int AS n, max(p.exit) AS exit FROM keepalived_process p
        JOIN cluster c ON c.id = p.cluster_id WHERE c.name = 'proc-dup'`);
      assert.deepEqual(rows[0], { n: 1, exit: "signal KILL" });
    } finally {
      fa.close();
    }
  });
});
