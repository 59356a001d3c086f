/**
 * Benchmark (not a test): how fast a 7-day cluster timeline with 10,000 state
 * transitions renders in the browser.
 *
 *   npx tsx bench/timeline-render.ts [--runs 5] [--transitions 10000]
 *
 * Boots the REAL server (embedded PGlite, or PostgreSQL with KAM_TEST_DB=postgres
 * and TEST_DATABASE_URL) and feeds it through the agent protocol: three nodes,
 * two virtual routers, failovers, FAULTs and flapping bursts spread over the
 * last 7 days, with the matching VIP observations. Then opens
 * /clusters/bench?range=7d in headless Chromium at 1920x1080 and prints, per
 * run and as the median: the time from navigation start to the drawn timeline
 * (the first frame after the data is on screen), the API answer time, and the
 * number of SVG elements drawn.
 *
 * `npm run bench` runs it too (benchTimelineRender: fewer runs, one table row
 * for the drawing time and one for the API answer as the page fetched it).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { launchBrowser, screenshot, signIn, CHROMIUM_PATH } from "../test/helpers/browser";
import { connectFakeAgent, consoleStamp, instance, type FakeAgent } from "../test/helpers/fake-agent";
import { startTestServer, ROOT, type TestServer } from "../test/helpers/server";
import type { TimelineResponse } from "../server/timeline/types";
import { startBenchServer, q, step, DB_MARK } from "./lib/env";
import { row, unavailable, type Row } from "./lib/result";
import { existsSync } from "node:fs";

type Rec = Parameters<FakeAgent["send"]>[0][number];

const { values: args } = parseArgs({
  options: { runs: { type: "string", default: "5" }, transitions: { type: "string", default: "10000" } },
});
const RUNS = Math.max(1, Number(args.runs));
const TRANSITIONS = Math.max(10, Number(args.transitions));
const CLUSTER = "bench";
const NODES = ["lb1", "lb2", "lb3"];
const VRIDS = [
  { vrid: 51, name: "VI_WEB", vip: "198.18.0.100" },
  { vrid: 52, name: "VI_DB", vip: "198.18.0.200" },
];
const SPAN = 7 * 86_400_000;
/** how long an open page is watched for its own idle cost */
const IDLE_MS = 20_000;

/** small deterministic PRNG (mulberry32), so every run seeds the same history */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const log = (ts: number, message: string): Rec => ({ kind: "log", ts, source: "file", line: `${consoleStamp(new Date(ts))}: ${message}`, inode: "1", offset: 0 });

