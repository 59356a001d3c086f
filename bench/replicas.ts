/**
 * Active/active replicas over one PostgreSQL database (issue 13): real server
 * processes sharing a fresh database, fake agents (test/helpers/fake-agent.ts)
 * and /live browser sockets in this process (one clock for every timestamp).
 *
 * - Cross-replica push: an agent on replica A, a browser on replica B and,
 *   as the same-run baseline, one on A. For each state change, ms from the
 *   batch's ack to each browser's receipt of the summary showing it (A pushes
 *   from memory; B learns of the batch by NOTIFY and reads it back, feed.ts).
 * - Lease takeover: the replica holding the one cluster's detection lease
 *   (kam_leases_acquired_total >= 1 on its /metrics) is SIGKILLed; ms until
 *   the other's counter increments (/metrics polled every 20 ms). The killed
 *   one is restarted and the next round kills whichever holds it now.
 * - Ingest: K agents send batches of 50 lines as fast as the acks come, for a
 *   window: first all against one replica alone (the baseline), then half
 *   against each of two replicas (fresh clusters, same database).
 * - Catch-up after a database outage: a PRIVATE PostgreSQL (initdb in a
 *   temporary directory, its own port) is stopped for OUTAGE_MS while an agent
 *   logs a state change; ms from its restart to the browser seeing it.
 *
 * PostgreSQL only: the embedded PGlite is one process by design.
 */
import os from "node:os";
import pg from "pg";
import type { BatchAck } from "../server/protocol";
import { connectFakeAgent, consoleStamp, type FakeAgent } from "../test/helpers/fake-agent";
import { metricOf } from "../test/helpers/server";
import { pgBinDir } from "../test/e2e/lab/preflight";
import { q, step, DB_KIND, sleep, type BenchServer } from "./lib/env";
import { createTokens, pgClient } from "./lib/db";
import { fakeCursor, lineStream } from "./lib/lines";
import { Replicas, browser, stateIs, config } from "./lib/replica-group";
import { privatePg } from "./lib/private-pg";
import { CpuWindow } from "./lib/proc";
import { row, runStandalone, isMain, unavailable, type Row } from "./lib/result";
import { dist, distText, fmt, median } from "./lib/stats";

const B = "replicas";
const CHANGES = q(200, 40);
const TAKEOVERS = q(5, 2);
const TAKEOVER_TARGET_MS = 5000;
const INGEST_AGENTS = q(40, 10);
const INGEST_BATCH = 50;
const INGEST_WINDOW_MS = q(15_000, 5_000);
const OUTAGE_MS = q(30_000, 10_000);
/** issue 13: what the agents collected during an outage is shown within 2 s of the database's return */
const CATCH_UP_TARGET_MS = 2000;
/** every simulated agent and browser comes from 127.0.0.1: lift the per-address limits (real nodes have their own) */
const ENV = { KAM_IP_HANDSHAKES_PER_10S: "100000" };

/** records without their seq (numbered by whoever sends them) */
type Records = Parameters<FakeAgent["send"]>[0];

