/** Parent side of bench/workers/swarm.ts: fork it and call its commands over IPC. */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../test/helpers/server";
import { onInterrupt } from "./env";

export interface Swarm {
  pid: number;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startSwarm(): Promise<Swarm> {
  const child: ChildProcess = fork(path.join(ROOT, "bench/workers/swarm.ts"), [], {
    execArgv: ["--import", "tsx"],
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on("message", (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.result);
    else w.reject(new Error(`swarm: ${m.error}`));
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.once("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`swarm worker exited (code ${code})`));
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  const forget = onInterrupt(() => void child.kill("SIGKILL"));
  return {
    pid: child.pid!,
    call<T>(cmd: string, args: unknown = {}, timeoutMs = 600_000) {
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`swarm ${cmd}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (v) => (clearTimeout(t), resolve(v as T)),
          reject: (e) => (clearTimeout(t), reject(e)),
        });
        child.send({ id, cmd, args });
      });
    },
    async close() {
      forget();
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        await Promise.race([
          new Promise<void>((resolve) => {
            const id = ++seq;
            waiting.set(id, { resolve: () => resolve(), reject: () => resolve() });
            child.send({ id, cmd: "close", args: {} });
          }),
          new Promise((r) => setTimeout(r, 3000)),
        ]);
      } catch {
        // already gone
      }
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