/** The history as (node, record) in time order, with exactly `TRANSITIONS` state changes. */
export function history(start: number): { node: string; rec: Rec }[] {
  const rand = rng(42);
  const out: { node: string; rec: Rec }[] = [];
  const state = new Map<string, string>(); // node/vrid -> state
  const master = new Map<number, number>(VRIDS.map((v, i) => [v.vrid, i % NODES.length]));
  const held = new Map<string, Set<string>>(NODES.map((n) => [n, new Set()]));
  let count = 0;
  const set = (ts: number, node: string, v: (typeof VRIDS)[number], s: string) => {
    const key = `${node}/${v.vrid}`;
    if (state.get(key) === s) return;
    if (state.has(key)) count++;
    state.set(key, s);
    out.push({ node, rec: log(ts, `(${v.name}) Entering ${s} STATE`) });
    const h = held.get(node)!;
    const before = h.has(v.vip);
    if (s === "MASTER") h.add(v.vip);
    else h.delete(v.vip);
    if (before !== h.has(v.vip)) {
      out.push({ node, rec: { kind: "vips", ts, addresses: [...h].map((address) => ({ address, prefixlen: 24, iface: "eth0" })) } });
    }
  };
  for (const node of NODES) {
    out.push({ node, rec: { kind: "config", ts: start, path: "/etc/keepalived/keepalived.conf", hash: "3".repeat(64), routerId: node, netNamespace: null, errors: [],
      instances: VRIDS.map((v) => instance({ name: v.name, vrid: v.vrid, priority: 100, vips: [`${v.vip}/24`] })) } });
  }
  for (const v of VRIDS) for (const [i, node] of NODES.entries()) set(start + 1000, node, v, i === master.get(v.vrid) ? "MASTER" : "BACKUP");
  // events at random times, each finished before the next starts, so the history is consistent in time;
  // the mean gap spreads about TRANSITIONS changes over the span (squeezed at the end if they run over)
  let t = start + 60_000;
  const end = start + SPAN - 60_000;
  // events: failovers (2 changes, 0.8 s), FAULTs (3 changes, ~6 min), flapping bursts (12 changes, 9 s)
  const events = TRANSITIONS / (0.87 * 2 + 0.08 * 3 + 0.05 * 12);
  const busy = events * (0.87 * 800 + 0.08 * 363_000 + 0.05 * 9000);
  const meanGap = ((SPAN - 120_000 - busy) / events) * 0.9;
  while (count < TRANSITIONS) {
    const gap = -Math.log(1 - rand()) * meanGap;
    t = t + gap < end ? t + gap : t + 5000;
    const v = VRIDS[Math.floor(rand() * VRIDS.length)];
    const m = master.get(v.vrid)!;
    const r = rand();
    const next = (m + 1 + Math.floor(rand() * (NODES.length - 1))) % NODES.length;
    if (r < 0.08) {
      // FAULT of the master, a backup takes over, the node recovers as BACKUP minutes later
      const back = t + 60_000 + rand() * 600_000;
      set(t, NODES[m], v, "FAULT");
      set(t + 3000, NODES[next], v, "MASTER");
      set(Math.min(back, end), NODES[m], v, "BACKUP");
      master.set(v.vrid, next);
      t = Math.min(back, end);
    } else if (r < 0.13) {
      // a flapping burst: the master and a backup swap a few times within seconds
      for (let k = 0; k < 6; k++) {
        set(t + k * 1500, NODES[m], v, k % 2 ? "MASTER" : "BACKUP");
        set(t + k * 1500 + 200, NODES[next], v, k % 2 ? "BACKUP" : "MASTER");
      }
      t += 6 * 1500;
    } else {
      // a clean failover
      set(t, NODES[m], v, "BACKUP");
      set(t + 800, NODES[next], v, "MASTER");
      master.set(v.vrid, next);
      t += 800;
    }
  }
  return out
    .map((x, i) => ({ ...x, i }))
    .sort((a, b) => a.rec.ts - b.rec.ts || a.i - b.i)
    .map(({ node, rec }) => ({ node, rec }));
}

