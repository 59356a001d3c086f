/**
 * Agent options, checked once at startup: command-line flags, then KAM_*
 * environment variables, then an optional JSON config file (--config-file),
 * then defaults. A bad value stops the start with a message that names the
 * setting (flag and environment variable) and says what is wrong.
 *
 * Pure: the caller passes argv, env and a file reader, and gets back options,
 * help text or an error message (nothing here exits or throws).
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { ENROL_CODE_RE } from "../server/protocol";

// zod/mini, not classic zod: the agent bundle stays free of zod classic (issue 18). zod/mini loads no locale;
// the English one gives the checks without a message of their own ("Too big: expected number to be <=3600").
z.config(en());

export type Kind = "string" | "int" | "bytes" | "list" | "bool";

interface Spec {
  key: string;
  flag: string;
  env: string;
  kind: Kind;
  arg: string;
  help: string;
  /** default as the user would write it ("" = no default) */
  dflt?: string | string[];
  /** never echo the value in errors */
  secret?: boolean;
  /** value check beyond the kind */
  check?: z.ZodMiniType;
}

/**
 * Fields journald sets itself from the sender's credentials (not from the
 * message), so a local process cannot forge them the way it can set
 * SYSLOG_IDENTIFIER (`logger -t Keepalived_vrrp ...`): the process name
 * (keepalived; keepalived_vrrp / keepalived_bfd with process_names) AND
 * uid 0. Holds for keepalived run by systemd and by hand (no _SYSTEMD_UNIT).
 * journalctl ORs the same field and ANDs different ones.
 */
export const DEFAULT_JOURNAL_MATCHES = [
  "_COMM=keepalived",
  "_COMM=keepalived_vrrp",
  "_COMM=keepalived_bfd",
  "_UID=0",
];

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** the file in the state directory holding the token an enrolment code was exchanged for */
export const STORED_TOKEN = "token";

