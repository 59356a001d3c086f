/**
 * Benchmark worker: a separate process holding many socket.io clients, so
 * that their cost is neither the server's nor the measuring process's.
 * Agents speak the real agent protocol (test/helpers/fake-agent.ts: handshake,
 * numbered records, acks, heartbeats); browsers use the /live namespace.
 * Driven over IPC by bench/lib/swarm.ts: { id, cmd, args } -> { id, ok, result | error }.
 */
import { io, type Socket } from "socket.io-client";
import type { BatchAck, ClusterSummary, LogRecordMsg } from "../../server/protocol";
import { connectFakeAgent, instance, type FakeAgent } from "../../test/helpers/fake-agent";
import { fakeCursor, lineStream } from "../lib/lines";
import { dist, type Dist } from "../lib/stats";
import { runUpdates, type UpdateArgs } from "./updates";

type Rec = Omit<LogRecordMsg, "seq">;

export interface AgentSpec {
  token: string;
  node: string;
  cluster: string;
}

const agents: FakeAgent[] = [];
const specs: AgentSpec[] = [];
const browsers: Socket[] = [];
const latest: Map<string, ClusterSummary>[] = [];
let disconnects = 0;

async function inBatches<T>(items: T[], size: number, fn: (x: T, i: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((x, k) => fn(x, i + k)));
}

