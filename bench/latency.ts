/**
 * End-to-end latency: a keepalived line appended to the log file (or sent to
 * journald) -> the real agent bundle -> server (commit) -> a browser-side
 * /live socket client receiving the cluster summary with the new state.
 * The clock is this process's: it writes the line and receives the push.
 *
 * Two real agents run at once: one follows a file, one a private journald
 * namespace (test/helpers/journald.ts; `logger` writes to its syslog socket).
 * Meanwhile a worker process keeps a moderate background load on the server
 * (BG_RATE lines/s from 10 simulated agents). Each event flips one instance
 * (round robin over INSTANCES) between MASTER and BACKUP; an instance gets its
 * next event only after its previous one arrived, so every push is attributed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import type { ClusterSummary } from "../server/protocol";
import { startAgent, AGENT_BUNDLE, waitFor, type AgentProc } from "../test/helpers/agent";
import { connectFakeAgent, consoleStamp } from "../test/helpers/fake-agent";
import { startPrivateJournald, type PrivateJournald } from "../test/helpers/journald";
import { startBenchServer, q, step, DB_KIND, dbMark, directSql, sleep, hasBinary, onInterrupt, type DbKind } from "./lib/env";
import type pg from "pg";
import { createTokens, pgClient } from "./lib/db";
import { row, runStandalone, isMain, unavailable, type Row } from "./lib/result";
import { dist, distText, fmt, pct, type Dist } from "./lib/stats";
import { startSwarm } from "./lib/swarm";

const EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? q(1000, 300));
const EVERY_MS = 20;
const INSTANCES = 20;
const BG_RATE = Number(process.env.BENCH_LATENCY_BG_RATE ?? 1000);

export function keepalivedConf(instances: number): string {
  const out = ["global_defs {\n  router_id bench\n}"];
  for (let i = 1; i <= instances; i++) {
    out.push(`vrrp_instance VI_${i} {
  state BACKUP
  interface eth0
  virtual_router_id ${i}
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass bench${i}
  }
  virtual_ipaddress {
    198.18.0.${100 + i}/24
  }
}`);
  }
  return out.join("\n") + "\n";
}

interface Source {
  label: string;
  cluster: string;
  write(line: string): void;
  lat: number[];
  lost: number;
  /** wall clock (epoch ms) of each event: written, pushed */
  events: { written: number; pushed: number | null }[];
}

/** drive EVENTS state flips through one source and time each to its push */
async function drive(src: Source, onCluster: (fn: (s: ClusterSummary) => void) => () => void): Promise<void> {
  const expect = new Map<string, { state: string; t0: number; ev: { written: number; pushed: number | null } }>();
  const cur = new Map<string, string>();
  const off = onCluster((s) => {
    if (s.name !== src.cluster) return;
    const now = performance.now();
    for (const n of s.nodes) {
      for (const i of n.instances) {
        const e = expect.get(i.name);
        if (e && i.state === e.state) {
          src.lat.push(now - e.t0);
          e.ev.pushed = Date.now();
          expect.delete(i.name);
        }
      }
    }
  });
  try {
    let k = 0;
    for (let sent = 0; sent < EVENTS; k++) {
      const name = `VI_${(k % INSTANCES) + 1}`;
      if (!expect.has(name)) {
        const state = cur.get(name) === "MASTER" ? "BACKUP" : "MASTER";
        cur.set(name, state);
        const ev = { written: Date.now(), pushed: null };
        src.events.push(ev);
        expect.set(name, { state, t0: performance.now(), ev });
        src.write(`(${name}) Entering ${state} STATE`);
        sent++;
      }
      await sleep(EVERY_MS);
    }
    const end = Date.now() + 5000;
    while (expect.size > 0 && Date.now() < end) await sleep(20);
    src.lost += expect.size;
  } finally {
    off();
  }
}

/** agent-side times (epoch ms, from the agent's debug log) per seq: outbox fsync done, batch emitted */
interface AgentTrace {
  flushed: Map<number, number>;
  sent: Map<number, number>;
  fsyncMs: number[];
}

/** follow an agent's debug log (pino JSON on stderr) for "outbox: flushed" and "batch sent" */
function traceAgent(a: AgentProc): AgentTrace {
  const t: AgentTrace = { flushed: new Map(), sent: new Map(), fsyncMs: [] };
  let rest = "";
  a.child.stderr!.on("data", (b: Buffer) => {
    const lines = (rest + b.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      if (!l.includes('"outbox: flushed"') && !l.includes('"batch sent"')) continue;
      try {
        const j = JSON.parse(l) as { msg: string; time: number; fromSeq: number; toSeq: number; fsyncMs?: number };
        const m = j.msg === "batch sent" ? t.sent : t.flushed;
        for (let s = j.fromSeq; s <= j.toSeq; s++) if (!m.has(s)) m.set(s, j.time);
        if (j.fsyncMs !== undefined) t.fsyncMs.push(j.fsyncMs);
      } catch {
        // not a log line
      }
    }
  });
  return t;
}

