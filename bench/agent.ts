/**
 * The agent on a quiet node: the real bundle (dist/keepalived-agent.cjs)
 * against the real server, following a log file nobody writes to, reading a
 * keepalived.conf, probing the host's own addresses (no --netns).
 * - idle RSS (VmRSS, sampled every second; max) and CPU over IDLE_S seconds
 *   (/proc/<pid>/stat ticks of the agent, of the children it reaped -- the
 *   periodic `ip -j addr show` -- and of its long-lived `ip monitor` child);
 *   baseline: a bare `node` process with one timer, same sampling.
 * - cold start of the bundle: `node keepalived-agent.cjs --version` (median
 *   of 7) against `node -e 0`; and spawn -> "connected to the server".
 * - bundle size (and gzipped).
 * The agent runs with the environment of agent/keepalived-agent.service (its
 * `Environment=` lines, quoted ones too: MALLOC_MMAP_THRESHOLD_=131072, a fixed glibc mmap
 * threshold, so the 16 MiB scrypt buffer of the auth_pass hashing is returned
 * to the system), as deployed; a second agent idles alongside without that
 * setting, to show its effect in the same run (neither gets this shell's
 * NODE_EXTRA_CA_CERTS, nor does the bare node). Memory is VmRSS and, from
 * /proc/<pid>/smaps_rollup, Pss and private memory (what the process alone
 * costs: the node binary's pages are shared by every node process).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { AGENT_BUNDLE, agentUnitEnvironment, startAgent, type AgentProc } from "../test/helpers/agent";
import { waitFor } from "../test/helpers/wait";
import { startBenchServer, q, step, sleep, hasBinary, onInterrupt } from "./lib/env";
import { createTokens } from "./lib/db";
import { anonMiB, childPids, clkTck, comm, cpuMs, cpuTicks, mainThreadWaits, privateMiB, rssMiB, sampleRss } from "./lib/proc";
import { row, runStandalone, isMain, unavailable, type Row } from "./lib/result";
import { fmt, median } from "./lib/stats";
import { keepalivedConf } from "./latency";

const IDLE_S = Number(process.env.BENCH_AGENT_IDLE_S ?? q(60, 30));
/** from "connected" to the idle window */
const SETTLE_S = 12;

function wallMs(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}`);
  return performance.now() - t;
}

/** idle figures of a running process: CPU % of a core (self, reaped children, live children), RSS max */
async function idleFigures(pid: number, seconds: number) {
  const liveKids = () => childPids(pid).map((c) => ({ pid: c, comm: comm(c), ms: cpuMs(c) }));
  const k0 = new Map(liveKids().map((k) => [k.pid, k.ms]));
  const c0 = cpuTicks(pid);
  const m0 = cpuMs(pid);
  const w0 = mainThreadWaits(pid);
  const t0 = performance.now();
  const rss = sampleRss(pid, 1000);
  await sleep(seconds * 1000);
  const samples = rss.stop();
  const secs = (performance.now() - t0) / 1000;
  const c1 = cpuTicks(pid);
  const m1 = cpuMs(pid);
  const w1 = mainThreadWaits(pid);
  const kids = liveKids();
  const live = kids.reduce((s, k) => s + (Number.isFinite(k.ms) ? k.ms - (k0.get(k.pid) ?? 0) : 0), 0);
  const pct = (ticks: number) => (ticks / clkTck() / secs) * 100;
  const pctMs = (ms: number) => (ms / 1000 / secs) * 100;
  return {
    // the process's own threads: schedstat (ns), not the 10 ms ticks; reaped children only exist as ticks
    selfPct: pctMs(m1 - m0),
    /** the main thread's wake-ups per second (its waits that ended) */
    wakeups: (w1 - w0) / secs,
    reapedPct: pct(c1.children - c0.children),
    livePct: pctMs(live),
    liveKids: kids.map((k) => `${k.comm} ${fmt(rssMiB(k.pid))} MiB`),
    rssMax: Math.max(...samples),
    rssMedian: median(samples),
    anon: anonMiB(pid),
    ...privateMiB(pid),
    secs,
  };
}

/** the breakdown's agents: each turns one activity off (the last: all of them) */
const ABLATIONS: { what: string; flags: Record<string, string> }[] = [
  { what: "periodic VIP probe (`ip -j addr` and a report every 60 s while `ip monitor` runs)", flags: { "--vip-interval": "3600" } },
  { what: "heartbeats (every 5 s)", flags: { "--heartbeat-interval": "300" } },
  { what: "process watch (keepalived's /proc/PID/stat every 1 s)", flags: { "--pidfile": "none" } },
  { what: "config watch (keepalived.conf every 5 s)", flags: { "--keepalived-conf": "none" } },
  { what: "", flags: { "--vip-interval": "3600", "--heartbeat-interval": "300", "--pidfile": "none", "--keepalived-conf": "none" } },
];

/** a node's layout under dir: config (a two-router keepalived.conf), log (empty) and state in their own directories */
export function nodeLayout(dir: string): { conf: string; logFile: string } {
  for (const d of ["etc", "log", "state"]) fs.mkdirSync(path.join(dir, d));
  const conf = path.join(dir, "etc/keepalived.conf");
  fs.writeFileSync(conf, keepalivedConf(2));
  const logFile = path.join(dir, "log/keepalived.log");
  fs.writeFileSync(logFile, "");
  return { conf, logFile };
}

/**
 * keepalived as the agent sees it on an idle node, without keepalived: a parent process named keepalived (a
 * script of that name) and its VRRP child (a copy of `sleep` named keepalived), their pidfiles written like
 * `keepalived -p -r`. Nothing wakes them (test/helpers/fake-keepalived.ts polls, for tests that stop it often).
 */
export function idleKeepalived(dir: string) {
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  const sleepBin = spawnSync("sh", ["-c", "command -v sleep"]).stdout.toString().trim();
  fs.copyFileSync(fs.realpathSync(sleepBin), path.join(dir, "bin/keepalived"));
  fs.chmodSync(path.join(dir, "bin/keepalived"), 0o755);
  const script = path.join(dir, "keepalived");
  fs.writeFileSync(script, `#!/bin/sh\n"${dir}/bin/keepalived" infinity &\necho $! > '${dir}/vrrp.pid'\necho $$ > '${dir}/keepalived.pid'\ntrap 'kill $!; exit 0' TERM\nwait\n`, { mode: 0o755 });
  const p = spawn(script, [], { stdio: "ignore" });
  return {
    pidfile: path.join(dir, "keepalived.pid"),
    vrrpPidfile: path.join(dir, "vrrp.pid"),
    stop: () => p.kill("SIGTERM"),
  };
}

