/**
 * `npm run truth -- --schedules N --seed S [--soak MINUTES] [--settings JSON] [--out PATH]`
 *
 * Draws N random keepalived clusters and schedules (seeds S, S+1, ...), runs
 * them on real keepalived in network namespaces with the real agents and
 * server, lets the oracle observe the truth, reads the incidents ONLY through
 * GET /api/incidents (polled every 500 ms: when each incident first became
 * visible, and its close), scores them, prints one table, writes JSON, and
 * exits non-zero when a threshold of test/truth/thresholds.json is missed.
 * Every schedule's evidence goes to bench-results/truth/<seed>/ (beside --out)
 * as soon as it is scored, with the command that reruns it; the ones with a
 * miss or a false alarm are listed at the end.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { IncidentMsg } from "../../server/protocol";
import { DEFAULT_SETTINGS } from "../../server/detect/types";
import { startLabJournal, type LabJournal } from "../e2e/lab/journal";
import { chooseDatabase, labProblems } from "../e2e/lab/preflight";
import { markOwnership, sweepStale, teardownAll, teardownMark, teardownTo } from "../e2e/lab/reaper";
import { Stack } from "../e2e/lab/stack";
import { ROOT } from "../helpers/server";
import { CATALOGUE, generateSchedule, originsOf, type Planned, type Schedule } from "./actions";
import { TruthCluster } from "./cluster";
import { execute } from "./execute";
import { sleep } from "../helpers/wait";
import { deriveTruth, emptyObservations, type Observations, type Truth } from "./oracle";
import { formatTable, missedThresholds, scoreSchedule, summarize, type ScheduleScore, type SeenIncident, type Thresholds } from "./scorer";
import { cloneTopology, generateTopology, usesJournal, type Topology } from "./topology";
import { CpuPressure, describePressure, raisePriority, STARVED_PCT } from "./cpu";

const USAGE = `npm run truth -- [--schedules N] [--seed S | --seeds A,B,...] [--soak MINUTES] [--settings JSON] [--out PATH] [--max-actions N]
  --schedules N   random schedules to run (default 3; seeds S, S+1, ...)
  --seed S        first seed (default 1)
  --seeds A,B,... exactly these seeds instead (rerun chosen schedules, e.g. those that draw an action kind)
  --soak MINUTES  instead: a healthy cluster with a planned failover every ~33 s; must raise nothing
  --settings JSON detector settings applied to the lab clusters before their agents connect, e.g. '{"flapCount":2}'
  --out PATH      JSON results (default bench-results/truth.json)
  --max-actions N at most N actions per schedule (default 8)
  --rescore DIR   no lab: derive the truth again from the stored evidence (DIR/<seed>/observations.json, incidents.json) and score it`;

interface Opts {
  schedules: number;
  seed: number;
  /** the seeds to run: seed, seed + 1, ... (schedules of them), or --seeds */
  seeds: number[];
  soak: number | null;
  settings: Record<string, number> | null;
  out: string;
  maxActions: number;
  rescore: string | null;
}