/** 1. agent on A, browsers on B (measured) and A (baseline) */
async function crossReplicaPush(): Promise<Row[]> {
  const g = await Replicas.create();
  try {
    const a = await g.start("replicas-push-A", ENV);
    const b = await g.start("replicas-push-B", ENV);
    const CL = "push";
    const onA = await browser(g, a);
    const onB = await browser(g, b);
    const agent = g.track(await connectFakeAgent(a.url, await a.token(CL, "n1"), "n1", 1000));
    const ok = (r: BatchAck) => {
      if (!r.ok) throw new Error(`batch refused: ${r.code} ${r.message}`);
    };
    const seen = Promise.all([onA.next(stateIs(CL, "n1", "VI_1", "BACKUP"), 15_000), onB.next(stateIs(CL, "n1", "VI_1", "BACKUP"), 15_000)]);
    ok(await agent.send([config("n1")]));
    ok(await agent.log("(VI_1) Entering BACKUP STATE (init)"));
    await seen;
    step(`replicas push: both browsers see the cluster; ${CHANGES} state changes, agent on A, browsers on A and B`);

    const fromAckA: number[] = [];
    const fromAckB: number[] = [];
    const fromSendB: number[] = [];
    let missedA = 0;
    let missedB = 0;
    const readBacks0 = await metricOf(b, "kam_feed_read_backs_total");
    const WARMUP = 4;
    for (let i = 0; i < CHANGES + WARMUP; i++) {
      const st = i % 2 === 0 ? "MASTER" : "BACKUP";
      const pred = stateIs(CL, "n1", "VI_1", st);
      const gotA = onA.next(pred).catch(() => NaN);
      const gotB = onB.next(pred).catch(() => NaN);
      const t0 = performance.now();
      ok(await agent.log(st === "MASTER" ? "(VI_1) Entering MASTER STATE" : "(VI_1) Entering BACKUP STATE"));
      const tAck = performance.now();
      const [ra, rb] = await Promise.all([gotA, gotB]);
      if (i < WARMUP) continue;
      if (Number.isNaN(ra)) missedA++;
      else fromAckA.push(ra - tAck);
      if (Number.isNaN(rb)) missedB++;
      else {
        fromAckB.push(rb - tAck);
        fromSendB.push(rb - t0);
      }
      await sleep(20);
    }
    const readBacks = (await metricOf(b, "kam_feed_read_backs_total")) - readBacks0;
    const dA = dist(fromAckA);
    const dB = dist(fromAckB);
    step(`replicas push: B p50 ${fmt(dB.p50)} / p99 ${fmt(dB.p99)} ms, A p50 ${fmt(dA.p50)} / p99 ${fmt(dA.p99)} ms after the ack; missed A ${missedA}, B ${missedB}`);
    const common =
      `${CHANGES} state changes (one instance flipping MASTER/BACKUP, one at a time, ${WARMUP} warm-up changes not counted); ` +
      `browser on B: ${distText(dB)}; browser on A: ${distText(dA)} (A pushes in the same tick as the ack, so its figure can be below 0); ` +
      `B from the send: ${distText(dist(fromSendB))}; batches B read back from the feed: ${readBacks}`;
    return [
      row({ bench: B, name: "cross-replica push: batch ack on A -> summary on a browser of B", unit: "ms", value: dB.p99, stat: `p99 of ${dB.n}`,
        baseline: { name: "browser on A (same replica as the agent) p99", value: dA.p99 }, detail: common }),
      row({ bench: B, name: "cross-replica push, median", unit: "ms", value: dB.p50, stat: `p50 of ${dB.n}`,
        baseline: { name: "browser on A p50", value: dA.p50 } }),
      row({ bench: B, name: "state changes not shown within 10 s (browser on B / on A)", unit: "changes", value: missedB + missedA, stat: `B ${missedB}, A ${missedA} of ${CHANGES}`,
        target: [{ op: "<=", value: 0 }] }),
    ];
  } finally {
    await g.close();
  }
}

