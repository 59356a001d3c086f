/**
 * Experiment (not part of `npm run bench`): the idle agent's memory under
 * different process settings, side by side in one run against the real
 * server: VmRSS, Pss and private memory (Private_Clean + Private_Dirty, from
 * /proc/<pid>/smaps_rollup) after an idle settle, plus a bare `node`.
 *
 *   npx tsx bench/experiments/agent-memory.ts      (BENCH_AGENT_SETTLE_S, default 20)
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AGENT_BUNDLE } from "../../test/helpers/agent";
import { startBenchServer, sleep } from "../lib/env";
import { createTokens } from "../lib/db";
import { nodeLayout } from "../agent";

const SETTLE_S = Number(process.env.BENCH_AGENT_SETTLE_S ?? 20);

function smaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) out[m[1]] = Number(m[2]) / 1024;
  }
  return out;
}

const variants: { name: string; node: string[]; env: Record<string, string> }[] = [
  { name: "default", node: [], env: {} },
  { name: "MALLOC_MMAP_THRESHOLD_=131072", node: [], env: { MALLOC_MMAP_THRESHOLD_: "131072" } },
  { name: "+ --max-semi-space-size=1", node: ["--max-semi-space-size=1"], env: { MALLOC_MMAP_THRESHOLD_: "131072" } },
  { name: "+ semi 1 + --max-old-space-size=32", node: ["--max-semi-space-size=1", "--max-old-space-size=32"], env: { MALLOC_MMAP_THRESHOLD_: "131072" } },
  { name: "+ semi 1 + --jitless", node: ["--max-semi-space-size=1", "--jitless"], env: { MALLOC_MMAP_THRESHOLD_: "131072" } },
  // issue 17: the unit's settings (agent/keepalived-agent.service), then with one more V8 option each
  ...[[], ["--single-threaded"], ["--v8-pool-size=0"], ["--lite-mode"], ["--max-lazy"], ["--no-flush-bytecode"], ["--stack-size=256"]].map((extra) => ({
    name: `unit${extra.length ? " + " + extra.join(" ") : ""}`,
    node: ["--jitless", "--max-semi-space-size=1", "--max-old-space-size=40", ...extra],
    env: { MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_ARENA_MAX: "2" },
  })),
];

const srv = await startBenchServer("agent-memory");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-agent-mem-"));
const kids: ChildProcess[] = [];
try {
  const token = (await createTokens(srv, ["mem"])).get("mem")!;
  const { conf, logFile } = nodeLayout(tmp);
  const procs = variants.map((v, i) => {
    const c = spawn(process.execPath, [...v.node, AGENT_BUNDLE, "--server", srv.url, "--node", `m${i}`, "--state-dir", path.join(tmp, "state", `s${i}`),
      "--source", "file", "--log-file", logFile, "--keepalived-conf", conf], { env: { ...process.env, KAM_TOKEN: token, LOG_LEVEL: "warn", ...v.env }, stdio: "ignore" });
    kids.push(c);
    return { v, c };
  });
  const bare = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  kids.push(bare);
  await sleep(SETTLE_S * 1000);
  const show = (name: string, pid: number) => {
    const s = smaps(pid);
    console.log(`${name.padEnd(40)} RSS ${s.Rss.toFixed(1).padStart(6)}  Pss ${s.Pss.toFixed(1).padStart(6)}  private ${(s.Private_Clean + s.Private_Dirty).toFixed(1).padStart(6)}  anon ${s.Anonymous.toFixed(1).padStart(6)} MiB`);
  };
  show("bare node", bare.pid!);
  for (const { v, c } of procs) show(v.name, c.pid!);
} finally {
  for (const k of kids) k.kill("SIGKILL");
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
