/**
 * Issue 18: the agent's memory stays bounded under a large backlog. The REAL
 * agent (dist/keepalived-agent.cjs, with the systemd unit's MALLOC setting)
 * follows a log file; BACKLOG lines are appended at once, more than the
 * outbox's high-water mark, so the file source must stop reading and resume as
 * acknowledgements arrive. Then the server goes away, more lines are appended
 * (the outbox fills to its mark, the file offset waits), and the server comes
 * back: the reconnect catch-up. Asserts: every line stored exactly once, the
 * source paused (backpressure engaged), and the agent's peak memory, sampled
 * from /proc every 50 ms (VmRSS: the node binary's pages count too, as they do
 * for the unit's MemoryMax when the agent is the node's only node process; Pss
 * is printed too), stayed under AGENT_RSS_BOUND_MIB. The agent runs with its
 * unit's environment (--jitless among it: agent/keepalived-agent.service).
 * Second: an agent SIGKILLed with a full outbox (at its high-water mark, the
 * rest of the lines still in the file) while the server is away reopens the
 * outbox within the same bound and delivers every line exactly once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestServer, type TestServer, queryDb } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { agentUnitEnvironment, startAgent, type AgentProc } from "../helpers/agent";
import { waitFor } from "../helpers/wait";
import { SOURCE_HIGH_WATER_RECORDS } from "../../agent/outbox";

/** the target for the agent at any backlog */
const AGENT_RSS_BOUND_MIB = 64;
const BACKLOG = Number(process.env.KAM_BACKLOG_LINES ?? 30_000);
const OUTAGE_LINES = Number(process.env.KAM_BACKLOG_OUTAGE_LINES ?? 10_000);
/** the server's per-agent limit, raised for the test so it runs in under a minute (the agent's bound does not depend on it) */
const RATE = 20_000;

let srv: TestServer;
let agent: AgentProc | null = null;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-backlog-"));

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** Pss of a process (KiB): its private memory plus its share of the pages it shares (the node binary) */
function pssKiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  if (!m) throw new Error(`no Pss for ${pid}`);
  return Number(m[1]);
}

/** sample a process's VmRSS and Pss until stopped; the peaks in MiB */
function sampleRss(pid: number) {
  let peak = 0;
  let peakPss = 0;
  let samples = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssKiB(pid));
      peakPss = Math.max(peakPss, pssKiB(pid));
      samples++;
    } catch {
      // exited: the test notices it elsewhere
    }
  }, 50);
  return { stop: () => clearInterval(t), peakMiB: () => peak / 1024, peakPssMiB: () => peakPss / 1024, samples: () => samples };
}

const line = (i: number) => `Fri Dec  4 12:00:00 2026: Keepalived_vrrp[4242]: (VI_1) backlog line ${String(i).padStart(7, "0")} ${"x".repeat(60)}\n`;

