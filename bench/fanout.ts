/**
 * Fan-out on one server process: AGENTS connected agents (2 per cluster, the
 * agent's default 5 s heartbeat, each with its config and first state) and
 * BROWSERS live browsers subscribed to every cluster, all in ONE worker
 * process (bench/workers/swarm.ts), not the server's. During the window,
 * failovers run through the clusters in turn (UPDATE_RATE state lines per
 * second) and every browser must receive every update (bench/workers/updates.ts).
 *
 * Measured from outside the server: its RSS (/proc), its CPU, and its
 * responsiveness, the event-loop lag seen from a client: the round trip of a
 * socket.io heartbeat (no database on that path) and of GET /api/health,
 * under load against the same idle server before the agents came (baseline).
 * And from inside: the server's own nodejs_eventloop_lag_*_seconds gauges
 * (monitorEventLoopDelay; /metrics read at the start and the end of each
 * window, so the second read covers exactly the window).
 */
import { connectFakeAgent } from "../test/helpers/fake-agent";
import { startBenchServer, q, step, DB_MARK, DIRECT_SQL, sleep } from "./lib/env";
import { createTokens, pgClient } from "./lib/db";
import { CpuWindow, rssMiB, sampleRss } from "./lib/proc";
import { row, runStandalone, isMain, unavailable, type Row } from "./lib/result";
import { dist, distText, fmt, type Dist } from "./lib/stats";
import { startSwarm } from "./lib/swarm";

const AGENTS = Number(process.env.BENCH_FANOUT_AGENTS ?? 1000);
const BROWSERS = Number(process.env.BENCH_FANOUT_BROWSERS ?? 100);
const WINDOW_MS = q(30_000, 15_000);
const UPDATE_RATE = 20;

/** heartbeat and /api/health round trips every `everyMs` until stopped */
async function probe(url: string, token: string, everyMs: number) {
  const fa = await connectFakeAgent(url, token, "probe", 600_000);
  const hb: number[] = [];
  const health: number[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      let t = performance.now();
      await fa.socket.timeout(5000).emitWithAck("heartbeat", { ts: Date.now(), outbox: 0, sources: {} }).catch(() => {});
      hb.push(performance.now() - t);
      t = performance.now();
      await fetch(`${url}/api/health`).then((r) => r.arrayBuffer()).catch(() => {});
      health.push(performance.now() - t);
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<{ hb: Dist; health: Dist }> {
      on = false;
      await loop;
      fa.close();
      return { hb: dist(hb), health: dist(health) };
    },
  };
}

/** the server's event-loop delay (ms) since the previous /metrics read */
async function loopLag(url: string): Promise<{ p50: number; p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  // prom-client's event-loop delay gauges (monitorEventLoopDelay, reset at every scrape)
  const get = (stat: string) => {
    const m = text.match(new RegExp(`^nodejs_eventloop_lag_${stat}_seconds (\\S+)$`, "m"));
    return m ? Number(m[1]) * 1000 : NaN;
  };
  return { p50: get("p50"), p99: get("p99"), max: get("max") };
}

interface UpdateResult {
  updates: number;
  browsers: number;
  expected: number;
  delivered: number;
  missing: unknown[];
  sendErrors: number;
  latency: Dist;
  seconds: number;
}