/** <stateDir>/token */
export function storedTokenPath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/${STORED_TOKEN}`;
}

/** a read failure that means "no such file" (node's ENOENT) */
function notFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "ENOENT" || /\bENOENT\b/.test(String((e as Error | null)?.message));
}
const MiB = 1024 * 1024;

const SPECS: Spec[] = [
  { key: "server", flag: "server", env: "KAM_SERVER", kind: "string", arg: "URL[,URL...]",
    help: "monitor server to send to, e.g. https://monitor.example:3000 (required); several, comma-separated, for replicas: the agent moves to the next after two failed connection attempts",
    check: z.string().check(z.regex(/^https?:\/\/[^\s/,]+(\/[^\s,]*)?(,https?:\/\/[^\s/,]+(\/[^\s,]*)?)*$/, "must be an http:// or https:// URL, or several separated by commas (no spaces)")) },
  { key: "token", flag: "token", env: "KAM_TOKEN", kind: "string", arg: "TOKEN", secret: true,
    help: "agent token issued by the server (`npm run token`); prefer --token-file, a flag shows in `ps`" },
  { key: "tokenFile", flag: "token-file", env: "KAM_TOKEN_FILE", kind: "string", arg: "PATH", help: "file holding the agent token (used when --token is not set)" },
  { key: "enrolCode", flag: "enrol", env: "KAM_ENROL_CODE", kind: "string", arg: "CODE", secret: true,
    help: "one-time enrolment code from the dashboard (Admin, Add a node), used when no --token or --token-file is set: at the first " +
      `start the agent exchanges it for this node's agent token and keeps that in the state directory (${STORED_TOKEN}, mode 0600); ` +
      "later starts use the stored token and never send the code again",
    check: z.string().check(z.regex(ENROL_CODE_RE, "not an enrolment code (kame_ and 43 letters, digits, '-' or '_'): copy it again from the dashboard")) },
  { key: "node", flag: "node", env: "KAM_NODE", kind: "string", arg: "NAME", help: "node name shown in the dashboard", dflt: "(hostname)",
    check: z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9._-]+$/, "use letters, digits, '.', '_' and '-' only")) },
  { key: "stateDir", flag: "state-dir", env: "KAM_STATE_DIR", kind: "string", arg: "DIR", dflt: "/var/lib/keepalived-agent",
    help: "agent id, durable outbox and source positions live here" },
  { key: "source", flag: "source", env: "KAM_SOURCE", kind: "string", arg: "journal|file", dflt: "journal",
    help: "where keepalived logs: the systemd journal, or a file written by `keepalived -l`/syslog",
    check: z.enum(["journal", "file"], { message: "must be journal or file" }) },
  { key: "logFile", flag: "log-file", env: "KAM_LOG_FILE", kind: "string", arg: "PATH", help: "log file to follow (with --source file); rotation and truncation are handled" },
  { key: "journalMatch", flag: "journal-match", env: "KAM_JOURNAL_MATCH", kind: "list", arg: "FIELD=VALUE", dflt: DEFAULT_JOURNAL_MATCHES,
    help:
      "journal match, repeatable (env: comma-separated); the same field repeated means OR, different fields AND, `+` starts an " +
      "alternative. The default matches what journald itself records about the sender (process name keepalived*, uid 0), " +
      "which a local process cannot forge; a custom match on SYSLOG_IDENTIFIER or SYSLOG_FACILITY (keepalived -S) gives that up: " +
      "any local user can then log lines the monitor takes for keepalived's (see SECURITY.md)",
    check: z.array(z.string().check(z.regex(/^(\+|[A-Z0-9_]+=.*)$/, "each match must be FIELD=VALUE (upper-case field) or +"))).check(z.minLength(1)) },
  { key: "journalctl", flag: "journalctl", env: "KAM_JOURNALCTL", kind: "string", arg: "PATH", dflt: "journalctl", help: "journalctl binary" },
  { key: "journalDirectory", flag: "journal-directory", env: "KAM_JOURNAL_DIRECTORY", kind: "string", arg: "DIR",
    help: "read journal files from DIR (journalctl -D) instead of the system journal" },
  { key: "keepalivedConf", flag: "keepalived-conf", env: "KAM_KEEPALIVED_CONF", kind: "string", arg: "PATH", dflt: "/etc/keepalived/keepalived.conf",
    help: "keepalived configuration to read (with its includes); `none` disables config snapshots" },
  { key: "netns", flag: "netns", env: "KAM_NETNS", kind: "string", arg: "NAME",
    help: "look for VIPs in this network namespace (`ip -n NAME`), for keepalived run with net_namespace",
    check: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, "not a valid namespace name")) },
  { key: "pidfile", flag: "pidfile", env: "KAM_PIDFILE", kind: "string", arg: "PATH",
    help: "keepalived's pidfile (keepalived -p), watched to report keepalived start, stop and disappearance; default: the usual places " +
      "(/run/keepalived.pid, /run/keepalived/keepalived.pid, /var/run/...), else a /proc scan for processes named keepalived; " +
      "`none` turns the process watch off" },
  { key: "vrrpPidfile", flag: "vrrp-pidfile", env: "KAM_VRRP_PIDFILE", kind: "string", arg: "PATH",
    help: "pidfile of keepalived's VRRP child (keepalived -r); default: vrrp.pid next to the pidfile, /run/vrrp.pid, /run/keepalived/vrrp.pid, ..." },
  { key: "ip", flag: "ip", env: "KAM_IP", kind: "string", arg: "PATH", dflt: "ip", help: "iproute2 `ip` binary" },
  { key: "vipInterval", flag: "vip-interval", env: "KAM_VIP_INTERVAL", kind: "int", arg: "SECONDS", dflt: "10",
    help: "full VIP probe and report every SECONDS while `ip monitor` is not running, every 6 x SECONDS while it is (changes are seen at once through it)", check: z.int().check(z.minimum(1), z.maximum(3600)) },
  { key: "dumpsInterval", flag: "dumps-interval", env: "KAM_DUMPS_INTERVAL", kind: "int", arg: "SECONDS", dflt: "0",
    help: "every SECONDS ask keepalived for its JSON dump (else its STATS and DATA text dumps) and send each instance's effective " +
      "priority and advert / error counters (for /metrics and as evidence); 0 = off. Needs root, or CAP_KILL, CAP_DAC_READ_SEARCH " +
      "and CAP_SYS_PTRACE (agent/dumps.conf, a systemd drop-in)",
    check: z.int().check(z.minimum(0), z.maximum(3600)) },
  { key: "heartbeatInterval", flag: "heartbeat-interval", env: "KAM_HEARTBEAT_INTERVAL", kind: "int", arg: "SECONDS", dflt: "5",
    help: "heartbeat period", check: z.int().check(z.minimum(1), z.maximum(300)) },
  { key: "outboxMaxBytes", flag: "outbox-max-bytes", env: "KAM_OUTBOX_MAX_BYTES", kind: "bytes", arg: "BYTES", dflt: "64MiB",
    help: "disk the outbox may use while the server is away (suffixes K, M, G, KiB, MiB, GiB); when full the oldest records are dropped and reported as a gap",
    check: z.int().check(z.minimum(MiB, "must be at least 1MiB"), z.maximum(64 * 1024 * MiB)) },
  { key: "ca", flag: "ca", env: "KAM_CA", kind: "string", arg: "PATH", help: "PEM CA certificate(s) to trust for an https:// server" },
  { key: "logLevel", flag: "log-level", env: "KAM_LOG_LEVEL", kind: "string", arg: "LEVEL", dflt: "info",
    help: LOG_LEVELS.join("|"), check: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }) },
  { key: "configFile", flag: "config-file", env: "KAM_CONFIG_FILE", kind: "string", arg: "PATH",
    help: "JSON file with any of these settings (keys: flag names without --, or camelCase); flags and env win over it" },
];