/** 2. SIGKILL the lease holder; ms until the other replica takes the lease */
async function leaseTakeover(): Promise<Row[]> {
  const g = await Replicas.create();
  try {
    const reps = [await g.start("replicas-lease-1", ENV), await g.start("replicas-lease-2", ENV)];
    await reps[0].token("lease", "n1");
    const leases = (s: BenchServer) => metricOf(s, "kam_leases_acquired_total");
    const t0 = performance.now();
    for (;;) {
      const m = await Promise.all(reps.map(leases));
      if (m.some((x) => x >= 1)) break;
      if (performance.now() - t0 > 15_000) throw new Error("no replica took the cluster's lease within 15 s");
      await sleep(50);
    }
    const ms: number[] = [];
    const restartS: number[] = [];
    const holders: number[] = [];
    for (let r = 1; r <= TAKEOVERS; r++) {
      const m = await Promise.all(reps.map(leases));
      // the restarted replica starts counting from 0: exactly one counter is >= 1, the holder's
      const held = m.map((x, i) => (x >= 1 ? i : -1)).filter((i) => i >= 0);
      if (held.length !== 1) throw new Error(`round ${r}: cannot tell the lease holder (kam_leases_acquired_total ${m.join(", ")})`);
      const h = held[0];
      const other = reps[1 - h];
      const before = m[1 - h];
      holders.push(h + 1);
      const k0 = performance.now();
      await reps[h].kill("SIGKILL");
      let took = NaN;
      while (performance.now() - k0 < 15_000) {
        if ((await leases(other)) > before) {
          took = performance.now() - k0;
          break;
        }
        await sleep(20);
      }
      if (Number.isNaN(took)) throw new Error(`round ${r}: replica ${2 - h} did not take the lease within 15 s of the SIGKILL`);
      ms.push(took);
      const s0 = performance.now();
      await reps[h].restart();
      restartS.push((performance.now() - s0) / 1000);
      step(`replicas lease: round ${r}: replica ${h + 1} SIGKILLed, replica ${2 - h} took the lease after ${fmt(took)} ms; replica ${h + 1} restarted in ${fmt(restartS.at(-1)!)} s`);
    }
    // the last restarted replica must not hold it: the lease stayed with the one that took it
    const end = await Promise.all(reps.map(leases));
    const detail =
      `${TAKEOVERS} SIGKILLs of the holder (replica ${holders.join(", ")}; each restarted before the next round); takeovers ${ms.map((x) => fmt(x)).join(", ")} ms; ` +
      `the lease poll runs every 1000 ms (leases.ts LEASE_POLL_MS) and PostgreSQL frees the dead replica's advisory lock as its connection drops; ` +
      `restart of a replica ${restartS.map((x) => fmt(x)).join(", ")} s; kam_leases_acquired_total at the end ${end.join(", ")}`;
    return [
      row({ bench: B, name: "lease takeover: holder SIGKILLed -> the other replica takes the lease", unit: "ms", value: median(ms), stat: `median of ${ms.length}`,
        target: [{ op: "<=", value: TAKEOVER_TARGET_MS }], detail }),
      row({ bench: B, name: "lease takeover, worst", unit: "ms", value: Math.max(...ms), stat: `max of ${ms.length}`, target: [{ op: "<=", value: TAKEOVER_TARGET_MS }] }),
    ];
  } finally {
    await g.close();
  }
}

interface IngestPhase {
  acked: number;
  errors: number;
  /** batches acknowledged, per agent */
  batches: number[];
  /** per agent: each instance's state after its last acked batch */
  states: Map<string, string>[];
  ms: number;
}

const STATE_LINE = /^\((\S+)\) Entering (MASTER|BACKUP) STATE/;

/** every agent sends batches of INGEST_BATCH lines, one in flight, until the window ends */
async function ingestWindow(agents: FakeAgent[]): Promise<IngestPhase> {
  const t0 = performance.now();
  const end = t0 + INGEST_WINDOW_MS;
  const out = { acked: 0, errors: 0, batches: agents.map(() => 0), states: agents.map(() => new Map<string, string>()) };
  await Promise.all(
    agents.map(async (fa, ai) => {
      const gen = lineStream(20);
      const boot = (ai + 1).toString(16).padStart(32, "0");
      let k = 0;
      while (performance.now() < end) {
        const ts = Date.now();
        const lines = Array.from({ length: INGEST_BATCH }, () => gen.next().value!.line);
        const records: Records = lines.map((line) => {
          k++;
          return { kind: "log" as const, ts, source: "journal" as const, line, cursor: fakeCursor(boot, k, ts * 1000 + k), ident: "Keepalived_vrrp", pid: 4242 };
        });
        try {
          const r = await fa.send(records);
          if (!r.ok) {
            out.errors++;
            continue;
          }
          out.batches[ai]++;
          out.acked += r.acked.length;
          for (const l of lines) {
            const m = STATE_LINE.exec(l);
            if (m) out.states[ai].set(m[1], m[2]);
          }
        } catch {
          out.errors++;
        }
      }
    }),
  );
  return { ...out, ms: performance.now() - t0 };
}

/**
 * ms until a /live browser connected to `srv` now shows, for every cluster, each instance in the state of
 * its last acked batch (the replica has applied everything acked, its own and the other's); NaN: not within 30 s
 */
