/**
 * The replicas of one benchmark (bench/replicas.ts): servers on one fresh PostgreSQL database, each with its own
 * data directory, the clients connected to them (torn down together, also on Ctrl-C), /live browsers that time
 * the summaries they receive, and a node's config snapshot.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io, type Socket } from "socket.io-client";
import type { ClusterSummary } from "../../server/protocol";
import { instance } from "../../test/helpers/fake-agent";
import { createTestDb, type TestDb } from "../../test/helpers/db";
import { startBenchServer, onInterrupt, type BenchServer } from "./env";

const CFG = "/etc/keepalived/keepalived.conf";


/** replicas of one fresh database, and everything connected to them: torn down together */
export class Replicas {
  readonly servers: BenchServer[] = [];
  private dirs: string[] = [];
  private closers: { close(): void }[] = [];
  private forget: () => void;

  private constructor(readonly base: TestDb) {
    this.forget = onInterrupt(() => this.dropAll());
  }

  static async create(base?: TestDb): Promise<Replicas> {
    return new Replicas(base ?? (await createTestDb()));
  }

  /** another replica on the shared database (its own data directory, as in production) */
  async start(label: string, env: Record<string, string> = {}): Promise<BenchServer> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bench-replica-"));
    this.dirs.push(dataDir);
    const srv = await startBenchServer(label, { db: { ...this.base, dataDir, drop: async () => undefined }, env });
    this.servers.push(srv);
    return srv;
  }

  track<T extends { close(): void }>(x: T): T {
    this.closers.push(x);
    return x;
  }

  private async dropAll() {
    await this.base.drop().catch((e: Error) => console.error(`[bench] dropping the replicas' database: ${e.message}`));
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }

  async close() {
    for (const c of this.closers.splice(0)) {
      try {
        c.close();
      } catch (e) {
        console.error(`[bench] closing a client of the replicas: ${(e as Error).message}`);
      }
    }
    for (const s of this.servers.splice(0).reverse()) await s.close().catch((e: Error) => console.error(`[bench] closing a replica: ${e.message}`));
    this.forget();
    await this.dropAll();
  }
}

export interface Browser {
  socket: Socket;
  /** resolves with the receipt time (performance.now()) of the first summary matching `pred` */
  next(pred: (s: ClusterSummary) => boolean, timeoutMs?: number): Promise<number>;
  latest: Map<string, ClusterSummary>;
}

export async function browser(g: Replicas, srv: BenchServer, cookie?: string): Promise<Browser> {
  const socket = g.track(io(`${srv.url}/live`, { transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: { cookie: cookie ?? (await srv.session("viewer")).cookie } }));
  const latest = new Map<string, ClusterSummary>();
  const waiters = new Set<(s: ClusterSummary, at: number) => void>();
  socket.on("cluster", (s: ClusterSummary) => {
    const at = performance.now();
    latest.set(s.name, s);
    for (const w of [...waiters]) w(s, at);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  const ack = (await socket.timeout(5000).emitWithAck("subscribe", { clusters: ["*"] })) as { ok: boolean; message?: string };
  if (!ack.ok) throw new Error(`subscribe refused: ${ack.message}`);
  return {
    socket,
    latest,
    next(pred, timeoutMs = 10_000) {
      const p = new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => (waiters.delete(w), reject(new Error(`no matching summary within ${timeoutMs} ms`))), timeoutMs);
        const w = (s: ClusterSummary, at: number) => {
          if (!pred(s)) return;
          clearTimeout(t);
          waiters.delete(w);
          resolve(at);
        };
        waiters.add(w);
      });
      // awaited later (or not at all when a step before fails): never an unhandled rejection
      p.catch(() => undefined);
      return p;
    },
  };
}

export const stateIs = (cluster: string, node: string, inst: string, state: string) => (s: ClusterSummary) =>
  s.name === cluster && s.nodes.find((n) => n.name === node)?.instances.find((i) => i.name === inst)?.state === state;

export const config = (node: string) => ({
  kind: "config" as const, ts: Date.now(), path: CFG, hash: Buffer.from(node).toString("hex").padEnd(64, "0").slice(0, 64), routerId: node, netNamespace: null, errors: [],
  instances: [instance({ name: "VI_1", vrid: 51, priority: 150 })],
});