export async function benchFanout(): Promise<Row[]> {
  const B = "fan-out";
  // all simulated agents come from 127.0.0.1: lift the per-address handshake limit (real nodes have their own addresses)
  const srv = await startBenchServer(B, { env: { KAM_IP_HANDSHAKES_PER_10S: "100000" } });
  const swarm = await startSwarm();
  try {
    const clusters = Array.from({ length: Math.ceil(AGENTS / 2) }, (_, i) => `fan-${String(i + 1).padStart(4, "0")}`);
    const tokens = await createTokens(srv, [...clusters, "fan-probe"]);

    // baseline: the idle server
    const idleRss = rssMiB(srv.pid);
    await loopLag(srv.url);
    let p = await probe(srv.url, tokens.get("fan-probe")!, 100);
    await sleep(q(5000, 3000));
    const idle = await p.stop();
    const idleLag = await loopLag(srv.url);

    const t0 = performance.now();
    const agents = Array.from({ length: AGENTS }, (_, i) => ({ token: tokens.get(clusters[i >> 1])!, node: `n${(i % 2) + 1}`, cluster: clusters[i >> 1] }));
    const c = await swarm.call<{ agents: number; ms: number }>("connect", { url: srv.url, agents, heartbeatMs: 5000, concurrency: 50, instances: 1, initial: true });
    step(`fan-out: ${c.agents} agents connected (config + first state each) in ${(c.ms / 1000).toFixed(1)} s`);
    const b = await swarm.call<{ browsers: number; ms: number; complete: number }>("browsers", { url: srv.url, count: BROWSERS, clusters: ["*"], expectClusters: clusters.length, concurrency: 20, cookie: (await srv.session("viewer")).cookie });
    step(`fan-out: ${b.browsers} browsers subscribed in ${(b.ms / 1000).toFixed(1)} s, ${b.complete} with the whole picture`);
    const setupS = (performance.now() - t0) / 1000;
    await sleep(2000);

    const db = DIRECT_SQL ? await pgClient(srv) : null;
    const commits = async () => (db ? Number((await db.query(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`)).rows[0].xact_commit) : NaN);
    const x0 = await commits();
    const cpu = new CpuWindow(srv.pid);
    const rss = sampleRss(srv.pid, 500);
    await loopLag(srv.url);
    p = await probe(srv.url, tokens.get("fan-probe")!, 100);
    const u = await swarm.call<UpdateResult>("updates", { rate: UPDATE_RATE, durationMs: WINDOW_MS, settleMs: 5000 });
    const loaded = await p.stop();
    const lag = await loopLag(srv.url);
    const rssSamples = rss.stop();
    const cp = cpu.read();
    const txPerS = ((await commits()) - x0) / cp.seconds;
    await db?.end();
    const st = await swarm.call<{ connected: number; disconnects: number; browsers: number }>("stats");
    step(`fan-out: ${u.updates} updates x ${u.browsers} browsers: ${u.delivered}/${u.expected} delivered; server CPU ${cp.processPct.toFixed(0)}% of a core`);

    const common = `${AGENTS} agents (${clusters.length} clusters), ${BROWSERS} browsers, ${u.updates} updates in ${fmt(u.seconds)} s`;
    return [
      row({ bench: B, name: `server RSS with ${AGENTS} agents + ${BROWSERS} browsers${DB_MARK}`, unit: "MiB", value: Math.max(...rssSamples), stat: "max over the window",
        baseline: { name: "idle server", value: idleRss }, detail: `${common}; server CPU ${cp.processPct.toFixed(0)}% of a core, machine ${cp.machineBusyPct.toFixed(0)}% busy; ${fmt(txPerS)} database transactions/s during the window (liveness of ${AGENTS} agents + updates); setup ${fmt(setupS)} s` }),
      row({ bench: B, name: "event-loop lag in the server (nodejs_eventloop_lag_p99_seconds)", unit: "ms", value: lag.p99, stat: "p99 over the window",
        baseline: { name: "idle server p99", value: idleLag.p99 }, detail: `loaded p50 ${fmt(lag.p50, 1)} / p99 ${fmt(lag.p99, 1)} / max ${fmt(lag.max, 1)} ms; idle p50 ${fmt(idleLag.p50, 1)} / p99 ${fmt(idleLag.p99, 1)} / max ${fmt(idleLag.max, 1)} ms (monitorEventLoopDelay, 10 ms resolution)` }),
      row({ bench: B, name: "event-loop lag seen from a client: heartbeat round trip", unit: "ms", value: loaded.hb.p99, stat: `p99 of ${loaded.hb.n}`,
        baseline: { name: "idle server p99", value: idle.hb.p99 }, detail: `loaded ${distText(loaded.hb)}; idle ${distText(idle.hb)}` }),
      row({ bench: B, name: "GET /api/health (SELECT 1 through the server pool) under load", unit: "ms", value: loaded.health.p99, stat: `p99 of ${loaded.health.n}`,
        baseline: { name: "idle server p99", value: idle.health.p99 }, detail: `loaded ${distText(loaded.health)}; idle ${distText(idle.health)}` }),
      row({ bench: B, name: "updates delivered to every browser", unit: "%", value: (u.delivered / Math.max(1, u.expected)) * 100, stat: `${u.delivered} of ${u.expected}`,
        target: [{ op: ">=", value: 100 }],
        detail: `${common}; ${u.sendErrors} send errors; ${st.disconnects} agent disconnects, ${st.connected}/${AGENTS} agents and ${st.browsers}/${BROWSERS} browsers connected at the end${u.missing.length ? `; e.g. missing ${JSON.stringify(u.missing)}` : ""}` }),
      row({ bench: B, name: "update latency: state line sent -> each browser", unit: "ms", value: u.latency.p99, stat: `p99 of ${u.latency.n}`, detail: distText(u.latency) }),
    ];
  } catch (e) {
    console.error(e);
    return [unavailable(B, "fan-out", `failed: ${(e as Error).message}`)];
  } finally {
    await swarm.close();
    await srv.close();
  }
}

if (isMain(import.meta.url)) await runStandalone("fanout", benchFanout);