const commands: Record<string, (args: never) => Promise<unknown>> = {
  /** connect agents; optionally each sends a config with `instances` instances and a first state line */
  async connect(a: { url: string; agents: AgentSpec[]; heartbeatMs: number; concurrency: number; instances?: number; initial?: boolean }) {
    const t0 = performance.now();
    await inBatches(a.agents, a.concurrency, async (s, i) => {
      const fa = await connectFakeAgent(a.url, s.token, s.node, a.heartbeatMs);
      fa.socket.on("disconnect", () => disconnects++);
      agents[i] = fa;
      specs[i] = s;
      if (a.instances) {
        const inst = Array.from({ length: a.instances }, (_, k) => instance({ name: `VI_${k + 1}`, vrid: k + 1, vips: [`198.18.0.${k + 10}/24`] }));
        const hash = (i.toString(16) + "0".repeat(64)).slice(0, 64);
        await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash, routerId: s.node, netNamespace: null, errors: [], instances: inst }]);
      }
      if (a.initial) {
        // the first node of a cluster is MASTER, the others BACKUP
        const first = specs.findIndex((x) => x && x.cluster === s.cluster) === i;
        const st = first ? "MASTER" : "BACKUP";
        await fa.log(...Array.from({ length: a.instances ?? 1 }, (_, k) => `(VI_${k + 1}) Entering ${st} STATE`));
      }
    });
    return { agents: agents.length, ms: performance.now() - t0 };
  },

  /**
   * Every agent sends `perAgent` log records as fast as acknowledgements allow
   * (batches of `batch`, `inFlight` at a time, like the real agent draining its
   * outbox). Records are built before the clock starts.
   */
  async ingest(a: { perAgent: number; batch: number; inFlight: number; instances: number; spacingMs: number }) {
    const work = agents.map((fa, ai) => {
      const gen = lineStream(a.instances);
      const boot = (ai + 1).toString(16).padStart(32, "0");
      const start = Date.now() - a.perAgent * a.spacingMs;
      const batches: Rec[][] = [];
      for (let i = 0; i < a.perAgent; i += a.batch) {
        const b: Rec[] = [];
        for (let k = i; k < Math.min(a.perAgent, i + a.batch); k++) {
          const ts = start + k * a.spacingMs;
          b.push({ kind: "log", ts, source: "journal", line: gen.next().value!.line, cursor: fakeCursor(boot, k + 1, ts * 1000), ident: "Keepalived_vrrp", pid: 4242 });
        }
        batches.push(b);
      }
      return { fa, batches };
    });
    const totals = { acked: 0, stored: 0, duplicates: 0, errors: 0, batches: 0, records: 0, reasons: {} as Record<string, number> };
    const failed = (why: string) => {
      totals.errors++;
      totals.reasons[why] = (totals.reasons[why] ?? 0) + 1;
    };
    const t0 = performance.now();
    await Promise.all(
      work.map(async ({ fa, batches }) => {
        let next = 0;
        const lane = async () => {
          while (next < batches.length) {
            const b = batches[next++];
            totals.records += b.length;
            let ack: BatchAck;
            try {
              ack = await fa.send(b);
            } catch (e) {
              failed(String((e as Error).message ?? e).slice(0, 120));
              continue;
            }
            totals.batches++;
            if (ack.ok) {
              totals.acked += ack.acked.length;
              totals.stored += ack.stored;
              totals.duplicates += ack.duplicates;
            } else failed(JSON.stringify(ack).slice(0, 120));
          }
        };
        await Promise.all(Array.from({ length: a.inFlight }, lane));
      }),
    );
    return { ...totals, ms: performance.now() - t0, agentIds: agents.map((fa) => (fa.socket.auth as { agentId: string }).agentId) };
  },

  /** background load: `rate` log lines per second in total, spread over the agents, in batches every `everyMs` */
  async load(a: { rate: number; everyMs: number; instances: number }) {
    const perTick = Math.max(1, Math.round((a.rate * a.everyMs) / 1000 / Math.max(1, agents.length)));
    const gens = agents.map(() => lineStream(a.instances));
    let sent = 0;
    let failed = 0;
    const ackMs: number[] = [];
    loadTimer = setInterval(() => {
      agents.forEach((fa, i) => {
        const lines = Array.from({ length: perTick }, () => gens[i].next().value!.line);
        const t = performance.now();
        fa.log(...lines).then(
          (r) => {
            ackMs.push(performance.now() - t);
            if (r.ok) sent += lines.length;
            else failed++;
          },
          () => failed++,
        );
      });
    }, a.everyMs);
    loadStats = () => ({ sent, failed, ack: dist(ackMs) });
    return { perTick, agents: agents.length };
  },

  async stopLoad() {
    if (loadTimer) clearInterval(loadTimer);
    loadTimer = null;
    return loadStats();
  },

  /** browsers on /live subscribed to `clusters` (["*"] = all); resolves when each has its first picture */
  async browsers(a: { url: string; count: number; clusters: string[]; expectClusters: number; concurrency: number; cookie: string }) {
    const t0 = performance.now();
    await inBatches(Array.from({ length: a.count }, (_, i) => i), a.concurrency, async (i) => {
      const s = io(`${a.url}/live`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { cookie: a.cookie } });
      const seen = new Map<string, ClusterSummary>();
      latest[i] = seen;
      browsers[i] = s;
      s.on("cluster", (c: ClusterSummary) => seen.set(c.name, c));
      await new Promise<void>((resolve, reject) => {
        s.once("connect", () => resolve());
        s.once("connect_error", reject);
      });
      await s.timeout(30_000).emitWithAck("subscribe", { clusters: a.clusters });
    });
    const end = Date.now() + 30_000;
    while (latest.some((m) => m.size < a.expectClusters) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return { browsers: browsers.length, ms: performance.now() - t0, complete: latest.filter((m) => m.size >= a.expectClusters).length };
  },

  async updates(a: UpdateArgs) {
    return runUpdates(a, agents, specs, browsers);
  },

  async stats() {
    return { agents: agents.length, connected: agents.filter((fa) => fa.socket.connected).length, disconnects, browsers: browsers.filter((b) => b.connected).length };
  },

  async close() {
    if (loadTimer) clearInterval(loadTimer);
    for (const fa of agents) fa.close();
    for (const b of browsers) b.close();
    setTimeout(() => process.exit(0), 100);
    return {};
  },
};

let loadTimer: NodeJS.Timeout | null = null;
let loadStats = (): { sent: number; failed: number; ack: Dist } => ({ sent: 0, failed: 0, ack: dist([]) });

process.on("message", (m: { id: number; cmd: string; args: never }) => {
  const fn = commands[m.cmd];
  if (!fn) {
    process.send!({ id: m.id, ok: false, error: `unknown command ${m.cmd}` });
    return;
  }
  fn(m.args).then(
    (result) => process.send!({ id: m.id, ok: true, result }),
    (e: unknown) => process.send!({ id: m.id, ok: false, error: String((e as Error)?.stack ?? e) }),
  );
});
process.on("disconnect", () => process.exit(0));