function parse(argv: string[]): Opts {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      schedules: { type: "string" }, seed: { type: "string" }, seeds: { type: "string" }, soak: { type: "string" }, settings: { type: "string" },
      out: { type: "string" }, "max-actions": { type: "string" }, rescore: { type: "string" }, help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, def: number, min: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got "${v}")`);
    return n;
  };
  let settings: Record<string, number> | null = null;
  if (values.settings !== undefined) {
    const j = JSON.parse(values.settings) as unknown;
    if (!j || typeof j !== "object" || Array.isArray(j)) throw new Error("--settings must be a JSON object");
    settings = {};
    for (const [k, v] of Object.entries(j)) {
      if (!(k in DEFAULT_SETTINGS)) throw new Error(`--settings: unknown setting "${k}" (one of ${Object.keys(DEFAULT_SETTINGS).join(", ")})`);
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Error(`--settings: ${k} must be a number >= 0`);
      settings[k] = v;
    }
  }
  if (values.seeds !== undefined && (values.seed !== undefined || values.schedules !== undefined)) throw new Error("--seeds replaces --seed and --schedules: give one or the other");
  const seeds = values.seeds !== undefined
    ? values.seeds.split(",").map((x) => int("seeds", x.trim(), 0, 0))
    : Array.from({ length: int("schedules", values.schedules, 3, 1) }, (_, i) => int("seed", values.seed, 1, 0) + i);
  return {
    seeds, schedules: seeds.length, seed: seeds[0],
    soak: values.soak === undefined ? null : int("soak", values.soak, 0, 1), settings,
    out: values.out ?? path.join(ROOT, "bench-results/truth.json"), maxActions: int("max-actions", values["max-actions"], 8, 1),
    rescore: values.rescore ?? null,
  };
}

interface ScheduleResult {
  seed: number;
  cluster: string;
  topology: Topology;
  schedule: Schedule;
  /** set when the schedule could not be set up or run: reported, not scored */
  failed: string | null;
  obs: Observations | null;
  truth: Truth | null;
  incidents: SeenIncident[];
  score: ScheduleScore | null;
  logs: Record<string, string>;
  /** the share of the schedule's time some task waited for a CPU (%; null: unknown): above STARVED_PCT the lab was starved */
  cpuPressurePct: number | null;
}

const runTag = Date.now().toString(36).slice(-5);
const t0 = Date.now();
const clock = () => {
  const s = Math.round((Date.now() - t0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};

/** poll GET /api/incidents for a cluster every 500 ms: first seen, first seen closed */
function pollIncidents(stack: Stack, cluster: string) {
  const seen = new Map<string, SeenIncident>();
  let errors = 0;
  let stopped = false;
  let busy = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    let timer: NodeJS.Timeout | null = null;
    try {
      // never wait on a hung request: 5 s, then the next poll
      const list = await Promise.race([
        stack.api<IncidentMsg[]>(`/api/incidents?cluster=${encodeURIComponent(cluster)}&limit=5000`),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("GET /api/incidents: no answer within 5 s")), 5000))),
      ]);
      const now = Date.now();
      for (const inc of list) {
        const s = seen.get(inc.id);
        if (!s) seen.set(inc.id, { inc, firstSeen: now, closedSeen: inc.closedAt ? now : null });
        else {
          s.inc = inc;
          if (inc.closedAt && s.closedSeen === null) s.closedSeen = now;
          if (!inc.closedAt) s.closedSeen = null; // re-opened
        }
      }
    } catch {
      errors++; // the server restarting: counted, shown
    } finally {
      if (timer) clearTimeout(timer);
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 500);
  return {
    seen, errors: () => errors, tick,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

async function waitElection(c: TruthCluster, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = c.topo.routers.every((r) => c.holders(r.vrid).length === 1);
    if (ok) return;
    if (Date.now() > end) {
      throw new Error(`no single VIP holder per router within ${timeoutMs / 1000} s: ${c.topo.routers.map((r) => `${r.vrid}: ${c.holders(r.vrid).join("+") || "none"}`).join(", ")}`);
    }
    await sleep(200);
  }
}

async function runOne(stack: Stack, journal: LabJournal | null, opts: Opts, seed: number, i: number, n: number, soakMinutes: number | null): Promise<ScheduleResult> {
  let topo = generateTopology(seed, { journal: journal !== null });
  let schedule: Schedule = generateSchedule(seed, topo, opts.maxActions);
  if (soakMinutes !== null) {
    // a healthy cluster: no tracking, no mismatches; a planned failover about every 33 s (24 s gap, 8 s held,
    // the stop and start): as many as fill soakMinutes (45 at "every 40 s" filled 25 of 30 minutes)
    topo = cloneTopology(topo);
    for (const h of topo.hosts) for (const r of topo.routers) Object.assign(topo.members[h.name][r.vrid], { scriptWeight: null, trackEth1: false });
    Object.assign(topo, { agentsFirst: true, staleNames: false });
    for (const r of topo.routers) r.advertInt = topo.routers[0].advertInt; // a sync group waits for its slowest member at start
    for (const h of topo.hosts) for (const r of topo.routers) delete topo.members[h.name][r.vrid].advertInt;
    const k = Math.max(1, Math.round((soakMinutes * 60_000) / 32_500));
    const actions: Planned[] = [];
    for (let j = 0; j < k; j++) actions.push({ kind: "planned_failover", vrid: topo.routers[j % topo.routers.length].vrid, role: "master", pickIndex: 0, holdMs: 8000, gapMs: 24_000, overlap: false });
    schedule = { seed, actions };
  }
  const original = cloneTopology(topo);
  const cluster = `truth-${runTag}-${seed}${soakMinutes !== null ? "-soak" : ""}`;
  const log = (s: string) => console.log(`[truth ${i + 1}/${n} seed ${seed} ${clock()}] ${s}`);
  const obs = emptyObservations(seed, cluster, topo.hosts.map((h) => h.name), topo.routers.map((r) => r.vrid), topo.syncGroup);
  const res: ScheduleResult = { seed, cluster, topology: original, schedule, failed: null, obs, truth: null, incidents: [], score: null, logs: {}, cpuPressurePct: null };
  const pressure = new CpuPressure();
  log(`${topo.hosts.length} hosts (${topo.hosts.map((h) => `${h.name}:${h.source}`).join(" ")}), routers ${topo.routers.map((r) => `${r.vrid}${r.unicast ? "u" : "m"}/a${r.advertInt}${r.authPass ? "/pass" : ""}/${r.vips.length}vip`).join(" ")}${topo.syncGroup.length ? `, sync group ${topo.syncGroup.join("+")}` : ""}; agents ${topo.agentsFirst ? "before" : "after"} keepalived${topo.staleNames ? ", stale instance names first" : ""}; ${schedule.actions.length} actions`);
  const mark = teardownMark();
  // the server's own log of this schedule, for the artifacts (its buffer is shared by every schedule of the run)
  const srvMark = stack.srv.output().length;
  let c: TruthCluster | null = null;
  try {
    const token = await stack.srv.token(cluster);
    if (opts.settings) {
      // what `npm run admin -- settings set --cluster X k=v` does: the cluster's settings JSON, read when its engine starts (before any agent connects)
      const settings = opts.settings;
      await stack.srv.withPrisma((db) => db.cluster.update({ where: { name: cluster }, data: { settings } }));
    }
    c = TruthCluster.build(topo, cluster, obs, stack.url, token, journal);
  } catch (e) {
    res.failed = `setup: ${(e as Error).message}`;
    log(`SETUP FAILED: ${res.failed}`);
    teardownTo(mark);
    return res;
  }
  obs.startedAt = Date.now();
  c.sampler.start();
  const poll = pollIncidents(stack, cluster);
  const hosts = topo.hosts.map((h) => h.name);
  try {
    try {
      for (const h of hosts) c.writeConfig(h, topo.staleNames ? "_OLD" : "");
      if (topo.agentsFirst) hosts.forEach((h) => c!.startAgent(h));
      if (topo.staleNames) {
        // the backlog holds instances no longer configured: a first start with other names, stopped, renamed
        hosts.forEach((h) => c!.startKa(h));
        await sleep(5000);
        for (const h of hosts) await c.stopKa(h);
        for (const h of hosts) c.writeConfig(h);
      }
      hosts.forEach((h) => c!.startKa(h));
      if (!topo.agentsFirst) {
        await sleep(4000);
        hosts.forEach((h) => c!.startAgent(h));
      }
      await waitElection(c, 30_000);
      // the lab itself must work before the product is scored against it: a journal-source host whose keepalived
      // reached none of its lines to the lab's journald would score the product blind on that node (seen: whole
      // runs where the private journald received nothing, and split brains blamed on "VIP held by a non-MASTER")
      for (const h of c.hosts.values()) {
        if (h.facility !== null && journal && journal.entries(h.facility).length === 0) {
          throw new Error(`keepalived on ${h.name} logged nothing to the lab's journald (SYSLOG_FACILITY=${16 + h.facility}): the lab's journal is broken, the schedule is not scored`);
        }
      }
    } catch (e) {
      throw Object.assign(new Error(`setup: ${(e as Error).message}`), { setup: true });
    }
    await sleep(6000);
    let id = 0;
    let pending: Promise<unknown> | null = null;
    for (const p of schedule.actions) {
      if (p.overlap && pending) {
        await sleep(2000);
      } else {
        if (pending) await pending;
        await sleep(p.gapMs);
      }
      pending = Promise.all([pending, execute(c, stack, p, ++id, log)]);
    }
    if (pending) await pending;
    log("final quiet period");
    await sleep(12_000);
  } catch (e) {
    res.failed = (e as { setup?: boolean }).setup ? (e as Error).message : `run: ${(e as Error).message}`;
    log(`FAILED: ${res.failed}`);
  } finally {
    obs.endedAt = Date.now();
    await sleep(3000); // closes that become visible just after the end
    await poll.tick();
    poll.stop();
    c.sampler.stop();
    await c.sampler.drain();
    res.logs = c.logs(journal);
    // what the server stored and drew (per-node states, VIPs, its copy of the log lines): a miss is read
    // against these (did the facts arrive, what state did the model hold) before a definition is changed
    const range = `from=${new Date(obs.startedAt - 60_000).toISOString()}&to=${new Date(obs.endedAt + 5000).toISOString()}`;
    const stored = async (what: string, url: string) => {
      try {
        res.logs[what] = JSON.stringify(await stack.api<unknown>(url), null, 1);
      } catch (e) {
        res.logs[what] = `GET ${url} failed: ${(e as Error).message}`;
        log(`stored ${what}: ${(e as Error).message}`);
      }
    };
    await stored("server-timeline.json", `/api/clusters/${encodeURIComponent(cluster)}/timeline?${range}`);
    await stored("server-logs.json", `/api/clusters/${encodeURIComponent(cluster)}/logs?${range}&limit=2000`);
    const srvOut = stack.srv.output();
    res.logs["server.log"] = srvOut.length >= srvMark ? srvOut.slice(srvMark) : srvOut;
    await c.destroy().catch(() => undefined);
    teardownTo(mark);
  }
  res.cpuPressurePct = pressure.stop();
  res.incidents = [...poll.seen.values()];
  if (poll.errors()) obs.errors.push(`${poll.errors()} polls of /api/incidents failed (server restarts)`);
  if (res.failed) return res;
  res.truth = deriveTruth(obs);
  res.score = scoreSchedule(seed, res.truth, res.incidents, { start: obs.startedAt, end: obs.endedAt });
  const s = res.score;
  log(`labels ${res.truth.labels.length}, matched ${s.matches.length}, missed ${s.misses.length}, false alarms ${s.falseAlarms.length}, don't care ${s.ignored.length}, info ${s.info}; ${describePressure(res.cpuPressurePct)}`);
  return res;
}

