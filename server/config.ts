/**
 * Server configuration, checked once at startup: command-line flags, then
 * environment variables, then defaults. A bad value stops the start with a
 * message that names the setting to fix.
 */
import { isIP } from "node:net";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { z } from "zod";
import { normaliseOrigins } from "./auth/csrf";
import { validFrameAncestors } from "./auth/headers";

export const ServerConfig = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  /** postgresql://... ; empty means the embedded PGlite database under dataDir */
  databaseUrl: z
    .string()
    .refine((s) => s === "" || /^postgres(ql)?:\/\//.test(s), "must start with postgresql:// (or be empty for the embedded database)"),
  dataDir: z.string().min(1),
  dev: z.boolean(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  /** an agent with no heartbeat for this long is offline (its states become UNKNOWN) */
  agentOfflineSeconds: z.coerce.number().positive().max(86400),
  /** allowed browser origins for the /live socket ("" = same host only) */
  allowedOrigins: z.string().refine((s) => {
    try {
      normaliseOrigins(s);
      return true;
    } catch {
      return false;
    }
  }, "must be http(s) origins separated by commas, e.g. https://noc.example.net"),
  /** the dashboard's public URL, for links in notifications ("" = no links) */
  publicUrl: z.string().refine((s) => s === "" || /^https?:\/\//.test(s), "must start with http:// or https://"),
  /** rate limits of the /agent namespace (server/ingest/limits.ts) */
  agentRecordsPerSecond: z.coerce.number().positive().max(1_000_000),
  agentMessagesPerSecond: z.coerce.number().positive().max(100_000),
  ipHandshakesPer10s: z.coerce.number().positive().max(100_000),
  /** issue 19: bytes per second per node, node names per legacy cluster token, instance names per node */
  agentBytesPerSecond: z.coerce.number().positive().max(1_000_000_000),
  maxNodesPerToken: z.coerce.number().int().positive().max(100_000),
  maxInstancesPerNode: z.coerce.number().int().positive().max(100_000),
  /** pruning job (server/retention/): period, and days to keep each kind of data (0 = for ever) */
  retentionIntervalSeconds: z.coerce.number().min(1).max(7 * 86400),
  retainLogDays: z.coerce.number().nonnegative().max(36500),
  retainVipDays: z.coerce.number().nonnegative().max(36500),
  retainConfigDays: z.coerce.number().nonnegative().max(36500),
  retainSessionDays: z.coerce.number().nonnegative().max(36500),
  retainStateDays: z.coerce.number().nonnegative().max(36500),
  retainIncidentDays: z.coerce.number().nonnegative().max(36500),
  /** access control (server/auth/): who may read without signing in */
  anonymousRead: z.enum(["loopback", "off"]),
  /** "true": Secure cookies even on plain HTTP (TLS ends at a proxy); "" = Secure when served over TLS */
  cookieSecure: z.enum(["", "true", "false"]),
  sessionIdleHours: z.coerce.number().positive().max(24 * 365),
  sessionMaxDays: z.coerce.number().positive().max(365),
  wallSessionDays: z.coerce.number().positive().max(3650),
  loginAttemptsPerIp: z.coerce.number().int().positive().max(100_000),
  loginAttemptsPerUser: z.coerce.number().int().positive().max(100_000),
  liveConnectionsPerIp: z.coerce.number().int().positive().max(100_000),
  wallFrameAncestors: z.string().refine(validFrameAncestors, "must be 'none', 'self' or origins separated by spaces"),
  /** peers whose X-Forwarded-For names the client (for rate limits and logs only), comma-separated; "loopback" = any loopback peer */
  trustedProxies: z.string().regex(/^[0-9A-Za-z.:,\s]*$/, "must be addresses separated by commas"),
  /** PEM certificate (chain) and private key files: both set = https for everything (pages, API, socket.io); both empty = http */
  tlsCert: z.string(),
  tlsKey: z.string(),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

/** Where each setting comes from, to name it in errors. */
const SOURCES: Record<keyof ServerConfig, string> = {
  port: "--port / PORT",
  host: "--host / KAM_HOST",
  databaseUrl: "--database-url / DATABASE_URL",
  dataDir: "--data-dir / KAM_DATA_DIR",
  dev: "--dev",
  logLevel: "--log-level / LOG_LEVEL",
  agentOfflineSeconds: "--agent-offline-seconds / KAM_AGENT_OFFLINE_SECONDS",
  allowedOrigins: "--allowed-origins / KAM_ALLOWED_ORIGINS",
  publicUrl: "--public-url / KAM_PUBLIC_URL",
  agentRecordsPerSecond: "--agent-records-per-second / KAM_AGENT_RECORDS_PER_SECOND",
  agentMessagesPerSecond: "--agent-messages-per-second / KAM_AGENT_MESSAGES_PER_SECOND",
  ipHandshakesPer10s: "--ip-handshakes-per-10s / KAM_IP_HANDSHAKES_PER_10S",
  agentBytesPerSecond: "--agent-bytes-per-second / KAM_AGENT_BYTES_PER_SECOND",
  maxNodesPerToken: "--max-nodes-per-token / KAM_MAX_NODES_PER_TOKEN",
  maxInstancesPerNode: "--max-instances-per-node / KAM_MAX_INSTANCES_PER_NODE",
  retentionIntervalSeconds: "--retention-interval-seconds / KAM_RETENTION_INTERVAL_SECONDS",
  retainLogDays: "--retain-log-days / KAM_RETAIN_LOG_DAYS",
  retainVipDays: "--retain-vip-days / KAM_RETAIN_VIP_DAYS",
  retainConfigDays: "--retain-config-days / KAM_RETAIN_CONFIG_DAYS",
  retainSessionDays: "--retain-session-days / KAM_RETAIN_SESSION_DAYS",
  retainStateDays: "--retain-state-days / KAM_RETAIN_STATE_DAYS",
  retainIncidentDays: "--retain-incident-days / KAM_RETAIN_INCIDENT_DAYS",
  anonymousRead: "--anonymous-read / KAM_ANONYMOUS_READ",
  cookieSecure: "--cookie-secure / KAM_COOKIE_SECURE",
  sessionIdleHours: "--session-idle-hours / KAM_SESSION_IDLE_HOURS",
  sessionMaxDays: "--session-max-days / KAM_SESSION_MAX_DAYS",
  wallSessionDays: "--wall-session-days / KAM_WALL_SESSION_DAYS",
  loginAttemptsPerIp: "--login-attempts-per-ip / KAM_LOGIN_ATTEMPTS_PER_IP",
  loginAttemptsPerUser: "--login-attempts-per-user / KAM_LOGIN_ATTEMPTS_PER_USER",
  liveConnectionsPerIp: "--live-connections-per-ip / KAM_LIVE_CONNECTIONS_PER_IP",
  wallFrameAncestors: "--wall-frame-ancestors / KAM_WALL_FRAME_ANCESTORS",
  trustedProxies: "--trusted-proxies / KAM_TRUSTED_PROXIES",
  tlsCert: "--tls-cert / KAM_TLS_CERT",
  tlsKey: "--tls-key / KAM_TLS_KEY",
};

export class ConfigError extends Error {}

function flagValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/**
 * The listen address once came from HOSTNAME, which containers and Kubernetes set to the container's
 * name (issue 14). HOSTNAME is now read only when KAM_HOST and --host are not set, and only when it
 * is an address literal or "localhost" (someone set it on purpose: used, with a deprecation warning);
 * any other value is a host name and is ignored, with a note. Returns the address to use, if any, and
 * the sentence to log.
 */
export function legacyHost(env: Record<string, string | undefined>): { host: string | null; warning: string | null } {
  const h = env.HOSTNAME?.trim();
  if (!h || env.KAM_HOST !== undefined) return { host: null, warning: null };
  if (isIP(h) !== 0 || h === "localhost") {
    return { host: h, warning: `HOSTNAME=${h} is used as the listen address; this is deprecated and will stop: set KAM_HOST=${h} (or --host) instead` };
  }
  return { host: null, warning: `HOSTNAME=${h} is a host name, not used as the listen address (listening on 0.0.0.0); set KAM_HOST (or --host) to choose one` };
}

/** warnings about how the configuration was given (logged at start; never fatal) */
export function configWarnings(argv: string[] = process.argv.slice(2), env: Record<string, string | undefined> = process.env): string[] {
  if (flagValue(argv, "host") !== undefined) return [];
  const w = legacyHost(env).warning;
  return w ? [w] : [];
}

export function loadServerConfig(
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<ServerConfig> = {},
): ServerConfig {
  const pick = (flag: string, envName: string | null, dflt: string) =>
    flagValue(argv, flag) ?? (envName ? env[envName] : undefined) ?? dflt;
  const raw = {
    port: pick("port", "PORT", "3000"),
    host: pick("host", "KAM_HOST", legacyHost(env).host ?? "0.0.0.0"),
    databaseUrl: pick("database-url", "DATABASE_URL", ""),
    dataDir: path.resolve(pick("data-dir", "KAM_DATA_DIR", "data")),
    dev: argv.includes("--dev"),
    logLevel: pick("log-level", "LOG_LEVEL", "info"),
    agentOfflineSeconds: pick("agent-offline-seconds", "KAM_AGENT_OFFLINE_SECONDS", "15"),
    allowedOrigins: pick("allowed-origins", "KAM_ALLOWED_ORIGINS", ""),
    publicUrl: pick("public-url", "KAM_PUBLIC_URL", ""),
    agentRecordsPerSecond: pick("agent-records-per-second", "KAM_AGENT_RECORDS_PER_SECOND", "5000"),
    agentMessagesPerSecond: pick("agent-messages-per-second", "KAM_AGENT_MESSAGES_PER_SECOND", "100"),
    ipHandshakesPer10s: pick("ip-handshakes-per-10s", "KAM_IP_HANDSHAKES_PER_10S", "20"),
    agentBytesPerSecond: pick("agent-bytes-per-second", "KAM_AGENT_BYTES_PER_SECOND", "1048576"),
    maxNodesPerToken: pick("max-nodes-per-token", "KAM_MAX_NODES_PER_TOKEN", "32"),
    maxInstancesPerNode: pick("max-instances-per-node", "KAM_MAX_INSTANCES_PER_NODE", "1024"),
    retentionIntervalSeconds: pick("retention-interval-seconds", "KAM_RETENTION_INTERVAL_SECONDS", "3600"),
    retainLogDays: pick("retain-log-days", "KAM_RETAIN_LOG_DAYS", "30"),
    retainVipDays: pick("retain-vip-days", "KAM_RETAIN_VIP_DAYS", "30"),
    retainConfigDays: pick("retain-config-days", "KAM_RETAIN_CONFIG_DAYS", "365"),
    retainSessionDays: pick("retain-session-days", "KAM_RETAIN_SESSION_DAYS", "90"),
    retainStateDays: pick("retain-state-days", "KAM_RETAIN_STATE_DAYS", "365"),
    retainIncidentDays: pick("retain-incident-days", "KAM_RETAIN_INCIDENT_DAYS", "730"),
    anonymousRead: pick("anonymous-read", "KAM_ANONYMOUS_READ", "loopback"),
    cookieSecure: pick("cookie-secure", "KAM_COOKIE_SECURE", ""),
    sessionIdleHours: pick("session-idle-hours", "KAM_SESSION_IDLE_HOURS", "12"),
    sessionMaxDays: pick("session-max-days", "KAM_SESSION_MAX_DAYS", "7"),
    wallSessionDays: pick("wall-session-days", "KAM_WALL_SESSION_DAYS", "30"),
    loginAttemptsPerIp: pick("login-attempts-per-ip", "KAM_LOGIN_ATTEMPTS_PER_IP", "30"),
    loginAttemptsPerUser: pick("login-attempts-per-user", "KAM_LOGIN_ATTEMPTS_PER_USER", "10"),
    liveConnectionsPerIp: pick("live-connections-per-ip", "KAM_LIVE_CONNECTIONS_PER_IP", "50"),
    wallFrameAncestors: pick("wall-frame-ancestors", "KAM_WALL_FRAME_ANCESTORS", "'none'"),
    trustedProxies: pick("trusted-proxies", "KAM_TRUSTED_PROXIES", ""),
    tlsCert: pick("tls-cert", "KAM_TLS_CERT", ""),
    tlsKey: pick("tls-key", "KAM_TLS_KEY", ""),
    ...overrides,
  };
  const parsed = ServerConfig.safeParse(raw);
  if (parsed.success && !parsed.data.tlsCert !== !parsed.data.tlsKey) {
    const missing = parsed.data.tlsCert ? "tlsKey" : "tlsCert";
    throw new ConfigError(`invalid server configuration:\n  ${SOURCES[missing]}: required with ${SOURCES[missing === "tlsKey" ? "tlsCert" : "tlsKey"]} (set both for https, or neither)`);
  }
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]) as keyof ServerConfig;
      return `  ${SOURCES[key] ?? key}: ${i.message} (got ${JSON.stringify(redactSecret(key, (raw as Record<string, unknown>)[key]))})`;
    });
    throw new ConfigError(`invalid server configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** what an error message may echo of a setting: a database URL without its password (issue 19) */
export function redactSecret(key: string, v: unknown): unknown {
  if (key !== "databaseUrl" || typeof v !== "string") return v;
  // the user info (user:password@) of anything URL-like, even when URL() cannot parse it, and a password parameter
  return v.replace(/^([^:]*:\/*)[^/?#]*@/, "$1***@").replace(/([?&]password=)[^&#]*/gi, "$1***");
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * The certificate and key for https, or null when TLS is off. An unreadable
 * file is a ConfigError naming its setting (never the key's content).
 */
export function readTlsFiles(config: Pick<ServerConfig, "tlsCert" | "tlsKey">, readFile: (p: string) => Buffer = (p) => fs.readFileSync(p)): TlsFiles | null {
  if (!config.tlsCert && !config.tlsKey) return null;
  const read = (key: "tlsCert" | "tlsKey"): Buffer => {
    const file = config[key];
    try {
      return readFile(file);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ConfigError(`invalid server configuration:\n  ${SOURCES[key]}: cannot read ${file}: ${err.code ?? err.message}`);
    }
  };
  return { cert: read("tlsCert"), key: read("tlsKey") };
}

/** A TLS context from the files, or a ConfigError naming both settings when they do not make a certificate/key pair. */
export function checkTlsPair(files: TlsFiles): void {
  try {
    tls.createSecureContext({ cert: files.cert, key: files.key });
  } catch (e) {
    throw new ConfigError(`invalid server configuration:\n  ${SOURCES.tlsCert} and ${SOURCES.tlsKey}: not a usable PEM certificate and matching private key (${(e as Error).message})`);
  }
}