async function pictureComplete(g: Replicas, srv: BenchServer, cookie: string, expect: Map<string, Map<string, string>>, since: number): Promise<number> {
  const br = await browser(g, srv, cookie);
  const done = () =>
    [...expect].every(([cl, want]) => {
      const inst = br.latest.get(cl)?.nodes.find((n) => n.name === "n1")?.instances;
      return !!inst && [...want].every(([name, st]) => inst.find((i) => i.name === name)?.state === st);
    });
  while (!done()) {
    if (performance.now() - since > 30_000) return NaN;
    await sleep(5);
  }
  const ms = performance.now() - since;
  br.socket.close();
  return ms;
}

/** 3. ingest through one replica, then through two (same run, same database, fresh clusters) */
async function ingestTwoVsOne(): Promise<Row[]> {
  const g = await Replicas.create();
  try {
    const a = await g.start("replicas-ingest-A", ENV);
    const db = await pgClient(a);
    g.track({ close: () => void db.end() });
    const phase = async (label: string, servers: BenchServer[]) => {
      const clusters = Array.from({ length: INGEST_AGENTS }, (_, i) => `${label}-${i + 1}`);
      const tokens = await createTokens(a, clusters);
      const cookies = await Promise.all(servers.map(async (s) => (await s.session("viewer")).cookie));
      const agents: FakeAgent[] = [];
      const on = (i: number) => i % servers.length;
      for (const [i, c] of clusters.entries()) agents.push(g.track(await connectFakeAgent(servers[on(i)].url, tokens.get(c)!, "n1", 5000)));
      await sleep(500);
      const cpu = servers.map((s) => new CpuWindow(s.pid));
      const r = await ingestWindow(agents);
      const ended = performance.now();
      const c = cpu.map((w) => w.read());
      // every replica's picture catches up with every acked batch (browsers connect after the window: no pushes during it)
      const expect = new Map(clusters.map((cl, i) => [cl, r.states[i]]));
      const complete = await Promise.all(servers.map((s, k) => pictureComplete(g, s, cookies[k], expect, ended)));
      for (const fa of agents) fa.close();
      const stored = Number(
        (await db.query(`SELECT count(*)::int AS n FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = ANY($1)`, [clusters])).rows[0].n,
      );
      const rate = (r.acked / r.ms) * 1000;
      const perReplica = servers.map((_, k) => r.batches.filter((_b, i) => on(i) === k).reduce((x, y) => x + y, 0));
      step(
        `replicas ingest, ${servers.length} replica(s): ${r.acked} records acked in ${fmt(r.ms / 1000)} s = ${fmt(rate)}/s, ${stored} stored, ${r.errors} errors; ` +
          `server CPU ${c.map((x) => x.processPct.toFixed(0)).join(" + ")}% of a core, machine ${c[0].machineBusyPct.toFixed(0)}% busy; ` +
          `every acked state shown ${complete.map((x) => fmt(x)).join(" / ")} ms after the window`,
      );
      return { ...r, rate, stored, perReplica, complete, cpu: c.map((x) => x.processPct), busy: c[0].machineBusyPct };
    };
    const one = await phase("ing1", [a]);
    const b = await g.start("replicas-ingest-B", ENV);
    const readBacks0 = [await metricOf(a, "kam_feed_read_backs_total"), await metricOf(b, "kam_feed_read_backs_total")];
    const two = await phase("ing2", [a, b]);
    const feed = async (s: BenchServer, k: number) =>
      `${(await metricOf(s, "kam_feed_read_backs_total")) - readBacks0[k]} read back, ${await metricOf(s, "kam_feed_positions_skipped_total")} skipped, ` +
      `${await metricOf(s, "kam_feed_apply_errors_total")} apply errors, ${await metricOf(s, "kam_feed_read_errors_total")} read errors`;
    const feedText = `A ${await feed(a, 0)}; B ${await feed(b, 1)}`;
    const lost = one.acked - one.stored + (two.acked - two.stored);
    const text = (p: typeof one) =>
      `${fmt(p.rate)} records/s (${p.acked} acked in ${p.perReplica.join(" + ")} batches, ${p.stored} stored, ${p.errors} errors; ` +
      `server CPU ${p.cpu.map((x) => x.toFixed(0)).join(" + ")}% of a core, machine ${p.busy.toFixed(0)}% busy)`;
    const lag1 = Math.max(...one.complete);
    const lag2 = Math.max(...two.complete);
    return [
      row({ bench: B, name: `ingest through 2 replicas (${INGEST_AGENTS / 2} agents each) vs 1 replica (${INGEST_AGENTS} agents)`, unit: "records/s", value: two.rate,
        stat: `${fmt(INGEST_WINDOW_MS / 1000)} s window`, baseline: { name: "1 replica, same run", value: one.rate },
        detail:
          `on this ${os.cpus().length}-core machine both replicas, PostgreSQL and the agents share the cores: the ratio measures the coordination overhead ` +
          `(each replica reads back and applies the other's batches, feed.ts), not scaling; ${INGEST_AGENTS} agents in the bench process, batches of ${INGEST_BATCH} lines ` +
          `(about 1 in 6 a state change), one in flight each, fresh clusters per phase; 1 replica: ${text(one)}; 2 replicas (batches via A + via B): ${text(two)}; ` +
          `cluster feed during the 2-replica phase: ${feedText}` }),
      row({ bench: B, name: "end of the ingest window -> every replica's /live picture shows every acked state", unit: "ms", value: lag2,
        stat: `max of ${two.complete.length} replicas`, baseline: { name: "1 replica", value: lag1 },
        detail:
          `a browser connects to each replica after the last ack and waits until every cluster's instances show the state of their last acked line ` +
          `(connect + subscribe included in both); 2 replicas: A ${fmt(two.complete[0])}, B ${fmt(two.complete[1])} ms; 1 replica: ${fmt(lag1)} ms; "-": not within 30 s` }),
      row({ bench: B, name: "ingest through replicas: records acked but not stored", unit: "records", value: lost, stat: `${one.acked + two.acked} acked, ${one.stored + two.stored} stored`,
        target: [{ op: "<=", value: 0 }] }),
    ];
  } finally {
    await g.close();
  }
}