function writeArtifacts(r: ScheduleResult, base: string): string {
  const dir = path.join(base, String(r.seed));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  const w = (f: string, v: unknown) => fs.writeFileSync(path.join(dir, f), typeof v === "string" ? v : JSON.stringify(v, null, 2));
  w("rerun.txt", `npm run truth -- --schedules 1 --seed ${r.seed}\n`);
  w("schedule.json", { seed: r.seed, cluster: r.cluster, topology: r.topology, planned: r.schedule.actions, executed: r.obs?.actions, failed: r.failed });
  w("observations.json", r.obs);
  w("cpu.json", { pressurePct: r.cpuPressurePct, starvedAbovePct: STARVED_PCT });
  w("truth.json", r.truth);
  w("incidents.json", r.incidents);
  w("score.json", r.score && { misses: r.score.misses, falseAlarms: r.score.falseAlarms, matches: r.score.matches, ignored: r.score.ignored, duplicates: r.score.duplicates });
  for (const [f, text] of Object.entries(r.logs)) w(path.join("logs", f), text);
  return dir;
}

/** score stored evidence again (after a change to the oracle or the scorer): no lab, no server */
function rescore(dir: string): number {
  const scores: ScheduleScore[] = [];
  for (const d of fs.readdirSync(dir).filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(a) - Number(b))) {
    const f = (n: string) => path.join(dir, d, n);
    if (!fs.existsSync(f("observations.json")) || !fs.existsSync(f("incidents.json"))) continue;
    const obs = JSON.parse(fs.readFileSync(f("observations.json"), "utf8")) as Observations;
    // artifacts older than session 25 do not record which VRIDs an action hit itself: derive it from the schedule's topology
    if (fs.existsSync(f("schedule.json")) && obs.actions.some((a) => a.origins === undefined)) {
      const { topology } = JSON.parse(fs.readFileSync(f("schedule.json"), "utf8")) as { topology: Topology };
      for (const a of obs.actions) a.origins ??= originsOf(a.kind, topology, a.host, a.vrid);
    }
    const truth = deriveTruth(obs);
    const sc = scoreSchedule(obs.seed, truth, JSON.parse(fs.readFileSync(f("incidents.json"), "utf8")) as SeenIncident[], { start: obs.startedAt, end: obs.endedAt });
    console.log(`seed ${obs.seed}: labels ${truth.labels.length}, matched ${sc.matches.length}, missed ${sc.misses.map((l) => `${l.kind}/${l.vrid ?? l.hosts.join("+")}`).join(", ") || "none"}, false alarms ${sc.falseAlarms.map((x) => `${x.inc.kind}/${x.inc.cause.code}`).join(", ") || "none"}`);
    scores.push(sc);
  }
  console.log(formatTable(summarize(scores)));
  return 0;
}

