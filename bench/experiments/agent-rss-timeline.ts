/**
 * Experiment (not part of `npm run bench`): the deployed agent (the unit's environment, a keepalived stand-in with
 * its pidfiles) from its spawn: VmRSS every second, its memory by mapping at 3 s, 12 s and the end (/proc/PID/smaps), and
 * each thread's CPU from 10 s on (schedstat). docs/PERFORMANCE.md, issue 17, session 35.
 *   npx tsx bench/experiments/agent-rss-timeline.ts [bundle]
 *   SECS=60             how long to watch
 *   EXTRA="--trace-gc"  node options (those NODE_OPTIONS refuses too: --cpu-prof, ...) put before the bundle
 *   TRACE_OUT=1         print the agent's non-JSON output (what --trace-gc writes)
 *   AGENT_ENV="K=V ..."  more environment for the agent (malloc settings, ...)
 *   SNAPSHOT_AT=20      with EXTRA="--heapsnapshot-signal=SIGUSR2": a heap snapshot at that second (in the agent's cwd)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AGENT_BUNDLE, agentUnitEnvironment, startAgent } from "../../test/helpers/agent";
import { startBenchServer, sleep } from "../lib/env";
import { createTokens } from "../lib/db";
import { rssMiB } from "../lib/proc";
import { idleKeepalived, nodeLayout } from "../agent";

function smapsBy(pid: number): string {
  const by = new Map<string, number>();
  let key = "";
  for (const l of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (head) key = `${head[2] ? path.basename(head[2]) : "anon " + l.split(" ")[0]} ${head[1]}`;
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (m) by.set(key, (by.get(key) ?? 0) + Number(m[1]) / 1024);
  }
  return [...by].filter(([, v]) => v >= 0.1).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
}

const bundle = process.argv[2] ?? AGENT_BUNDLE;
const SECS = Number(process.env.SECS ?? 60);
const srv = await startBenchServer("rss-timeline");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-rss-"));
try {
  const token = (await createTokens(srv, ["t"])).get("t")!;
  const { conf, logFile } = nodeLayout(tmp);
  const realNode = process.execPath;
  if (process.env.EXTRA) {
    fs.writeFileSync(path.join(tmp, "node.sh"), `#!/bin/sh\nexec ${realNode} ${process.env.EXTRA} "$@"\n`, { mode: 0o755 });
    process.execPath = path.join(tmp, "node.sh");
  }
  const k = idleKeepalived(path.join(tmp, "keepalived"));
  await sleep(300);
  const a = startAgent(["--pidfile", k.pidfile, "--vrrp-pidfile", k.vrrpPidfile, "--server", srv.url, "--node", "t1", "--state-dir", path.join(tmp, "state/a"), "--source", "file", "--log-file", logFile, "--keepalived-conf", conf],
    { KAM_TOKEN: token, NODE_EXTRA_CA_CERTS: "", ...agentUnitEnvironment(), ...(process.env.AGENT_ENV ? Object.fromEntries(process.env.AGENT_ENV.split(" ").map((kv) => kv.split("="))) : {}) }, bundle);
  process.execPath = realNode;
  const pid = a.child.pid!;
  const xs: string[] = [];
  const threads = () => Object.fromEntries(fs.readdirSync(`/proc/${pid}/task`).map((t) => [fs.readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim() + ":" + t, Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]) / 1e6]));
  let t10: Record<string, number> = {};
  for (let s = 0; s < SECS; s++) {
    await sleep(1000);
    if (s === 10) t10 = threads();
    if (s === 3 || s === 12 || s === SECS - 1) console.log(`smaps at ${s} s:`, smapsBy(pid));
    if (s === Number(process.env.SNAPSHOT_AT)) process.kill(pid, "SIGUSR2"); // with EXTRA="--heapsnapshot-signal=SIGUSR2"
    xs.push(rssMiB(pid).toFixed(1));
  }
  const t1 = threads();
  console.log("rss per s:", xs.join(" "));
  console.log("thread ms since 10 s:", Object.entries(t1).map(([k, v]) => `${k} ${(v - (t10[k] ?? 0)).toFixed(1)}`).join(", "));
  if (process.env.TRACE_OUT) console.log(a.output().split("\n").filter((l) => !l.startsWith("{")).join("\n"));
  await a.stop();
  k.stop();
} finally {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