export async function benchAgent(): Promise<Row[]> {
  const B = "agent";
  if (!fs.existsSync(AGENT_BUNDLE)) return [unavailable(B, "agent", `${AGENT_BUNDLE} missing: node agent/build.mjs`)];
  if (!hasBinary("ip")) return [unavailable(B, "agent idle", "iproute2 `ip` is missing (the VIP probe needs it)")];
  const rows: Row[] = [];

  // bundle size
  const buf = fs.readFileSync(AGENT_BUNDLE);
  const gz = zlib.gzipSync(buf, { level: 9 }).length;
  rows.push(row({ bench: B, name: "bundle size (dist/keepalived-agent.cjs)", unit: "KiB", value: buf.length / 1024, stat: "1 file", detail: `${fmt(gz / 1024)} KiB gzipped; no node_modules needed` }));

  // cold start of the file itself
  wallMs([AGENT_BUNDLE, "--version"]);
  const cold = Array.from({ length: 7 }, () => wallMs([AGENT_BUNDLE, "--version"]));
  const bare = Array.from({ length: 7 }, () => wallMs(["-e", "0"]));
  rows.push(row({ bench: B, name: "cold start: node keepalived-agent.cjs --version", unit: "ms", value: median(cold), stat: "median of 7", baseline: { name: "node -e 0", value: median(bare) },
    detail: `runs ${cold.map((x) => fmt(x)).join(", ")} ms; node -e 0: ${bare.map((x) => fmt(x)).join(", ")} ms` }));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bench-agent-"));
  const srv = await startBenchServer(B);
  let agent: AgentProc | null = null;
  let variant: AgentProc | null = null;
  const ablated: AgentProc[] = [];
  // A service gets the unit's environment, not this shell's: NODE_EXTRA_CA_CERTS (set on some build machines) makes
  // every node process load that CA file at start (+1.8 MiB RSS for a system bundle), so the agents and the bare node
  // run without it unless the unit sets it; the first row's detail says when it was set here.
  const shellCa = process.env.NODE_EXTRA_CA_CERTS;
  const noShellCa = { NODE_EXTRA_CA_CERTS: "" };
  const baseline = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore", env: { ...process.env, ...noShellCa } });
  const keepalived = idleKeepalived(path.join(tmp, "keepalived"));
  const forget = onInterrupt(async () => {
    baseline.kill("SIGKILL");
    keepalived.stop();
    await agent?.stop("SIGKILL");
    await variant?.stop("SIGKILL");
    for (const a of ablated) await a.stop("SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  try {
    const token = (await createTokens(srv, ["idle"])).get("idle")!;
    const { conf, logFile } = nodeLayout(tmp);
    // as on a node: keepalived runs (its pidfiles), so the process watch follows it instead of scanning /proc
    const args = (dir: string, node = "idle1", over: Record<string, string> = {}) =>
      Object.entries({
        "--server": srv.url, "--node": node, "--state-dir": path.join(tmp, "state", dir), "--source": "file", "--log-file": logFile, "--keepalived-conf": conf,
        "--pidfile": keepalived.pidfile, "--vrrp-pidfile": keepalived.vrrpPidfile, ...over,
      }).flat();

    // spawn -> connected (a fresh state directory each time: a first start)
    const connect: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const a = startAgent(args(`s${i}`, `start${i}`), { KAM_TOKEN: token });
      await waitFor("agent connected", () => /connected to the server/.test(a.output()), 30_000, 5);
      connect.push(performance.now() - t);
      await a.stop();
    }
    rows.push(row({ bench: B, name: "start: spawn -> connected to the server", unit: "ms", value: median(connect), stat: "median of 3", detail: `runs ${connect.map((x) => fmt(x)).join(", ")} ms (first start: state directory created)` }));

    const unitEnv = { ...noShellCa, ...agentUnitEnvironment() }; // every Environment= line of the unit, quoted ones (NODE_OPTIONS) too
    const unitText = Object.entries(agentUnitEnvironment()).map(([k, v]) => `${k}=${v}`).join(" ") || "none";
    agent = startAgent(args("idle"), { KAM_TOKEN: token, ...unitEnv });
    const plain = { ...process.env };
    for (const k of Object.keys(unitEnv)) delete plain[k];
    variant = startAgent(args("idle-plain", "idle2"), { ...(plain as Record<string, string>), ...noShellCa, KAM_TOKEN: token });
    // per-activity breakdown: the same agent (unit environment) with one activity turned off or made rare, in the
    // same window; the activity's cost is the deployed agent's CPU minus this one's. The last has all of them off:
    // what is left is the log file follower, socket.io's own pings and node itself.
    for (const [i, ab] of ABLATIONS.entries()) ablated.push(startAgent(args(`ablate${i}`, `ablate${i}`, ab.flags), { KAM_TOKEN: token, ...unitEnv }));
    await waitFor("agents connected", () => [agent!, variant!, ...ablated].every((x) => /connected to the server/.test(x.output())), 30_000);
    // settle: the first probe, config snapshot and backfill, then V8's first memory-reducing GC, which gives back
    // what start-up left in the heap (about 3 MiB: 8 to 9 s after the spawn, V8's memory reducer; neither a gc()
    // nor its start-delay flag brings it forward, docs/PERFORMANCE.md): idle is what the node pays from then on,
    // and the start-up peak is its own row
    const startup = sampleRss(agent.child.pid!, 500);
    await sleep(SETTLE_S * 1000);
    const startupRss = startup.stop();
    step(`agent: idle for ${IDLE_S} s (agent pid ${agent.child.pid}, variant pid ${variant.child.pid}, ${ablated.length} breakdown agents, bare node pid ${baseline.pid})...`);
    const [a, b, v, ...abl] = await Promise.all([
      idleFigures(agent.child.pid!, IDLE_S),
      idleFigures(baseline.pid!, IDLE_S),
      idleFigures(variant.child.pid!, IDLE_S),
      ...ablated.map((x) => idleFigures(x.child.pid!, IDLE_S)),
    ]);
    const cpuOf = (f: typeof a) => f.selfPct + f.reapedPct + f.livePct;
    const total = a.selfPct + a.reapedPct + a.livePct;
    rows.push(
      row({
        bench: B,
        name: "idle RSS (max over the window), as deployed",
        unit: "MiB",
        value: a.rssMax,
        stat: `max of ${IDLE_S} samples, from ${SETTLE_S} s after connected`,
        baseline: { name: "bare node", value: b.rssMax },
        target: [{ op: "<=", value: 45 }],
        detail: `unit environment: ${unitText}; median ${fmt(a.rssMedian)} MiB; the rest of VmRSS is mostly the node binary's pages, shared by every node process; bare node: ${fmt(b.rssMax)} MiB; its children: ${a.liveKids.join(", ") || "none"}${shellCa ? "; this shell's NODE_EXTRA_CA_CERTS not passed on (a service does not inherit it)" : ""}`,
      }),
      row({
        bench: B,
        name: "RSS during start-up, as deployed",
        unit: "MiB",
        value: Math.max(...startupRss),
        stat: `max over the first ${SETTLE_S} s after connected`,
        baseline: { name: "bare node", value: b.rssMax },
        detail: `the heap start-up left, given back at V8's first memory-reducing GC 8 to 9 s after the spawn; samples every 500 ms: ${startupRss.map((x) => fmt(x)).join(" ")}`,
      }),
      row({
        bench: B,
        name: "idle private memory (Private_Clean + Private_Dirty), as deployed",
        unit: "MiB",
        value: a.priv,
        stat: "at the end of the window",
        baseline: { name: "bare node", value: b.priv },
        detail: `Pss ${fmt(a.pss, 1)} MiB, anonymous ${fmt(a.anon, 1)} MiB; bare node: private ${fmt(b.priv, 1)}, Pss ${fmt(b.pss, 1)} MiB`,
      }),
      row({
        bench: B,
        name: "idle RSS without the unit's Environment= settings (same run)",
        unit: "MiB",
        value: v.rssMax,
        stat: `max of ${IDLE_S} samples`,
        baseline: { name: "bare node", value: b.rssMax },
        detail: `without ${Object.keys(agentUnitEnvironment()).join(", ")}: private ${fmt(v.priv, 1)} MiB, Pss ${fmt(v.pss, 1)} MiB (glibc keeps the freed scrypt buffers, V8 sizes its heap freely); CPU ${(v.selfPct + v.reapedPct + v.livePct).toFixed(2)}% of a core`,
      }),
      row({
        bench: B,
        name: "idle CPU (agent + its ip processes)",
        unit: "% of a core",
        value: total,
        stat: `${fmt(a.secs, 0)} s window`,
        baseline: { name: "bare node", value: b.selfPct },
        target: [{ op: "<=", value: 0.2 }], // issue 17 (issue 7: 0.5)
        detail: `agent ${a.selfPct.toFixed(3)}%, reaped children (periodic ip -j addr) ${a.reapedPct.toFixed(3)}%, live children (ip monitor) ${a.livePct.toFixed(3)}%; keepalived running (pidfiles); CPU from schedstat`,
      }),
      row({
        bench: B,
        name: "idle wake-ups of the agent's main thread",
        unit: "per s",
        value: a.wakeups,
        stat: `${fmt(a.secs, 0)} s window`,
        baseline: { name: "bare node with one 1 s timer", value: b.wakeups },
        detail: `voluntary context switches of the main thread (/proc/PID/task/PID/status): the event loop's wake-ups, a count the machine's load does not move (the CPU rows do); the breakdown agents: ${ABLATIONS.map((ab, i) => `${i === ABLATIONS.length - 1 ? "all off" : ab.what.split(" (")[0]} off ${fmt(abl[i].wakeups, 2)}`).join(", ")}`,
      }),
      ...ABLATIONS.map((ab, i) => {
        const last = i === ABLATIONS.length - 1;
        return row({
          bench: B,
          name: last ? "idle CPU left with all of them off (log file follower, socket.io pings, node)" : `idle CPU of the ${ab.what}`,
          unit: "% of a core",
          value: last ? cpuOf(abl[i]) - b.selfPct : total - cpuOf(abl[i]),
          stat: last ? "that agent minus the bare node" : "deployed agent minus one without it, same window",
          detail: `the agent with ${ab.flags ? Object.entries(ab.flags).flat().join(" ") : ""}: ${cpuOf(abl[i]).toFixed(3)}% (own ${abl[i].selfPct.toFixed(3)}%, reaped ${abl[i].reapedPct.toFixed(3)}%, live children ${abl[i].livePct.toFixed(3)}%), RSS max ${fmt(abl[i].rssMax)} MiB`,
        });
      }),
    );
    return rows;
  } catch (e) {
    console.error(e);
    if (agent) console.error(agent.output().slice(-2000));
    return [...rows, unavailable(B, "agent idle", `failed: ${(e as Error).message}`)];
  } finally {
    forget();
    baseline.kill();
    keepalived.stop();
    await agent?.stop();
    await variant?.stop();
    for (const x of ablated) await x.stop();
    await srv.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone("agent", benchAgent);