/**
 * Where the time goes, per stage, from the stored rows (same machine clock):
 * ts is when the agent read the line (file) or when journald received it
 * (journal); received_at is when the server took the batch. For the file
 * agent, its debug log adds when the record's outbox fsync completed and when
 * its batch was emitted on the socket.
 */
async function breakdown(db: pg.Client, s: Source, trace?: AgentTrace): Promise<string> {
  const rows = (
    await db.query(
      `SELECT l.seq::float8 AS seq, (extract(epoch FROM l.ts) * 1000)::float8 AS ts, (extract(epoch FROM l.received_at) * 1000)::float8 AS rcv
         FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = $1 ORDER BY l.seq DESC LIMIT $2`,
      [s.cluster, s.events.length],
    )
  ).rows.reverse() as { seq: number; ts: number; rcv: number }[];
  const evs = s.events.slice(-rows.length);
  const first: number[] = [];
  const second: number[] = [];
  const server: number[] = [];
  const durable: number[] = [];
  const toSend: number[] = [];
  const wire: number[] = [];
  evs.forEach((e, i) => {
    const r = rows[i];
    first.push(r.ts - e.written);
    second.push(r.rcv - r.ts);
    if (e.pushed !== null) server.push(e.pushed - r.rcv);
    const fl = trace?.flushed.get(r.seq);
    const se = trace?.sent.get(r.seq);
    if (fl !== undefined && se !== undefined) {
      durable.push(fl - r.ts);
      toSend.push(se - fl);
      wire.push(r.rcv - se);
    }
  });
  if (process.env.BENCH_LATENCY_DUMP) {
    // every event's stage times (epoch ms) for a closer look: BENCH_LATENCY_DUMP=dir
    const ev = evs.map((e, i) => ({ seq: rows[i].seq, written: e.written, read: rows[i].ts, flushed: trace?.flushed.get(rows[i].seq), sent: trace?.sent.get(rows[i].seq), took: rows[i].rcv, pushed: e.pushed }));
    fs.mkdirSync(process.env.BENCH_LATENCY_DUMP, { recursive: true });
    fs.writeFileSync(path.join(process.env.BENCH_LATENCY_DUMP, `latency-${s.label}.json`), JSON.stringify(ev));
  }
  const f = (xs: number[]) => `${fmt(pct(xs, 50))}/${fmt(pct(xs, 99))}`;
  if (s.label !== "file") return `written -> journald ${f(first)}, journald -> server took the batch ${f(second)}, server -> push ${f(server)}`;
  const agent = trace && durable.length
    ? ` [= read -> outbox fsynced ${f(durable)} (fsync alone ${f(trace.fsyncMs)}), fsynced -> batch emitted ${f(toSend)}, emitted -> server took the batch ${f(wire)}; n=${durable.length}]`
    : "";
  return `written -> read by the agent ${f(first)}, read -> server took the batch ${f(second)}${agent}, server -> push ${f(server)}`;
}

