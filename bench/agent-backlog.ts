/**
 * The agent under a backlog (issue 18): the real bundle, with its unit's
 * environment, against the real server; BACKLOG lines are waiting for it at
 * once, and it must catch up without its memory growing with the backlog.
 * - file source: the agent follows an empty log file; BACKLOG keepalived lines
 *   are appended in one go.
 * - journald source (a private journald, test/helpers/journald.ts; root only):
 *   the agent is stopped after it saved a cursor, BACKLOG lines are logged,
 *   the agent is started again and resumes after its cursor.
 * Rows: peak VmRSS of the agent (sampled every 100 ms from /proc; Pss and the
 * anonymous share at the peak in the detail) against the 64 MiB target, and the catch-up rate (lines stored per second)
 * against the server's per-agent limit (KAM_AGENT_RECORDS_PER_SECOND, default
 * 5,000/s), which is the ceiling of the same run.
 * BENCH_BACKLOG_LINES sets the backlog, BENCH_BACKLOG_SOURCES=file or journald
 * runs one source.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { AGENT_BUNDLE, agentUnitEnvironment, startAgent, type AgentProc } from "../test/helpers/agent";
import { waitFor } from "../test/helpers/wait";
import { queryDb } from "../test/helpers/server";
import { startPrivateJournald } from "../test/helpers/journald";
import { startBenchServer, q, step, onInterrupt, type BenchServer } from "./lib/env";
import { createTokens } from "./lib/db";
import { anonMiB, privateMiB, rssMiB } from "./lib/proc";
import { row, runStandalone, isMain, unavailable, type Row } from "./lib/result";
import { fmt } from "./lib/stats";

const BACKLOG = Number(process.env.BENCH_BACKLOG_LINES ?? q(1_000_000, 100_000));
/** the server's per-agent limit in this run (its default) */
const LIMIT = Number(process.env.KAM_AGENT_RECORDS_PER_SECOND ?? 5000);
const TARGET_MIB = 64;
/** BENCH_BACKLOG_SOURCES=journald (or file): one source only, e.g. to compare agent builds (default: both) */
const SOURCES = new Set((process.env.BENCH_BACKLOG_SOURCES ?? "file,journald").split(",").map((s) => s.trim()));

const line = (i: number) => `(VI_1) backlog line ${String(i).padStart(7, "0")} ${"x".repeat(60)}`;

function sampler(pid: number) {
  let rss = 0;
  let pss = 0;
  let anonAtPeak = NaN;
  const t = setInterval(() => {
    const r = rssMiB(pid);
    const p = privateMiB(pid).pss;
    if (!Number.isNaN(r) && r > rss) {
      rss = r;
      anonAtPeak = anonMiB(pid);
    }
    if (!Number.isNaN(p)) pss = Math.max(pss, p);
  }, 100);
  return { stop: () => clearInterval(t), peak: () => ({ rss, pss, anonAtPeak }) };
}

async function stored(srv: BenchServer, cluster: string): Promise<number> {
  const [r] = await queryDb<{ n: number }>(srv, `SELECT count(*)::int AS n FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = $1 AND l.line LIKE '%backlog line%'`, [cluster]);
  return r.n;
}

function rows(B: string, source: string, n: number, secs: number, peak: { rss: number; pss: number; anonAtPeak: number }, extra: string): Row[] {
  return [
    // VmRSS, the figure (node's own binary pages included: shared, but resident for this process too)
    row({ bench: B, name: `agent backlog (${source}): peak memory while catching up`, unit: "MiB", value: peak.rss, stat: "max VmRSS, sampled every 100 ms",
      target: [{ op: "<=", value: TARGET_MIB }],
      detail: `backlog ${n} lines; anonymous memory (V8 and malloc heaps) at the peak ${fmt(peak.anonAtPeak, 1)} MiB; peak Pss ${fmt(peak.pss, 1)} MiB; ${extra}` }),
    row({ bench: B, name: `agent backlog (${source}): catch-up rate`, unit: "lines/s", value: n / secs, stat: `${n} lines in ${fmt(secs, 1)} s`,
      baseline: { name: "server per-agent limit", value: LIMIT }, detail: `${fmt((1_000_000 / (n / secs)) / 60, 1)} min per million lines at this rate` }),
  ];
}

