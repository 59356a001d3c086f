/**
 * A start command (npm start, scripts/start.mjs, a kam-server) run as a real process on a free loopback port,
 * until the server it starts answers /api/health: the tests of how the product is built, started and stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./port";
import { sleep } from "./wait";

export interface StartedCommand {
  child: ChildProcess;
  port: number;
  /** stdout and stderr so far */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** starts `command args --port P --host 127.0.0.1` in cwd on a free port, without waiting for anything */
export async function spawnCommand(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<StartedCommand & { gone(): boolean }> {
  const port = await freePort();
  const child = spawn(command, [...args, "--port", String(port), "--host", "127.0.0.1"], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      gone = true;
      resolve({ code, signal });
    }));
  return { child, port, output: () => out, exited, gone: () => gone };
}

/** starts `command args --port P --host 127.0.0.1` in cwd and waits (up to timeoutMs) for /api/health to answer 200 */
export async function startCommand(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<StartedCommand> {
  const { gone, ...started } = await spawnCommand(command, args, opts);
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new Error(`${command} ${args.join(" ")} exited before answering:\n${started.output()}`);
    if (Date.now() > deadline) {
      started.child.kill("SIGKILL");
      throw new Error(`${command} ${args.join(" ")}: no answer on /api/health within ${timeoutMs / 1000} s:\n${started.output()}`);
    }
    // refused until it listens: that is the "not yet" this loop waits out
    const ok = await fetch(`http://127.0.0.1:${started.port}/api/health`).then((r) => r.ok, () => false);
    if (ok) return started;
    await sleep(250);
  }
}
