/**
 * Runs the REAL agent (the built single file dist/keepalived-agent.cjs) as a
 * child process, the way it runs on a node.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./server";

export const AGENT_BUNDLE = path.join(ROOT, "dist/keepalived-agent.cjs");

export interface AgentProc {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `bundle`: another copy of the bundle (one the install script installed), default the built one */
export function startAgent(args: string[], env: Record<string, string> = {}, bundle = AGENT_BUNDLE): AgentProc {
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build:agent (npm test builds it)`);
  let out = "";
  const child = spawn(process.execPath, [bundle, ...args], {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const sink = (b: Buffer) => {
    out += b.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout!.on("data", sink);
  child.stderr!.on("data", sink);
  return {
    child,
    output: () => out,
    stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill(signal);
      });
    },
  };
}

/** moved to ./wait (one poller for all tests); re-exported so imports from here keep working */
export { waitFor } from "./wait";

/**
 * The real agent following a log file of its own (in a temporary directory removed after the test, the agent
 * SIGKILLed): no keepalived.conf, no VIP probe. `args` are added to the command line.
 */
export function startFileAgent(
  t: { after(fn: () => Promise<void> | void): void },
  o: { server: string; token: string; node: string; args?: string[]; env?: Record<string, string> },
): { agent: AgentProc; log: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kam-${o.node}-`));
  const log = path.join(dir, "keepalived.log");
  fs.writeFileSync(log, "");
  const agent = startAgent(["--server", o.server, "--node", o.node, "--state-dir", path.join(dir, "state"), "--source", "file", "--log-file", log,
    "--keepalived-conf", "none", "--ip", "/bin/false", ...(o.args ?? [])], { KAM_TOKEN: o.token, ...o.env });
  t.after(async () => {
    await agent.stop("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { agent, log, dir };
}

/**
 * The `Environment=` settings of agent/keepalived-agent.service (quoted ones too), but the state
 * directory: tests and benchmarks run the agent as deployed (malloc and V8 heap settings).
 */
export function agentUnitEnvironment(): Record<string, string> {
  const unit = fs.readFileSync(path.join(ROOT, "agent/keepalived-agent.service"), "utf8");
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=(?:"(\w+)=([^"]*)"|(\w+)=(\S*))$/gm)) {
    const [k, v] = m[1] ? [m[1], m[2]] : [m[3], m[4]];
    if (k !== "KAM_STATE_DIR") env[k] = v;
  }
  return env;
}