/** append lines n..n+count-1 in blocks (as a burst: all at once, no pause) */
function appendLines(file: string, from: number, count: number): void {
  const fd = fs.openSync(file, "a");
  try {
    for (let i = from; i < from + count; i += 10_000) {
      let s = "";
      for (let j = i; j < Math.min(from + count, i + 10_000); j++) s += line(j);
      fs.writeSync(fd, s);
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function counts(cluster = "backlog") {
  const [r] = await queryDb<{ n: number; lines: number; seqs: number }>(srv,
    `SELECT count(*)::int AS n, count(DISTINCT l.line)::int AS lines, count(DISTINCT (l.agent_id, l.seq))::int AS seqs
     FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = $1 AND l.line LIKE '%backlog line%'`, [cluster]);
  return r;
}

/** wait until `want` lines are stored; on failure say how far it got and what the agent and server said */
async function waitStored(want: number, a: AgentProc, ms: number, cluster = "backlog"): Promise<void> {
  let got: Awaited<ReturnType<typeof counts>> | null = null;
  try {
    await waitFor(`${want} lines stored`, async () => (got = await counts(cluster)).n >= want, ms, 500);
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(got)}\n--- agent:\n${a.output().slice(-3000)}\n--- server:\n${srv.output().slice(-2000)}`);
  }
}

before(async () => {
  srv = await startTestServer({ env: { KAM_AGENT_RECORDS_PER_SECOND: String(RATE) } });
});
after(async () => {
  await agent?.stop("SIGKILL");
  await srv?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe(`agent backlog (${testDbKind()})`, () => {
  it(`a burst of ${BACKLOG} lines, then ${OUTAGE_LINES} during an outage: every line stored once, agent VmRSS <= ${AGENT_RSS_BOUND_MIB} MiB`, { timeout: 170_000 }, async () => {
    assert.ok(BACKLOG > SOURCE_HIGH_WATER_RECORDS, "the backlog must exceed the outbox's high-water mark, or backpressure is not exercised");
    const token = await srv.token("backlog");
    const log = path.join(tmp, "keepalived.log");
    fs.writeFileSync(log, "");
    agent = startAgent(
      ["--server", srv.url, "--node", "bk1", "--state-dir", path.join(tmp, "state"), "--source", "file", "--log-file", log, "--keepalived-conf", "none",
        "--ip", "/bin/false", "--heartbeat-interval", "1"],
      { KAM_TOKEN: token, ...agentUnitEnvironment() },
    );
    const a = agent;
    await waitFor("the agent following its file", () => /following log file/.test(a.output()));
    await waitFor("the agent connected", () => /connected to the server/.test(a.output()));
    const rss = sampleRss(a.child.pid!);
    const idleMiB = rssKiB(a.child.pid!) / 1024;

    const t0 = Date.now();
    appendLines(log, 0, BACKLOG);
    await waitStored(BACKLOG, a, 90_000);
    const burstS = (Date.now() - t0) / 1000;
    assert.match(a.output(), /backlog: reading paused until the outbox drains/, "the file source stopped reading at the high-water mark");

    // the server away: lines pile up in the outbox up to its mark, the rest waits in the file
    await srv.kill("SIGTERM");
    appendLines(log, BACKLOG, OUTAGE_LINES);
    await new Promise((r) => setTimeout(r, 3000));
    const t1 = Date.now();
    await srv.restart();
    const total = BACKLOG + OUTAGE_LINES;
    await waitStored(total, a, 60_000);
    const outageS = (Date.now() - t1) / 1000;
    await new Promise((r) => setTimeout(r, 1500)); // a late duplicate would show now
    rss.stop();
    const c = await counts();
    assert.deepEqual(c, { n: total, lines: total, seqs: total }, "every line exactly once");
    const peak = rss.peakMiB();
    const peakPss = rss.peakPssMiB();
    process.stderr.write(
      `agent backlog: idle VmRSS ${idleMiB.toFixed(1)} MiB, peak VmRSS ${peak.toFixed(1)} MiB, peak Pss ${peakPss.toFixed(1)} MiB over ${rss.samples()} samples; ` +
        `${BACKLOG} lines in ${burstS.toFixed(1)} s (${Math.round(BACKLOG / burstS)}/s), after the outage ${OUTAGE_LINES} in ${outageS.toFixed(1)} s (server limit ${RATE}/s)\n`,
    );
    assert.ok(rss.samples() > 20, "RSS was sampled");
    // VmRSS, the measure: it also counts the node binary's pages (shared with other node processes,
    // but charged to the agent's cgroup when it is the only one); Pss is the agent's own share
    assert.ok(peak <= AGENT_RSS_BOUND_MIB, `agent peak VmRSS ${peak.toFixed(1)} MiB > ${AGENT_RSS_BOUND_MIB} MiB (Pss ${peakPss.toFixed(1)} MiB)`);
  });

  it("restarted (SIGKILL) with a full outbox while the server is away: reopens it within the memory bound, then delivers every line once", { timeout: 170_000 }, async (t) => {
    await agent?.stop("SIGKILL"); // the first test's agent
    const cluster = "backlog-restart";
    const token = await srv.token(cluster);
    const dir = path.join(tmp, "restart");
    fs.mkdirSync(dir);
    const log = path.join(dir, "keepalived.log");
    fs.writeFileSync(log, "");
    const args = ["--server", srv.url, "--node", "bk2", "--state-dir", path.join(dir, "state"), "--source", "file", "--log-file", log,
      "--keepalived-conf", "none", "--ip", "/bin/false", "--pidfile", "none", "--heartbeat-interval", "1"];
    const env = { KAM_TOKEN: token, ...agentUnitEnvironment() };
    let a = (agent = startAgent(args, env));
    await waitFor("the agent connected", () => /connected to the server/.test(a.output()));
    await srv.kill("SIGTERM");
    // more than the outbox takes: it fills to its high-water mark, the rest waits in the file
    const total = SOURCE_HIGH_WATER_RECORDS + 10_000;
    appendLines(log, 0, total);
    await waitFor("the file source paused", () => /backlog: reading paused until the outbox drains/.test(a.output()), 60_000);
    // the first pause comes while the records are still being written (pending bytes); the outbox reaches its
    // record mark within a second or two
    await new Promise((r) => setTimeout(r, 5000));
    await a.stop("SIGKILL");
    a = agent = startAgent(args, env);
    const rss = sampleRss(a.child.pid!);
    t.after(() => rss.stop());
    await waitFor("the outbox reopened", () => /"depth":\d+[^\n]*outbox opened|outbox opened[^\n]*"depth":\d+/.test(a.output()), 30_000);
    const depth = Number(/"depth":(\d+)/.exec(a.output().split("\n").find((l) => l.includes("outbox opened")) ?? "")?.[1]);
    assert.ok(depth >= SOURCE_HIGH_WATER_RECORDS * 0.9, `the full outbox survived the kill: depth ${depth}`);
    await new Promise((r) => setTimeout(r, 3000)); // it follows its file again, the server still away
    await srv.restart();
    await waitStored(total, a, 90_000, cluster);
    await new Promise((r) => setTimeout(r, 1500));
    rss.stop();
    assert.deepEqual(await counts(cluster), { n: total, lines: total, seqs: total }, "every line exactly once across the kill");
    process.stderr.write(`agent restarted with a full outbox (depth ${depth}): peak VmRSS ${rss.peakMiB().toFixed(1)} MiB, peak Pss ${rss.peakPssMiB().toFixed(1)} MiB\n`);
    assert.ok(rss.peakMiB() <= AGENT_RSS_BOUND_MIB, `peak VmRSS ${rss.peakMiB().toFixed(1)} MiB > ${AGENT_RSS_BOUND_MIB} MiB (Pss ${rss.peakPssMiB().toFixed(1)} MiB)`);
  });
});