export async function seed(url: string, token: string): Promise<{ agents: FakeAgent[]; records: number }> {
  const agents = new Map<string, FakeAgent>();
  for (const n of NODES) agents.set(n, await connectFakeAgent(url, token, n));
  const all = history(Date.now() - SPAN);
  const buffers = new Map<string, Rec[]>(NODES.map((n) => [n, []]));
  const flush = async () => {
    for (const [n, recs] of buffers) {
      while (recs.length) {
        const ack = await agents.get(n)!.send(recs.splice(0, 1000));
        if (!ack.ok) throw new Error(`batch refused: ${JSON.stringify(ack)}`);
      }
    }
  };
  for (const [i, x] of all.entries()) {
    buffers.get(x.node)!.push(x.rec);
    if (i % 600 === 599) await flush();
  }
  await flush();
  return { agents: [...agents.values()], records: all.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** For `npm run bench`: the same measurement on a bench server, as table rows. */
export async function benchTimelineRender(): Promise<Row[]> {
  const B = "timeline-render";
  if (!existsSync(CHROMIUM_PATH)) return [unavailable(B, "7-day timeline drawn in the browser", `Chromium not found at ${CHROMIUM_PATH}`)];
  const server = await startBenchServer(B);
  try {
    const r = await measure(server, q(5, 3), (s) => step(`${B}: ${s}`));
    return [
      row({ bench: B, name: `7-day timeline drawn in the browser (${r.stored} transitions)${DB_MARK}`, unit: "ms", value: r.drawn, stat: `median of ${r.runs}`,
        target: [{ op: "<=", value: 500 }], baseline: { name: "the same page, last 15 min", value: r.quietDrawn },
        detail: `navigation start -> first frame with the timeline; ${r.svg} SVG elements (the 15-minute page: ${r.quietSvg}); Chromium 1920x1080; the request started ${r.apiStart.toFixed(0)} ms after navigation start (DOM ready ${r.domReady.toFixed(0)} ms), its answer in at ${r.apiEnd.toFixed(0)} ms` }),
      row({ bench: B, name: "7-day live timeline left open: the page's own work", unit: "ms/min", value: r.idle7d, stat: `over ${IDLE_MS / 1000} s`,
        baseline: { name: "the 15-minute page", value: r.idle15m },
        detail: `renderer script + style + layout time per minute (CDP Performance metrics) with no data arriving; the chart's clock ticks once per pixel of time (clockTickMs: 60 s here, 1 s for 15 min)` }),
      row({ bench: B, name: `7-day timeline API answer as the page fetched it${DB_MARK}`, unit: "ms", value: r.api, stat: `median of ${r.runs}`, target: [{ op: "<=", value: 150 }],
        baseline: { name: "the same request alone, no page loading", value: r.alone },
        detail: `resource timing of /api/clusters/:name/timeline?evidence=none (width of the page), ${r.incidents} incidents; alone (fetch from the bench, median of 5): ${r.alone.toFixed(0)} ms, ${r.aloneBytes} bytes; with the incidents' evidence (the default): ${r.full.toFixed(0)} ms, ${r.fullBytes} bytes` }),
    ];
  } catch (e) {
    console.error(e);
    return [unavailable(B, "7-day timeline drawn in the browser", `failed: ${(e as Error).message}`)];
  } finally {
    await server.close();
  }
}

async function main() {
  const { ensureBuild } = (await import("../scripts/ensure-build.mjs")) as { ensureBuild(): void };
  ensureBuild();
  console.log(`Chromium: ${CHROMIUM_PATH}; repository: ${ROOT}`);
  const server = await startTestServer();
  try {
    const r = await measure(server, RUNS, (s) => console.log(s));
    console.log(
      `\nmedian of ${RUNS}: timeline drawn ${r.drawn.toFixed(0)} ms after navigation start ` +
        `(API ${r.api.toFixed(0)} ms), ${r.svg} SVG elements for ${r.stored} transitions: ${r.drawn <= 500 ? "within" : "OVER"} 500 ms`,
    );
  } finally {
    await server.close();
  }
}

async function measure(server: Pick<TestServer, "url" | "token" | "session">, RUNS: number, say: (s: string) => void) {
  const console = { log: say };
  const browser = await launchBrowser();
  let agents: FakeAgent[] = [];
  try {
    const t0 = performance.now();
    const seeded = await seed(server.url, await server.token(CLUSTER));
    agents = seeded.agents;
    console.log(`seeded ${seeded.records} records (${TRANSITIONS} transitions over 7 days, ${NODES.length} nodes x ${VRIDS.length} VRIDs) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // the detectors work through the history after it is stored: measure once they are done (the embedded
    // database has one connection, so their writes would queue the timeline's reads)
    let last = "";
    for (let same = 0, i = 0; same < 3 && i < 120; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await (await fetch(`${server.url}/api/incidents?cluster=${CLUSTER}`)).text();
      same = now === last ? same + 1 : 0;
      last = now;
    }
    const from = new Date(Date.now() - SPAN).toISOString();
    const full = (await (await fetch(`${server.url}/api/clusters/${CLUSTER}/timeline?from=${from}&width=10000`)).json()) as TimelineResponse;
    const stored = full.lanes.reduce((n, l) => n + l.transitions, 0);
    console.log(`stored transitions in range: ${stored}; incidents: ${full.incidents.length}`);
    // the API alone (no page loading beside it), at the page's plot width, as the page asks (evidence=none) and with evidence
    const alone = async (evidence: string) => {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 6; i++) {
        const a = performance.now();
        const r = await fetch(`${server.url}/api/clusters/${CLUSTER}/timeline?from=${from}&width=1700${evidence}`);
        const body = await r.text();
        if (i > 0) times.push(performance.now() - a);
        bytes = body.length;
        if (i === 0) {
          const j = JSON.parse(body) as TimelineResponse;
          console.log(`API${evidence || " with evidence"}: ${body.length} bytes; lanes JSON ${JSON.stringify(j.lanes).length} bytes, incidents JSON ${JSON.stringify(j.incidents).length} bytes`);
          console.log(`  lanes: ${j.lanes.map((l) => `${l.node}/${l.vrid}: ${l.segments.length} seg (${l.segments.filter((x) => x.aggregated).length} agg), ${l.vipHeld.length} vip`).join("; ")}`);
        }
      }
      console.log(`  median ${median(times).toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(", ")})`);
      return { ms: median(times), bytes };
    };
    const brief = await alone("&evidence=none");
    const withEvidence = await alone("");

    const page = await browser.newPage({ width: 1920, height: 1080 });
    await signIn(page, server);
    page.on("console", (m) => console.log(`[page ${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
    // a string, not a function: the page must not see the bundler's helpers
    await page.addInitScript(`
      const check = () => {
        if (window.__drawnAt === undefined && document.querySelector('[data-testid="timeline"][data-rendered="true"]')) {
          const at = performance.now();
          requestAnimationFrame(() => (window.__drawnAt = Math.max(at, performance.now())));
        }
      };
      new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-rendered"] });
    `);
    type Run = { drawn: number; api: number; apiStart: number; apiEnd: number; domReady: number; svg: number; segments: number };
    const runsOf = async (range: string, n: number): Promise<Run[]> => {
      const rows: Run[] = [];
      for (let run = 0; run < n + 1; run++) {
        const r = await drawOnce(range);
        if (run === 0) {
          console.log(`${range}: warm-up run (not counted): ${r.drawn.toFixed(0)} ms`);
          continue;
        }
        rows.push(r);
        console.log(
          `${range} run ${run}: drawn ${r.drawn.toFixed(0)} ms after navigation start (DOM ready ${r.domReady.toFixed(0)}, ` +
            `API ${r.apiStart.toFixed(0)}..${r.apiEnd.toFixed(0)} = ${r.api.toFixed(0)} ms); ${r.svg} SVG elements (${r.segments} segment rects)`,
        );
      }
      return rows;
    };
    const drawOnce = async (range: string): Promise<Run> => {
      await page.goto(`${server.url}/clusters/${CLUSTER}?range=${range}`, { waitUntil: "domcontentloaded" });
      await page.waitForFunction(() => (window as unknown as { __drawnAt?: number }).__drawnAt !== undefined, undefined, { timeout: 60_000 });
      return page.evaluate(() => {
        const api = performance.getEntriesByType("resource").find((e) => e.name.includes("/timeline?")) as PerformanceResourceTiming | undefined;
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        return {
          drawn: (window as unknown as { __drawnAt: number }).__drawnAt,
          api: api ? api.duration : Number.NaN,
          apiStart: api ? api.startTime : Number.NaN,
          apiEnd: api ? api.responseEnd : Number.NaN,
          domReady: nav ? nav.domContentLoadedEventEnd : Number.NaN,
          svg: document.querySelectorAll('[data-testid="swimlanes"] svg *').length,
          segments: document.querySelectorAll('[data-testid="swimlanes"] rect[data-state]').length,
        };
      });
    };
    // the same page on the last 15 minutes (a few transitions): what loading the page and its scripts costs alone
    const quiet = await runsOf("15m", RUNS);
    const rows = await runsOf("7d", RUNS);
    console.log(`screenshot: ${await screenshot(page, "timeline-bench-7d")}`);
    // an open page's own cost, as on a wall display: the renderer's script and layout time while the page sits
    // there (no data arriving: the history is seeded, the agents idle), per minute
    const idleCost = async (range: string) => {
      await drawOnce(range);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Performance.enable");
      const busy = async () => {
        const { metrics } = (await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] };
        const m = (n: string) => metrics.find((x) => x.name === n)?.value ?? 0;
        return (m("ScriptDuration") + m("LayoutDuration") + m("RecalcStyleDuration")) * 1000;
      };
      const a = await busy();
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const ms = ((await busy()) - a) * (60_000 / IDLE_MS);
      await cdp.detach();
      console.log(`${range} page idle: ${ms.toFixed(0)} ms of script, style and layout per minute`);
      return ms;
    };
    const idle7d = await idleCost("7d");
    const idle15m = await idleCost("15m");
    return {
      runs: RUNS, stored, incidents: full.incidents.length,
      drawn: median(rows.map((r) => r.drawn)), api: median(rows.map((r) => r.api)), svg: median(rows.map((r) => r.svg)),
      apiStart: median(rows.map((r) => r.apiStart)), apiEnd: median(rows.map((r) => r.apiEnd)), domReady: median(rows.map((r) => r.domReady)),
      alone: brief.ms, aloneBytes: brief.bytes, full: withEvidence.ms, fullBytes: withEvidence.bytes,
      quietDrawn: median(quiet.map((r) => r.drawn)), quietSvg: median(quiet.map((r) => r.svg)),
      idle7d, idle15m,
    };
  } finally {
    for (const a of agents) a.close();
    await browser.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