/** 4. PostgreSQL down for OUTAGE_MS while an agent logs a change; ms from its restart to the browser seeing it */
async function outageCatchUp(): Promise<Row[]> {
  const NAME = "catch-up after a database outage";
  const bin = pgBinDir();
  if (!bin) return [unavailable(B, NAME, "PostgreSQL server binaries (initdb, pg_ctl) are missing: apt-get install -y postgresql")];
  if (process.getuid?.() !== 0) return [unavailable(B, NAME, "needs root, to run a private PostgreSQL as the postgres user (runuser)")];
  const pgsrv = await privatePg(bin);
  let g: Replicas | null = null;
  try {
    const name = `kam_bench_outage_${process.pid}`;
    const c = new pg.Client({ connectionString: pgsrv.url });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    // the database lives and dies with the private server: nothing to drop
    g = await Replicas.create({ kind: "postgres", databaseUrl: pgsrv.url.replace(/\/postgres$/, `/${name}`), dataDir: "", drop: async () => undefined });
    const srv = await g.start("replicas-outage", ENV);
    const CL = "outage";
    const onS = await browser(g, srv);
    const agent = g.track(await connectFakeAgent(srv.url, await srv.token(CL, "n1"), "n1", 1000));
    // records numbered here (not by FakeAgent.send), so that a batch answered `unavailable` is resent with the same seq, like the agent's outbox
    let seq = 0;
    let resumes = 0;
    let resumed: (() => void) | null = null;
    agent.socket.on("resume", () => {
      resumes++;
      resumed?.();
    });
    const raw = async (records: Records) => {
      const withSeq = records.map((r) => ({ ...r, seq: ++seq }));
      const answers: string[] = [];
      for (;;) {
        let r: BatchAck;
        try {
          r = (await agent.socket.timeout(60_000).emitWithAck("batch", { records: withSeq })) as BatchAck;
        } catch (e) {
          throw new Error(`batch not answered: ${(e as Error).message}`);
        }
        if (r.ok) return { at: performance.now(), answers };
        answers.push(r.code);
        if (r.code !== "unavailable") throw new Error(`batch refused: ${r.code} ${r.message}`);
        // wait for `resume`, or 30 s (the agent's longest retry delay)
        await new Promise<void>((res) => {
          const t = setTimeout(res, 30_000);
          resumed = () => (clearTimeout(t), (resumed = null), res());
        });
      }
    };
    const log = (msg: string) => {
      const now = new Date();
      return raw([{ kind: "log", ts: now.getTime(), source: "file", line: `${consoleStamp(now)}: ${msg}`, inode: "1", offset: 0 }]);
    };
    const seen = onS.next(stateIs(CL, "n1", "VI_1", "BACKUP"), 15_000);
    await raw([config("n1")]);
    await log("(VI_1) Entering BACKUP STATE (init)");
    await seen;

    // baseline: the same push with the database up (send -> browser)
    const normal: number[] = [];
    for (let i = 0; i < 6; i++) {
      const st = i % 2 === 0 ? "MASTER" : "BACKUP";
      const got = onS.next(stateIs(CL, "n1", "VI_1", st));
      const t0 = performance.now();
      await log(`(VI_1) Entering ${st} STATE`);
      normal.push((await got) - t0);
      await sleep(50);
    }

    step(`replicas outage: stopping the private PostgreSQL for ${OUTAGE_MS / 1000} s; the agent logs a change meanwhile`);
    const down0 = performance.now();
    await pgsrv.stop();
    let restarted = false;
    try {
      await sleep(1000);
      const shown = onS.next(stateIs(CL, "n1", "VI_1", "MASTER"), OUTAGE_MS + 60_000);
      const sent = log("(VI_1) Entering MASTER STATE");
      sent.catch(() => undefined);
      await sleep(Math.max(0, OUTAGE_MS - (performance.now() - down0)));
      if (onS.latest.get(CL) && stateIs(CL, "n1", "VI_1", "MASTER")(onS.latest.get(CL)!)) throw new Error("the change was shown while PostgreSQL was down");
      await pgsrv.start();
      restarted = true;
      const up = performance.now();
      const at = await shown;
      const acked = await sent;
      const ms = at - up;
      step(`replicas outage: PostgreSQL back after ${fmt((up - down0) / 1000)} s; the change was shown ${fmt(ms)} ms later`);
      const recoveries = await metricOf(srv, "kam_storage_recoveries_total");
      const nb = dist(normal);
      return [
        row({ bench: B, name: `${NAME} (${fmt(OUTAGE_MS / 1000)} s): PostgreSQL ready -> change shown on /live`, unit: "ms", value: ms, stat: "1 outage",
          baseline: { name: "same push, database up (median)", value: nb.p50 }, target: [{ op: "<=", value: CATCH_UP_TARGET_MS }],
          detail:
            `one replica on a private PostgreSQL (pg_ctl stop -m fast, start -w); the agent's batch during the outage was answered ${acked.answers.join(", ") || "(nothing)"} and resent on \`resume\` ` +
            `(${resumes} received; kam_storage_recoveries_total ${recoveries}); acked ${fmt(acked.at - up)} ms after PostgreSQL was ready; ` +
            `the server probes the database every 250 ms (recovery.ts PROBE_MS); baseline: ${distText(nb)}` }),
      ];
    } finally {
      if (!restarted) await pgsrv.start().catch(() => undefined);
    }
  } finally {
    await g?.close();
    await pgsrv.destroy();
  }
}

export async function benchReplicas(): Promise<Row[]> {
  const parts: [string, () => Promise<Row[]>][] = [
    ["cross-replica push latency", crossReplicaPush],
    ["lease takeover", leaseTakeover],
    ["ingest, 2 replicas vs 1", ingestTwoVsOne],
    ["catch-up after a database outage", outageCatchUp],
  ];
  if (DB_KIND !== "postgres") {
    const why = "replicas share a PostgreSQL database (the embedded PGlite is one process by design): set TEST_DATABASE_URL=postgresql://...";
    return parts.map(([name]) => unavailable(B, name, why));
  }
  const rows: Row[] = [];
  for (const [name, fn] of parts) {
    step(`replicas: ${name}...`);
    try {
      rows.push(...(await fn()));
    } catch (e) {
      console.error(e);
      rows.push(unavailable(B, name, `failed: ${(e as Error).message.split("\n")[0]}`));
    }
  }
  return rows;
}

if (isMain(import.meta.url)) await runStandalone("replicas", benchReplicas);