export interface AgentOptions {
  /** the first of `servers` */
  server: string;
  /** every server given (--server a,b): the agent connects to one and moves on when it cannot */
  servers: string[];
  /** null: none yet, exchange `enrolCode` for one (agent/enrol.ts) */
  token: string | null;
  /** where the token came from: --token, --token-file, the state directory (an earlier enrolment), or null (enrol now) */
  tokenFrom: "token" | "token-file" | "state-dir" | null;
  /** --enrol / KAM_ENROL_CODE (used only while no token is known) */
  enrolCode: string | null;
  node: string;
  stateDir: string;
  source: "journal" | "file";
  logFile: string | null;
  journalMatch: string[];
  journalctl: string;
  journalDirectory: string | null;
  /** null: config snapshots disabled */
  keepalivedConf: string | null;
  netns: string | null;
  /** null: the default places, then a /proc scan */
  pidfile: string | null;
  /** false: --pidfile none (no process records) */
  watchProcesses: boolean;
  vrrpPidfile: string | null;
  ip: string;
  vipInterval: number;
  heartbeatInterval: number;
  /** keepalived dumps every this many seconds (agent/dumps.ts); 0: off */
  dumpsInterval: number;
  outboxMaxBytes: number;
  ca: string | null;
  logLevel: (typeof LOG_LEVELS)[number];
}

export type OptionsResult =
  | { kind: "ok"; options: AgentOptions }
  | { kind: "help"; text: string }
  | { kind: "version" }
  | { kind: "error"; message: string };

export interface OptionsDeps {
  readFile: (path: string) => string;
  hostname: () => string;
}

const label = (s: Spec) => `--${s.flag} / ${s.env}`;