function commit(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT }).toString().trim() ? "+dirty" : "";
    return sha + dirty;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<number> {
  let opts: Opts;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.rescore !== null) return rescore(opts.rescore);
  // what the lab runs: the web UI build (the server serves it) and the agent bundle, built when missing or stale
  const { ensureBuild } = (await import(path.join(ROOT, "scripts/ensure-build.mjs"))) as { ensureBuild: () => void };
  ensureBuild();
  const agent = spawnSync(process.execPath, [path.join(ROOT, "agent/build.mjs")], { cwd: ROOT, stdio: "inherit" });
  if (agent.status !== 0) return 2;
  const problems = labProblems({ nft: true, journald: true });
  if (problems) {
    console.error(`the truth lab cannot run on this machine:\n${problems}`);
    return 2;
  }
  const removed = sweepStale();
  if (removed.length) console.log(`removed what a killed earlier run left behind: ${removed.join(", ")}`);
  markOwnership();
  console.log(`truth lab: ${chooseDatabase().note}; commit ${commit()}`);
  const priority = raisePriority();
  if (priority) console.log(`truth lab: ${priority}`);
  const thresholdsFile = path.join(ROOT, "test/truth/thresholds.json");
  const th = JSON.parse(fs.readFileSync(thresholdsFile, "utf8")) as { thresholds: Thresholds; targets: Thresholds };
  // no hang: a watchdog ends the run (the exit handler tears the lab down) when it takes far longer than planned
  const limitMin = opts.soak !== null ? opts.soak + 10 : 5 + 8 * opts.schedules;
  setTimeout(() => {
    console.error(`truth lab: still running after ${limitMin} minutes: giving up (the lab is torn down)`);
    process.exit(1);
  }, limitMin * 60_000).unref();
  let journal: LabJournal | null = null;
  const results: ScheduleResult[] = [];
  // each schedule's evidence is written as soon as it is scored: a run cut short (a machine restart, the
  // watchdog) keeps what it did, and `--rescore` can score it
  const artifactsBase = path.join(path.dirname(opts.out), "truth");
  const evidence = new Map<ScheduleResult, string>();
  const keep = (r: ScheduleResult) => {
    results.push(r);
    evidence.set(r, writeArtifacts(r, artifactsBase));
    r.logs = {}; // on disk now: a long run does not hold every schedule's logs
  };
  let stack: Stack | null = null;
  try {
    stack = await Stack.start();
    if (opts.soak !== null) {
      keep(await runOne(stack, null, opts, opts.seed, 0, 1, opts.soak));
    } else {
      for (let i = 0; i < opts.schedules; i++) {
        // a private journald per journal schedule: one started for the whole run went away while schedules that
        // did not log to it ran (a journald namespace instance exits when idle), and every later journal host
        // was silent (the long run of 0eecd16 scored them blind)
        if (usesJournal(opts.seeds[i])) {
          journal = await startLabJournal().catch((e: Error) => {
            throw new Error(`the private journald for the journal-source hosts (even seeds) did not start: ${e.message}`);
          });
        }
        try {
          keep(await runOne(stack, journal, opts, opts.seeds[i], i, opts.schedules, null));
        } finally {
          await journal?.stop().catch((e: Error) => console.error(`truth lab: stopping the private journald: ${e.message}`));
          journal = null;
        }
      }
    }
  } finally {
    await stack?.close().catch(() => undefined);
    await journal?.stop().catch(() => undefined);
    teardownAll();
  }
  const scored = results.filter((r) => r.score);
  const failed = results.filter((r) => r.failed);
  const summary = summarize(scored.map((r) => r.score!));
  console.log(`\ntruth lab: ${scored.length} schedule(s) scored${failed.length ? `, ${failed.length} failed to set up or run (not scored): ${failed.map((r) => `seed ${r.seed}: ${r.failed}`).join("; ")}` : ""}${opts.settings ? `; detector settings ${JSON.stringify(opts.settings)}` : ""}`);
  console.log(formatTable(summary));
  const reruns: string[] = [];
  for (const r of results) {
    // every schedule's evidence was written (small); the ones with a miss or a false alarm are listed with their rerun command
    const dir = evidence.get(r)!;
    if (r.failed || (r.score && (r.score.misses.length || r.score.falseAlarms.length))) {
      const what = r.failed ? "failed" : `${r.score!.misses.length} missed (${r.score!.misses.map((l) => `${l.kind}${l.vrid === null ? "" : `/${l.vrid}`}`).join(", ")}), ${r.score!.falseAlarms.length} false alarm(s) (${r.score!.falseAlarms.map((f) => `${f.inc.kind}/${f.inc.cause.code}`).join(", ")})`;
      reruns.push(`seed ${r.seed}: ${what}\n    evidence: ${path.relative(ROOT, dir)}\n    rerun:    npm run truth -- --schedules 1 --seed ${r.seed}`);
    }
  }
  if (reruns.length) console.log(`\n${reruns.join("\n")}`);
  const starved = results.filter((r) => r.cpuPressurePct !== null && r.cpuPressurePct > STARVED_PCT);
  if (starved.length) {
    console.log(`\nWARNING: ${starved.length} schedule(s) ran starved of CPU (pressure > ${STARVED_PCT} %: other work on this machine): seeds ${starved.map((r) => `${r.seed} (${r.cpuPressurePct} %)`).join(", ")}; their scores say more about the machine than about the product: rerun them on a quiet machine`);
  }
  // the soak must raise nothing (warning or critical), and its healthy cluster must show the oracle nothing either
  const missed = opts.soak !== null
    ? [...scored.flatMap((r) => r.incidents.filter((x) => x.inc.severity !== "info")).map((x) => `soak raised ${x.inc.kind}/${x.inc.cause.code}`),
      ...scored.flatMap((r) => r.truth!.labels).map((l) => `the oracle saw ${l.kind} in the soak (${l.why})`)]
    : missedThresholds(summary, th.thresholds);
  const targetsMissed = missedThresholds(summary, th.targets);
  console.log(`\nthresholds (test/truth/thresholds.json, what today's product meets): ${missed.length ? `MISSED: ${missed.join("; ")}` : "met"}`);
  console.log(`targets (issue 11): recall >= ${th.targets.recall * 100}%, cause accuracy >= ${th.targets.causeAccuracy * 100}%, 0 false alarms, close p99 <= ${th.targets.closeP99Ms / 1000} s: ${targetsMissed.length ? `not met (${targetsMissed.join("; ")})` : "met"}`);
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify({
    commit: commit(), at: new Date(t0).toISOString(), seconds: Math.round((Date.now() - t0) / 1000), args: process.argv.slice(2),
    mode: opts.soak !== null ? `soak ${opts.soak} min` : "schedules", settings: opts.settings, summary, thresholds: th.thresholds, targets: th.targets, missed, targetsMissed,
    catalogue: Object.fromEntries(Object.entries(CATALOGUE).map(([k, v]) => [k, v.doc])),
    schedules: results.map((r) => ({
      seed: r.seed, cluster: r.cluster, failed: r.failed, hosts: r.topology.hosts.length, routers: r.topology.routers.length,
      actions: r.obs?.actions.map((a) => ({ id: a.id, kind: a.kind, host: a.host, vrid: a.vrid, at: new Date(a.at).toISOString(), seconds: (a.until - a.at) / 1000, note: a.note })),
      labels: r.truth?.labels.length ?? 0, matched: r.score?.matches.length ?? 0, cpuPressurePct: r.cpuPressurePct,
      misses: r.score?.misses.map((l) => ({ kind: l.kind, vrid: l.vrid, hosts: l.hosts, cause: l.cause, why: l.why })) ?? [],
      falseAlarms: r.score?.falseAlarms.map((f) => ({ kind: f.inc.kind, vrid: f.inc.vrid, nodes: f.inc.nodes, code: f.inc.cause.code, openedAt: f.inc.openedAt, closedAt: f.inc.closedAt })) ?? [],
      wrongCause: r.score?.matches.filter((m) => m.causeOk === false).map((m) => ({ kind: m.label.kind, vrid: m.label.vrid, expected: m.label.cause, got: m.code })) ?? [],
      errors: r.obs?.errors.slice(0, 20) ?? [],
    })),
  }, null, 2));
  console.log(`\nresults: ${path.relative(ROOT, opts.out) || opts.out}`);
  return missed.length || failed.length === results.length ? 1 : 0;
}

main().then((code) => process.exit(code), (e: Error) => {
  console.error(e.stack ?? e.message);
  teardownAll();
  process.exit(1);
});