export async function benchAgentBacklog(): Promise<Row[]> {
  const B = "agent-backlog";
  if (!fs.existsSync(AGENT_BUNDLE)) return [unavailable(B, "agent backlog", `${AGENT_BUNDLE} missing: node agent/build.mjs`)];
  const out: Row[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bench-backlog-"));
  const srv = await startBenchServer(B);
  const agents: AgentProc[] = [];
  const forget = onInterrupt(async () => {
    for (const a of agents) await a.stop("SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const common = (name: string) => ["--server", srv.url, "--node", name, "--state-dir", path.join(tmp, name), "--keepalived-conf", "none", "--ip", "/bin/false"];
  try {
    const tokens = await createTokens(srv, ["backlog-file", "backlog-journal"]);
    // file source
    if (SOURCES.has("file")) {
      const log = path.join(tmp, "keepalived.log");
      fs.writeFileSync(log, "");
      const a = startAgent([...common("bf1"), "--source", "file", "--log-file", log], { KAM_TOKEN: tokens.get("backlog-file")!, ...agentUnitEnvironment() });
      agents.push(a);
      await waitFor("the agent connected", () => /connected to the server/.test(a.output()), 60_000);
      step(`agent backlog (file): appending ${BACKLOG} lines`);
      const s = sampler(a.child.pid!);
      const t0 = performance.now();
      const fd = fs.openSync(log, "a");
      for (let i = 0; i < BACKLOG; i += 10_000) {
        let chunk = "";
        for (let j = i; j < Math.min(BACKLOG, i + 10_000); j++) chunk += `Fri Dec  4 12:00:00 2026: Keepalived_vrrp[4242]: ${line(j)}\n`;
        fs.writeSync(fd, chunk);
      }
      fs.closeSync(fd);
      await waitFor(`${BACKLOG} lines stored`, async () => (await stored(srv, "backlog-file")) >= BACKLOG, BACKLOG * 2 + 60_000, 1000);
      const secs = (performance.now() - t0) / 1000;
      s.stop();
      out.push(...rows(B, "file", BACKLOG, secs, s.peak(), `backpressure pauses logged: ${(a.output().match(/reading paused/g) ?? []).length} (at most one per 10 s)`));
      await a.stop();
    }
    // journald source
    const j = SOURCES.has("journald") ? await startPrivateJournald() : null;
    if (j === null) step("agent backlog (journald): skipped (BENCH_BACKLOG_SOURCES)");
    else if ("unavailable" in j) out.push(unavailable(B, "agent backlog (journald)", j.unavailable));
    else {
      try {
        // this bench logs through `logger`: match its identifier (the default match is on keepalived's own process, see README)
        const args = [...common("bj1"), "--source", "journal", "--journal-directory", j.journalDir, "--journal-match", "SYSLOG_IDENTIFIER=Keepalived_vrrp"];
        const env = { KAM_TOKEN: tokens.get("backlog-journal")!, ...agentUnitEnvironment() };
        let a = startAgent(args, env);
        agents.push(a);
        await waitFor("the agent following the journal", () => /following the journal/.test(a.output()), 60_000);
        j.log("Keepalived_vrrp", 4242, "(VI_1) first line: the agent saves a cursor");
        await waitFor("a first line stored", async () => {
          const [r] = await queryDb<{ n: number }>(srv, `SELECT count(*)::int AS n FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = 'backlog-journal'`);
          return r.n > 0;
        }, 60_000);
        await a.stop();
        step(`agent backlog (journald): logging ${BACKLOG} lines while the agent is stopped`);
        const logger = spawn("logger", ["--socket", j.syslogSocket, "--socket-errors=on", "-t", "Keepalived_vrrp", "--id=4242", "-p", "local1.info"], { stdio: ["pipe", "ignore", "inherit"] });
        for (let i = 0; i < BACKLOG; i++) {
          if (!logger.stdin!.write(`${line(i)}\n`)) await new Promise((r) => logger.stdin!.once("drain", r));
        }
        logger.stdin!.end();
        await new Promise((r) => logger.once("exit", r));
        // journald may rate-limit or drop: the backlog is what the journal holds
        const { execFileSync } = await import("node:child_process");
        const held = Number(execFileSync("sh", ["-c", `journalctl --directory '${j.journalDir}' --no-pager -o cat SYSLOG_IDENTIFIER=Keepalived_vrrp | grep -c 'backlog line'`]).toString().trim());
        a = startAgent(args, env);
        agents.push(a);
        const s = sampler(a.child.pid!);
        const t0 = performance.now();
        await waitFor(`${held} journal lines stored`, async () => (await stored(srv, "backlog-journal")) >= held, held * 2 + 60_000, 1000);
        const secs = (performance.now() - t0) / 1000;
        s.stop();
        out.push(...rows(B, "journald", held, secs, s.peak(), `${BACKLOG} logged, ${held} kept by journald; catch-up timed from the agent's restart`));
        await a.stop();
      } finally {
        await j.stop();
      }
    }
  } finally {
    forget();
    for (const a of agents) await a.stop("SIGKILL");
    await srv.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

if (isMain(import.meta.url)) await runStandalone("agent-backlog", benchAgentBacklog);
