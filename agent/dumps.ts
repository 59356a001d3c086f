/**
 * keepalived's own data and stats dumps (--dumps-interval SECONDS, off by default): every interval the agent
 * asks the keepalived its process watch knows for a dump and sends what it keeps of it as a "dumps" record
 * (server/protocol.ts DumpRecordMsg): per instance the state, configured and effective priority and
 * keepalived's counters (adverts received and sent, become / release master, packet and authentication
 * errors, priority-zero adverts).
 *
 * Which dump: the JSON one (`kill -s $(keepalived --signum=JSON) PID`, keepalived.json) when `keepalived -v`
 * lists JSON among its config options (Debian's builds do); otherwise the text dumps keepalived has in every
 * build (--signum=STATS: keepalived.stats, the counters; --signum=DATA: keepalived.data, state and
 * priorities). keepalived writes them in ITS temporary directory ($TMPDIR when absolute, from 2.2.5; else
 * $KA_TMP_DIR, 2.2.0+; else /tmp) as root, mode 0600, inside its own mount namespace: the agent reads the
 * variables from /proc/PID/environ and the file through /proc/PID/root, which is keepalived's view of the file
 * system whatever namespace (or PrivateTmp) either of them runs in.
 *
 * Privilege: signalling a root process and reading its 0600 files and /proc/PID/{environ,root} takes root,
 * or CAP_KILL + CAP_DAC_READ_SEARCH + CAP_SYS_PTRACE (agent/dumps.conf, the systemd drop-in). Without it every
 * attempt fails with EPERM / EACCES: logged (rate-limited, naming the setting), counted in the heartbeat's
 * source status, never fatal.
 *
 * Only sent to a server that takes it (its heartbeat answer lists "dumps"): an older server refuses an
 * unknown record kind. Memory: one dump file at a time, read only up to MAX_DUMP_BYTES.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DUMP_COUNTERS, LIMITS, type DumpCounter, type DumpInstance, type DumpRecordMsg } from "../server/protocol";
import type { Logger } from "./log";
import { every, type Periodic } from "./ticker";

export type DumpRecord = Omit<DumpRecordMsg, "seq">;
type State = NonNullable<DumpInstance["state"]>;

/** a dump larger than this is not read (a thousand instances take ~2 MiB of JSON) */
export const MAX_DUMP_BYTES = 8 * 1024 * 1024;
/** the setting named in every problem the dumps report */
export const DUMPS_SETTING = "--dumps-interval / KAM_DUMPS_INTERVAL";

/** keepalived's numbering of a state in its JSON dump (vrrp.h; 2.x: 97 DELETED, 98 STOP; 1.x: 97 STOP) */
const JSON_STATES: Record<number, State> = { 0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 97: "DELETED", 98: "STOP" };

export class DumpParseError extends Error {
  override name = "DumpParseError";
}

const zeroStats = (): DumpInstance["stats"] => Object.fromEntries(DUMP_COUNTERS.map((k) => [k, 0])) as DumpInstance["stats"];

function intOrNull(v: unknown, min: number, max: number): number | null {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : null;
}

/**
 * keepalived.json: an array of {data, stats} (json_version 2, 2.2.8+: {vrrp: [...]}). Keeps the figures of
 * DumpInstance and nothing else (data.auth_data is the password in clear). Throws DumpParseError.
 */