/** Parse "64MiB", "10M", "1048576" into bytes; NaN when not a size. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*$/i.exec(text);
  if (!m) return NaN;
  const mult = { "": 1, K: 1024, M: MiB, G: 1024 * MiB, T: 1024 * 1024 * MiB }[m[2].toUpperCase() as "" | "K" | "M" | "G" | "T"];
  return Math.round(Number(m[1]) * mult);
}

export function helpText(): string {
  const lines = [
    "keepalived-agent: follows keepalived's logs, VIPs and configuration on this node and streams them to the monitor server.",
    "",
    "Usage: node keepalived-agent.cjs --server URL --token-file PATH [options]",
    "       node keepalived-agent.cjs --server URL --node NAME --enrol CODE [options]   (first start of a node added from the dashboard)",
    "",
    "Each option can also be set by its environment variable or in the --config-file JSON; flags win, then env, then the file.",
    "",
  ];
  for (const s of SPECS) {
    const d = Array.isArray(s.dflt) ? s.dflt.join(" ") : s.dflt;
    lines.push(`  --${s.flag} ${s.arg}`);
    lines.push(`      ${s.help}`);
    lines.push(`      env ${s.env}${d ? `; default: ${d}` : ""}`);
  }
  lines.push("  --help      show this help", "  --version   print the agent version", "");
  return lines.join("\n");
}

function readFlags(argv: string[]): { values: Map<string, string[]>; help: boolean; version: boolean; error?: string } {
  const byFlag = new Map(SPECS.map((s) => [s.flag, s]));
  const values = new Map<string, string[]>();
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") { help = true; continue; }
    if (a === "--version") { version = true; continue; }
    if (!a.startsWith("--")) return { values, help, version, error: `unexpected argument ${JSON.stringify(a)} (see --help)` };
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = byFlag.get(name);
    if (!spec) return { values, help, version, error: `unknown option --${name} (see --help)` };
    let v: string | undefined = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (v === undefined) return { values, help, version, error: `--${name} needs a value (${spec.arg})` };
    values.set(spec.key, [...(values.get(spec.key) ?? []), v]);
  }
  return { values, help, version };
}

function readConfigFile(path: string, deps: OptionsDeps): { values: Map<string, unknown>; error?: string } {
  const values = new Map<string, unknown>();
  let data: unknown;
  try {
    data = JSON.parse(deps.readFile(path));
  } catch (e) {
    return { values, error: `--config-file / KAM_CONFIG_FILE: cannot read ${path}: ${(e as Error).message}` };
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) return { values, error: `--config-file ${path}: must hold a JSON object` };
  for (const [k, v] of Object.entries(data)) {
    const spec = SPECS.find((s) => s.flag === k || s.key === k);
    if (!spec || spec.key === "configFile") return { values, error: `--config-file ${path}: unknown setting ${JSON.stringify(k)}` };
    values.set(spec.key, v);
  }
  return { values };
}

export function parseAgentOptions(argv: string[], env: Record<string, string | undefined>, deps: OptionsDeps): OptionsResult {
  const flags = readFlags(argv);
  if (flags.help) return { kind: "help", text: helpText() };
  if (flags.version) return { kind: "version" };
  if (flags.error) return { kind: "error", message: flags.error };

  const cfgPath = flags.values.get("configFile")?.at(-1) ?? env.KAM_CONFIG_FILE;
  const file = cfgPath ? readConfigFile(cfgPath, deps) : { values: new Map<string, unknown>() };
  if (file.error) return { kind: "error", message: file.error };

  const errors: string[] = [];
  const out: Record<string, unknown> = {};
  for (const s of SPECS) {
    if (s.key === "configFile") continue;
    const fromFlag = flags.values.get(s.key);
    const fromEnv = env[s.env];
    const fromFile = file.values.get(s.key);
    let raw: unknown;
    if (fromFlag) raw = s.kind === "list" ? fromFlag : fromFlag.at(-1);
    else if (fromEnv !== undefined && fromEnv !== "") raw = s.kind === "list" ? fromEnv.split(",").map((x) => x.trim()).filter(Boolean) : fromEnv;
    else if (fromFile !== undefined && fromFile !== null) raw = s.kind === "list" && typeof fromFile === "string" ? [fromFile] : fromFile;
    else if (s.key === "node") raw = deps.hostname();
    else raw = s.dflt;
    if (raw === undefined) continue;
    const shown = s.secret ? "" : ` (got ${JSON.stringify(raw)})`;
    let value: unknown = raw;
    if (s.kind === "int") value = typeof raw === "number" ? raw : /^\s*-?\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
    if (s.kind === "bytes") value = typeof raw === "number" ? raw : parseBytes(String(raw));
    if ((s.kind === "int" || s.kind === "bytes") && !Number.isFinite(value)) {
      errors.push(`${label(s)}: must be ${s.kind === "int" ? "a whole number" : "a size like 64MiB or 1048576"}${shown}`);
      continue;
    }
    if (s.kind === "list" && (!Array.isArray(value) || value.some((x) => typeof x !== "string"))) {
      errors.push(`${label(s)}: must be a list of strings${shown}`);
      continue;
    }
    if ((s.kind === "string") && typeof value !== "string") {
      errors.push(`${label(s)}: must be a string${shown}`);
      continue;
    }
    if (s.check) {
      const r = s.check.safeParse(value);
      if (!r.success) {
        errors.push(`${label(s)}: ${r.error.issues.map((i) => i.message).join("; ")}${shown}`);
        continue;
      }
    }
    out[s.key] = value;
  }

  if (!out.server && !errors.some((e) => e.startsWith("--server "))) errors.push("--server / KAM_SERVER: required (the monitor server URL, e.g. https://monitor.example:3000)");
  // the token: --token, else --token-file, else the one an earlier enrolment stored in the state directory,
  // else none yet: then --enrol is exchanged for one at the start (agent/enrol.ts)
  let token = out.token as string | undefined;
  let tokenFrom: AgentOptions["tokenFrom"] = token ? "token" : null;
  if (!token && out.tokenFile) {
    tokenFrom = "token-file";
    try {
      token = deps.readFile(out.tokenFile as string).trim();
    } catch (e) {
      errors.push(`--token-file / KAM_TOKEN_FILE: cannot read ${out.tokenFile}: ${(e as Error).message}`);
    }
  }
  const stored = storedTokenPath(out.stateDir as string);
  if (tokenFrom === null) {
    try {
      token = deps.readFile(stored).trim();
      tokenFrom = "state-dir";
    } catch (e) {
      if (!notFound(e)) errors.push(`--state-dir / KAM_STATE_DIR: cannot read the stored agent token ${stored}: ${(e as Error).message}`);
    }
  }
  const tokenLabel = { token: "--token / KAM_TOKEN", "token-file": "--token-file / KAM_TOKEN_FILE", "state-dir": `the stored token ${stored}` };
  if (token === undefined) {
    if (tokenFrom === null && !out.enrolCode) {
      errors.push(
        "--token / KAM_TOKEN, --token-file / KAM_TOKEN_FILE or --enrol / KAM_ENROL_CODE: required (an enrolment code from the dashboard, " +
          "Admin, Add a node; or a token created on the server with `npm run token`)",
      );
    }
  } else if (token.length < 16 || token.length > 256 || /\s/.test(token)) {
    errors.push(`${tokenLabel[tokenFrom!]}: not a valid token (16 to 256 characters, no spaces)`);
  }
  if (out.source === "file" && !out.logFile) errors.push("--log-file / KAM_LOG_FILE: required with --source file");
  if (errors.length) return { kind: "error", message: `invalid agent configuration:\n  ${errors.join("\n  ")}` };

  const conf = out.keepalivedConf as string;
  const servers = [...new Set((out.server as string).split(",").map((u) => u.replace(/\/+$/, "")))];
  return {
    kind: "ok",
    options: {
      server: servers[0],
      servers,
      token: token ?? null,
      tokenFrom: token === undefined ? null : tokenFrom,
      enrolCode: (out.enrolCode as string | undefined) ?? null,
      node: out.node as string,
      stateDir: out.stateDir as string,
      source: out.source as "journal" | "file",
      logFile: (out.logFile as string | undefined) ?? null,
      journalMatch: out.journalMatch as string[],
      journalctl: out.journalctl as string,
      journalDirectory: (out.journalDirectory as string | undefined) ?? null,
      keepalivedConf: conf === "none" || conf === "" ? null : conf,
      netns: (out.netns as string | undefined) ?? null,
      pidfile: out.pidfile === "none" || out.pidfile === "" ? null : ((out.pidfile as string | undefined) ?? null),
      watchProcesses: out.pidfile !== "none",
      vrrpPidfile: (out.vrrpPidfile as string | undefined) ?? null,
      ip: out.ip as string,
      vipInterval: out.vipInterval as number,
      heartbeatInterval: out.heartbeatInterval as number,
      dumpsInterval: out.dumpsInterval as number,
      outboxMaxBytes: out.outboxMaxBytes as number,
      ca: (out.ca as string | undefined) ?? null,
      logLevel: out.logLevel as AgentOptions["logLevel"],
    },
  };
}