export async function benchLatency(kind: DbKind = DB_KIND): Promise<Row[]> {
  const B = "latency";
  const DB_MARK = dbMark(kind);
  if (!fs.existsSync(AGENT_BUNDLE)) return [unavailable(B, "file and journald", `${AGENT_BUNDLE} missing: node agent/build.mjs`)];
  if (!hasBinary("ip")) return [unavailable(B, "file and journald", "iproute2 `ip` is missing (the agent's VIP probe needs it)")];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bench-lat-"));
  const srv = await startBenchServer(`${B}-${kind}`, { kind });
  const swarm = await startSwarm();
  const agents: AgentProc[] = [];
  let journald: PrivateJournald | null = null;
  let journaldWhy = "";
  let logger: ChildProcess | null = null;
  let jReader: ChildProcess | null = null;
  const jWritten = new Map<string, number>();
  const jBase: number[] = [];
  let timing = false;
  const live = io(`${srv.url}/live`, { transports: ["websocket"], forceNew: true, extraHeaders: { cookie: (await srv.session("viewer")).cookie } });
  const listeners = new Set<(s: ClusterSummary) => void>();
  live.on("cluster", (s: ClusterSummary) => listeners.forEach((l) => l(s)));
  const onCluster = (fn: (s: ClusterSummary) => void) => (listeners.add(fn), () => listeners.delete(fn));
  const forget = onInterrupt(async () => {
    logger?.kill();
    jReader?.kill();
    for (const a of agents) await a.stop("SIGKILL");
    await journald?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  try {
    const bg = Array.from({ length: 10 }, (_, i) => `bg-${i + 1}`);
    const tokens = await createTokens(srv, ["lat-file", "lat-journal", "lat-ping", ...bg]);
    const conf = path.join(tmp, "keepalived.conf");
    fs.writeFileSync(conf, keepalivedConf(INSTANCES));
    const logFile = path.join(tmp, "keepalived.log");
    fs.writeFileSync(logFile, "");
    // no keepalived runs here: without --pidfile none the process watch reports it stopped and every instance shows STOP
    const common = (node: string) => ["--server", srv.url, "--node", node, "--state-dir", path.join(tmp, node), "--keepalived-conf", conf, "--pidfile", "none", "--log-level", "warn"];
    const env = (cluster: string) => ({ KAM_TOKEN: tokens.get(cluster)!, TZ: "UTC" });

    const sources: Source[] = [];
    // at debug level: its "outbox: flushed" / "batch sent" lines give the agent-side stages
    const fileAgent = startAgent([...common("file1").slice(0, -1), "debug", "--source", "file", "--log-file", logFile], env("lat-file"));
    agents.push(fileAgent);
    const fileTrace = traceAgent(fileAgent);
    sources.push({ label: "file", cluster: "lat-file", write: (l) => fs.appendFileSync(logFile, `${consoleStamp(new Date())}: ${l}\n`), lat: [], lost: 0, events: [] });

    const j = await startPrivateJournald();
    if ("unavailable" in j) journaldWhy = j.unavailable;
    else {
      journald = j;
      agents.push(startAgent([...common("journal1"), "--source", "journal", "--journal-directory", j.journalDir, "--journal-match", "SYSLOG_IDENTIFIER=Keepalived_vrrp"], env("lat-journal")));
      // one long-lived logger: each line on its stdin is one syslog message, as keepalived sends them
      logger = spawn("logger", ["--socket", j.syslogSocket, "--socket-errors=on", "-t", "Keepalived_vrrp", "--id=4242", "-p", "local1.info"], { stdio: ["pipe", "ignore", "inherit"] });
      const lg = logger;
      // baseline in the same run: a second reader of the same journal, `journalctl -f` as the agent runs it,
      // timing logger write -> line printed by journalctl (what journald itself costs, before any agent work)
      const jr = spawn("journalctl", ["--directory", j.journalDir, "--output=json", "--follow", "--no-pager", "--quiet", "--lines=0", "SYSLOG_IDENTIFIER=Keepalived_vrrp"], { stdio: ["ignore", "pipe", "ignore"] });
      jReader = jr;
      let rest = "";
      jr.stdout!.on("data", (b: Buffer) => {
        const now = performance.now();
        const lines = (rest + b.toString()).split("\n");
        rest = lines.pop() ?? "";
        for (const l of lines) {
          try {
            const msg = String((JSON.parse(l) as { MESSAGE?: unknown }).MESSAGE);
            const t0 = jWritten.get(msg);
            if (t0 !== undefined) {
              jBase.push(now - t0);
              jWritten.delete(msg);
            }
          } catch {
            // not JSON
          }
        }
      });
      sources.push({
        label: "journald", cluster: "lat-journal",
        write: (l) => {
          if (timing) jWritten.set(l, performance.now());
          lg.stdin!.write(l + "\n");
        },
        lat: [], lost: 0, events: [],
      });
    }
    if (!live.connected) await new Promise<void>((r) => live.once("connect", () => r()));
    await live.timeout(5000).emitWithAck("subscribe", { clusters: sources.map((s) => s.cluster) });

    // warm-up: every instance BACKUP, seen by the browser client (proves each pipeline end to end)
    for (const s of sources) {
      const seen = new Map<string, string>();
      const off = onCluster((c) => c.name === s.cluster && c.nodes.forEach((n) => n.instances.forEach((i) => seen.set(i.name, i.state))));
      try {
        await waitFor(`${s.label} agent delivering`, () => {
          for (let i = 1; i <= INSTANCES; i++) if (seen.get(`VI_${i}`) !== "BACKUP") s.write(`(VI_${i}) Entering BACKUP STATE`);
          return [...Array(INSTANCES).keys()].every((i) => seen.get(`VI_${i + 1}`) === "BACKUP");
        }, 30_000, 1000);
      } finally {
        off();
      }
    }

    await swarm.call("connect", { url: srv.url, agents: bg.map((c) => ({ token: tokens.get(c)!, node: "n1", cluster: c })), heartbeatMs: 5000, concurrency: 10 });
    await swarm.call("load", { rate: BG_RATE, everyMs: 100, instances: 50 });
    await sleep(1000);
    step(`latency: ${EVENTS} events per source, one every ${EVERY_MS} ms, background ${BG_RATE} lines/s from 10 agents`);
    // baseline in the same run: a heartbeat's round trip through the server (socket.io, validation, event loop; no database)
    const ping = await connectFakeAgent(srv.url, tokens.get("lat-ping")!, "ping1", 60_000);
    const rtt: number[] = [];
    let pinging = true;
    const pinger = (async () => {
      while (pinging) {
        const t = performance.now();
        await ping.socket.timeout(5000).emitWithAck("heartbeat", { ts: Date.now(), outbox: 0, sources: {} }).catch(() => {});
        rtt.push(performance.now() - t);
        await sleep(EVERY_MS);
      }
    })();
    // baseline in the same run: append + fsync of one small line in the agents' directory, as the outbox does
    const fsyncs: number[] = [];
    const fsyncer = (async () => {
      const fd = fs.openSync(path.join(tmp, "fsync-probe"), "a");
      try {
        while (pinging) {
          const t = performance.now();
          fs.writeSync(fd, `{"seq":1,"rec":{"kind":"log","line":"(VI_1) Entering MASTER STATE"}}\n`);
          await new Promise<void>((r) => fs.fsync(fd, () => r()));
          fsyncs.push(performance.now() - t);
          await sleep(EVERY_MS * 5);
        }
      } finally {
        fs.closeSync(fd);
      }
    })();
    timing = true;
    await Promise.all(sources.map((s) => drive(s, onCluster)));
    timing = false;
    pinging = false;
    await pinger;
    await fsyncer;
    ping.close();
    const base = dist(rtt);
    const bgStats = await swarm.call<{ sent: number; failed: number; ack: Dist }>("stopLoad");

    const stages = new Map<string, string>();
    if (directSql(kind)) {
      const db = await pgClient(srv);
      try {
        for (const s of sources) stages.set(s.label, await breakdown(db, s, s.label === "file" ? fileTrace : undefined));
      } finally {
        await db.end();
      }
    }
    // file: 100 ms on PostgreSQL (issue 7), 150 ms on the embedded PGlite (issue 17)
    const targets: Record<string, number> = { file: kind === "postgres" ? 100 : 150, journald: 300 };
    const rows = sources.map((s) => {
      const d = dist(s.lat);
      return row({
        bench: B,
        name: `${s.label} line -> browser push${DB_MARK}`,
        unit: "ms",
        value: d.p99,
        stat: `p99 of ${d.n}`,
        // journald: against `journalctl -f` reading the same journal in the same run (what journald itself costs)
        baseline: s.label === "journald" && jBase.length ? { name: "journalctl -f p99", value: dist(jBase).p99 } : { name: "heartbeat RTT p99", value: base.p99 },
        target: [{ op: "<=", value: targets[s.label] }],
        detail: `${distText(d)}; stages (p50/p99 ms): ${stages.get(s.label) ?? "(needs PostgreSQL)"}; heartbeat RTT through the server meanwhile ${distText(base)}; ${s.lost} event(s) not seen within 5 s; background ${bgStats.sent} lines stored meanwhile (${bgStats.failed} failed batches; their ack round trip ${distText(bgStats.ack)})`,
      });
    });
    if (!journald) rows.push(unavailable(B, "journald line -> browser push", journaldWhy));
    else {
      const jb = dist(jBase);
      const jd = dist(sources.find((s) => s.label === "journald")!.lat);
      rows.push(row({
        bench: B,
        name: `journald baseline: logger -> \`journalctl -f\` prints the line${DB_MARK}`,
        unit: "ms",
        value: jb.p99,
        stat: `p99 of ${jb.n}`,
        detail: `${distText(jb)}; the agent's journald row over this: p50 ${fmt(jd.p50 - jb.p50)} / p99 ${fmt(jd.p99 - jb.p99)} ms more (journald's own change notification is a 250 ms coalescing timer)`,
      }));
    }
    const fs1 = dist(fsyncs);
    rows.push(row({ bench: B, name: `baseline: append + fsync of one line in the state dir${DB_MARK}`, unit: "ms", value: fs1.p99, stat: `p99 of ${fs1.n}`, detail: distText(fs1) }));
    rows.push(row({ bench: B, name: `events not delivered${DB_MARK}`, unit: "events", value: sources.reduce((a, s) => a + s.lost, 0), stat: `of ${EVENTS * sources.length}`, target: [{ op: "<=", value: 0 }] }));
    return rows;
  } catch (e) {
    console.error(e);
    for (const a of agents) console.error(a.output().slice(-2000));
    return [unavailable(B, "file and journald", `failed: ${(e as Error).message}`)];
  } finally {
    forget();
    live.close();
    logger?.stdin?.end();
    logger?.kill();
    jReader?.kill();
    for (const a of agents) await a.stop();
    await journald?.stop();
    await swarm.close();
    await srv.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone("latency", benchLatency);