export function parseJsonDump(text: string): DumpInstance[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new DumpParseError(`keepalived.json is not JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(j) ? j : (j as { vrrp?: unknown } | null)?.vrrp;
  if (!Array.isArray(list)) throw new DumpParseError("keepalived.json: neither an array of instances nor {vrrp: [...]}");
  if (list.length > LIMITS.maxInstances) throw new DumpParseError(`keepalived.json: ${list.length} instances, more than ${LIMITS.maxInstances}`);
  return list.map((e, i) => {
    const d = (e as { data?: Record<string, unknown> } | null)?.data;
    const s = (e as { stats?: Record<string, unknown> } | null)?.stats;
    if (!d || typeof d !== "object" || !s || typeof s !== "object") throw new DumpParseError(`keepalived.json: entry ${i} has no data or stats object`);
    const name = typeof d.iname === "string" ? d.iname : "";
    if (!name || name.length > 128) throw new DumpParseError(`keepalived.json: entry ${i} has no instance name (data.iname)`);
    const stats = zeroStats();
    for (const k of DUMP_COUNTERS) {
      const v = s[k];
      if (v === undefined) continue; // a counter this version does not have
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new DumpParseError(`keepalived.json: ${name}: stats.${k} is not a counter (${JSON.stringify(v)})`);
      stats[k] = v;
    }
    return {
      name,
      vrid: intOrNull(d.vrid, 0, 255),
      state: typeof d.state === "number" ? (JSON_STATES[d.state] ?? null) : null,
      basePriority: intOrNull(d.base_priority, 0, 255),
      effectivePriority: intOrNull(d.effective_priority, 0, 255),
      stats,
    };
  });
}

/** keepalived.stats (vrrp_print_stats): "VRRP Instance: NAME", then the counters, grouped under headings */
const STATS_LABELS: Record<string, DumpCounter> = {
  "Advertisements/Received": "advert_rcvd",
  "Advertisements/Sent": "advert_sent",
  "/Became master": "become_master",
  "/Released master": "release_master",
  "Packet Errors/Length": "packet_len_err",
  "Packet Errors/TTL": "ip_ttl_err",
  "Packet Errors/Invalid Type": "invalid_type_rcvd",
  "Packet Errors/Advertisement Interval": "advert_interval_err",
  "Packet Errors/Address List": "addr_list_err",
  "Authentication Errors/Invalid Type": "invalid_authtype",
  "Authentication Errors/Type Mismatch": "authtype_mismatch",
  "Authentication Errors/Failure": "auth_failure",
  "Priority Zero/Received": "pri_zero_rcvd",
  "Priority Zero/Sent": "pri_zero_sent",
};

/** the text dumps: keepalived.stats (required) and keepalived.data (state, VRID, priorities; optional) */
export function parseTextDumps(statsText: string, dataText: string | null): DumpInstance[] {
  const out = new Map<string, DumpInstance>();
  let cur: DumpInstance | null = null;
  let heading = "";
  for (const raw of statsText.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    if (!line) continue;
    const inst = /^VRRP Instance: (.+)$/.exec(line);
    if (inst) {
      if (out.size >= LIMITS.maxInstances) throw new DumpParseError(`keepalived.stats: more than ${LIMITS.maxInstances} instances`);
      cur = { name: inst[1].slice(0, 128), vrid: null, state: null, basePriority: null, effectivePriority: null, stats: zeroStats() };
      out.set(cur.name, cur);
      heading = "";
      continue;
    }
    if (!cur) continue;
    const m = /^(\s*)([^:]+):\s*(\d*)$/.exec(line);
    if (!m) throw new DumpParseError(`keepalived.stats: unexpected line ${JSON.stringify(line.slice(0, 80))}`);
    const [, indent, label, value] = m;
    const top = indent.length <= 2;
    if (value === "") {
      heading = top ? label : heading;
      continue;
    }
    if (top) heading = "";
    const k = STATS_LABELS[`${top ? "" : heading}/${label}`];
    if (!k) continue; // a counter of a newer version
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new DumpParseError(`keepalived.stats: ${cur.name}: ${label} is not a counter`);
    cur.stats[k] = n;
  }
  if (out.size === 0 && /\S/.test(statsText)) throw new DumpParseError("keepalived.stats: no \"VRRP Instance:\" section");
  if (dataText !== null) {
    let d: DumpInstance | null = null;
    for (const line of dataText.split("\n")) {
      const inst = /^ VRRP Instance = (.+?)\s*$/.exec(line);
      if (inst) {
        d = out.get(inst[1]) ?? null;
        continue;
      }
      if (!d || !/^ {3}\S/.test(line)) {
        if (/^ \S/.test(line)) d = null;
        continue;
      }
      const kv = /^ {3}([^=]+?) = (.*)$/.exec(line);
      if (!kv) continue;
      const [, k, v] = kv;
      if (k === "State" && !d.state) d.state = (["INIT", "BACKUP", "MASTER", "FAULT", "STOP", "DELETED"] as const).find((s) => s === v.trim()) ?? null;
      else if (k === "Virtual Router ID") d.vrid = intOrNull(Number(v), 0, 255);
      else if (k === "Priority") d.basePriority = intOrNull(Number(v), 0, 255);
      else if (k === "Effective priority") d.effectivePriority = intOrNull(Number(v), 0, 255);
    }
  }
  return [...out.values()];
}

/** keepalived's temporary directory from its environment (NUL-separated /proc/PID/environ) */
export function keepalivedTmpDir(environ: string): string {
  const env = new Map<string, string>();
  for (const kv of environ.split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const k of ["TMPDIR", "KA_TMP_DIR"]) {
    const v = env.get(k);
    if (v && v.startsWith("/")) return v;
  }
  return "/tmp";
}

/** `keepalived -v` (on stderr) lists JSON among its "Config options" in --enable-json builds */
export function hasJson(versionText: string): boolean {
  return /^Config options:.*\bJSON\b/m.test(versionText);
}

export type DumpProblem = "privilege" | "missing" | "parse" | "keepalived";

export interface DumpsOptions {
  intervalMs: number;
  /** keepalived's parent pid as the process watch knows it (null: not running) */
  pid: () => number | null;
  /** does the server take "dumps" records: true, false (an older server), null (not known yet) */
  accepts: () => boolean | null;
  log: Logger;
  emit: (rec: DumpRecord) => void;
  /** keepalived binary (default "keepalived") */
  keepalived?: string;
  /** for tests: where /proc is */
  procRoot?: string;
  /** for tests: the text dumps even when keepalived has JSON */
  textOnly?: boolean;
  /** how long after the signal the dump is looked for, and how often again (default 200 ms, 5 tries) */
  settleMs?: number;
  tries?: number;
  /** a problem of one kind is logged again after this long at the earliest (default 10 min) */
  logEveryMs?: number;
  now?: () => number;
}

interface Signals {
  mode: "json" | "text";
  json: number | null;
  data: number;
  stats: number;
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 5000, maxBuffer: 256 * 1024 }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })));
  });
}

const errCode = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code;

export class Dumps {
  private timer: Periodic | null = null;
  private busy = false;
  private signals: Signals | null = null;
  private readonly proc: string;
  private readonly now: () => number;
  private toldOlderServer = false;
  /** per problem: when last logged, how many since */
  private logged = new Map<DumpProblem, { at: number; suppressed: number }>();
  readonly stats = { samples: 0, errors: { privilege: 0, missing: 0, parse: 0, keepalived: 0 } as Record<DumpProblem, number> };
  private problem: string | null = null;

  constructor(private readonly o: DumpsOptions) {
    this.proc = o.procRoot ?? "/proc";
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = every(this.o.intervalMs, () => void this.tick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** for the heartbeat's source status */
  status(): string {
    const e = this.stats.errors;
    const failed = e.privilege + e.missing + e.parse + e.keepalived;
    if (this.problem) return `${this.problem} (${this.stats.samples} sample(s), ${failed} failure(s))`;
    return failed ? `ok (${this.stats.samples} sample(s), ${failed} failure(s) before)` : "ok";
  }

  /** one dump; public for tests. Never throws. */
  async tick(): Promise<DumpRecord | null> {
    if (this.busy) return null;
    const accepts = this.o.accepts();
    if (accepts !== true) {
      if (accepts === false && !this.toldOlderServer) {
        this.toldOlderServer = true;
        this.o.log.warn(`the server does not take keepalived dump samples (an older server): ${DUMPS_SETTING} has no effect until it is upgraded`);
      }
      this.problem = accepts === false ? "not sent: the server does not take them" : null;
      return null;
    }
    const pid = this.o.pid();
    if (pid === null) {
      this.problem = "keepalived not running";
      return null;
    }
    this.busy = true;
    try {
      const rec = await this.sample(pid);
      this.problem = null;
      this.stats.samples++;
      this.o.emit(rec);
      return rec;
    } catch (e) {
      this.fail(e);
      return null;
    } finally {
      this.busy = false;
    }
  }

  private async sample(pid: number): Promise<DumpRecord> {
    const sig = await this.signalNumbers();
    let environ: string;
    try {
      environ = fs.readFileSync(`${this.proc}/${pid}/environ`, "latin1");
    } catch (e) {
      throw this.fsError(e, `${this.proc}/${pid}/environ`);
    }
    const dir = path.join(`${this.proc}/${pid}/root`, keepalivedTmpDir(environ));
    const asked = this.now();
    if (sig.mode === "json") {
      this.signal(pid, sig.json!);
      const instances = await this.readFresh(path.join(dir, "keepalived.json"), asked, parseJsonDump);
      return { kind: "dumps", ts: asked, source: "json", pid, instances };
    }
    this.signal(pid, sig.stats);
    this.signal(pid, sig.data);
    const stats = await this.readFresh(path.join(dir, "keepalived.stats"), asked, (t) => (parseTextDumps(t, null), t));
    let data: string | null = null;
    try {
      data = await this.readFresh(path.join(dir, "keepalived.data"), asked, (t) => t);
    } catch (e) {
      if (e instanceof DumpFailure && e.kind === "missing") data = null; // counters without priorities: still a sample
      else throw e;
    }
    return { kind: "dumps", ts: asked, source: "text", pid, instances: parseTextDumps(stats, data) };
  }

  private signal(pid: number, sig: number): void {
    try {
      process.kill(pid, sig);
    } catch (e) {
      if (errCode(e) === "EPERM") throw new DumpFailure("privilege", `cannot signal keepalived (pid ${pid}): not permitted (needs CAP_KILL or root)`);
      throw new DumpFailure("missing", `cannot signal keepalived (pid ${pid}): ${(e as Error).message}`);
    }
  }

  /**
   * the file once keepalived rewrote it after `asked` (its mtime), read up to MAX_DUMP_BYTES and parsed; a
   * file that does not parse yet (caught while keepalived writes it) is read again while tries remain
   */
  private async readFresh<T>(file: string, asked: number, parse: (text: string) => T): Promise<T> {
    const tries = this.o.tries ?? 5;
    let last: fs.Stats | null = null;
    for (let i = 0; i < tries; i++) {
      await new Promise((r) => setTimeout(r, this.o.settleMs ?? 200));
      try {
        last = fs.statSync(file);
      } catch (e) {
        if (errCode(e) === "ENOENT" && i < tries - 1) continue;
        throw this.fsError(e, file);
      }
      // mtime in whole ms or coarser: a second's slack for file systems with coarse stamps
      if (last.mtimeMs < asked - 1000) continue;
      if (last.size > MAX_DUMP_BYTES) throw new DumpFailure("parse", `${file} is ${last.size} bytes, more than ${MAX_DUMP_BYTES}`);
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (e) {
        throw this.fsError(e, file);
      }
      // keepalived truncates, then writes: an empty or cut file is one being written
      if (text.length === 0 && i < tries - 1) continue;
      try {
        return parse(text);
      } catch (e) {
        if (e instanceof DumpParseError && i < tries - 1) continue;
        throw e;
      }
    }
    throw new DumpFailure("missing", last ? `${file} was not rewritten after the signal` : `${file} does not exist`);
  }

  private fsError(e: unknown, file: string): DumpFailure {
    const c = errCode(e);
    if (c === "EACCES" || c === "EPERM") {
      return new DumpFailure("privilege", `cannot read ${file}: not permitted (needs CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, or root)`);
    }
    return new DumpFailure("missing", `cannot read ${file}: ${(e as Error).message}`);
  }

  /** `keepalived -v` and --signum, once (again after a failure) */
  private async signalNumbers(): Promise<Signals> {
    if (this.signals) return this.signals;
    const bin = this.o.keepalived ?? "keepalived";
    try {
      const v = await run(bin, ["-v"]);
      const mode = hasJson(v.stderr + v.stdout) && !this.o.textOnly ? "json" : "text";
      const num = async (name: string) => {
        const n = Number((await run(bin, [`--signum=${name}`])).stdout.trim());
        if (!Number.isInteger(n) || n <= 0) throw new Error(`keepalived --signum=${name} gave no signal number`);
        return n;
      };
      this.signals = { mode, json: mode === "json" ? await num("JSON") : null, data: await num("DATA"), stats: await num("STATS") };
      this.o.log.info({ mode, signals: this.signals }, mode === "json" ? "keepalived dumps: the JSON dump (keepalived -v lists JSON)" : "keepalived dumps: the STATS and DATA text dumps (no JSON in keepalived -v)");
      return this.signals;
    } catch (e) {
      throw new DumpFailure("keepalived", `cannot ask ${bin} for its signal numbers: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  private fail(e: unknown): void {
    const f = e instanceof DumpFailure ? e : e instanceof DumpParseError ? new DumpFailure("parse", e.message) : new DumpFailure("parse", String((e as Error)?.message ?? e));
    this.stats.errors[f.kind]++;
    this.problem = f.message;
    const prev = this.logged.get(f.kind);
    const at = this.now();
    if (prev && at - prev.at < (this.o.logEveryMs ?? 600_000)) {
      prev.suppressed++;
      return;
    }
    this.logged.set(f.kind, { at, suppressed: 0 });
    const hint = f.kind === "privilege" ? " (agent/dumps.conf: the systemd drop-in that grants it; or turn the dumps off)" : "";
    this.o.log.warn({ problem: f.kind, suppressed: prev?.suppressed ?? 0, failures: this.stats.errors[f.kind] }, `keepalived dumps (${DUMPS_SETTING}): ${f.message}${hint}`);
  }
}

export class DumpFailure extends Error {
  override name = "DumpFailure";
  constructor(readonly kind: DumpProblem, message: string) {
    super(message);
  }
}
