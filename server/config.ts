/**
 * Server configuration, checked once at startup: command-line flags, then
 * environment variables, then defaults. A bad value stops the start with a
 * message that names the setting to fix; so does an unknown flag (the command
 * line is read by server/cli/args.ts, strict, like every CLI's).
 */
import { isIP } from "node:net";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { z } from "zod";
import { normaliseOrigins } from "./auth/csrf";
import { validFrameAncestors } from "./auth/headers";
import { parseRoleMap, RoleMapError } from "./auth/oidc-roles";
import { invokedAs, parseCommandLine, UsageError, type Args, type CliSpec, type FlagSpec } from "./cli/args";

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
  retainAuditDays: z.coerce.number().nonnegative().max(36500),
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
  /** "on": agents from before the agent path (/agent.io/) are still served on /socket.io/ (256 KiB messages); "off": refused */
  agentLegacyPath: z.enum(["on", "off"]),
  /** PEM certificate (chain) and private key files: both set = https for everything (pages, API, socket.io); both empty = http */
  tlsCert: z.string(),
  tlsKey: z.string(),
  /** key file sealing the alert channels' secrets (server/incidents/secret-box.ts); "" = secrets.key in dataDir, created when missing */
  secretsKeyFile: z.string(),
  /**
   * OIDC sign-in (server/auth/oidc.ts; README "Sign-in with the identity provider"): the issuer's URL ("" = off),
   * the client registered there, what the login button says, where the provider sends the browser back ("" =
   * the public URL's, else the request's /api/auth/oidc/callback), the scopes asked for, the claim holding the
   * groups (dots go into objects) and the groups-to-roles map (server/auth/oidc-roles.ts); checked together below
   */
  oidcIssuer: z.string(),
  oidcClientId: z.string(),
  /** "" = a public client (PKCE only); never logged nor stored */
  oidcClientSecret: z.string(),
  oidcProviderName: z.string().min(1).max(64),
  oidcRedirectUrl: z.string().refine((s) => s === "" || /^https?:\/\/[^/]/.test(s), "must start with http:// or https://"),
  oidcScopes: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E ]*$/, "must be scope names separated by spaces"),
  oidcGroupsClaim: z.string().regex(/^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/, "must be a claim name (dots go into objects: realm_access.roles)"),
  oidcRoleMap: z.string(),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

interface Setting {
  flag: string;
  /** environment variable ("" = flag only) */
  env: string;
  /** default as written on the command line */
  dflt: string;
  arg: string;
  help: string;
}

/**
 * Every setting: its flag, environment variable, default and a line of help (README "Configuration
 * (server)" says more). `--help` is generated from this table, errors name the flag and variable.
 */
const SETTINGS: Record<keyof ServerConfig, Setting> = {
  port: { flag: "port", env: "PORT", dflt: "3000", arg: "PORT", help: "HTTP port (dashboard, API, socket.io); 0 picks a free one" },
  host: { flag: "host", env: "KAM_HOST", dflt: "0.0.0.0", arg: "ADDRESS", help: "listen address (HOSTNAME is not read as one)" },
  databaseUrl: { flag: "database-url", env: "DATABASE_URL", dflt: "", arg: "URL", help: "postgresql://... server; empty = the embedded PGlite database under --data-dir" },
  dataDir: { flag: "data-dir", env: "KAM_DATA_DIR", dflt: "data", arg: "DIR", help: "embedded database directory" },
  dev: { flag: "dev", env: "", dflt: "", arg: "", help: "Next.js development mode (npm run dev)" },
  logLevel: { flag: "log-level", env: "LOG_LEVEL", dflt: "info", arg: "LEVEL", help: "fatal|error|warn|info|debug|trace|silent" },
  agentOfflineSeconds: { flag: "agent-offline-seconds", env: "KAM_AGENT_OFFLINE_SECONDS", dflt: "15", arg: "SECONDS", help: "silence after which a node is offline" },
  allowedOrigins: { flag: "allowed-origins", env: "KAM_ALLOWED_ORIGINS", dflt: "", arg: "ORIGINS", help: "extra browser origins (https://host[:port], comma-separated)" },
  publicUrl: { flag: "public-url", env: "KAM_PUBLIC_URL", dflt: "", arg: "URL", help: "the dashboard's URL, for links in notifications" },
  agentRecordsPerSecond: { flag: "agent-records-per-second", env: "KAM_AGENT_RECORDS_PER_SECOND", dflt: "5000", arg: "N", help: "records per second one node may send" },
  agentMessagesPerSecond: { flag: "agent-messages-per-second", env: "KAM_AGENT_MESSAGES_PER_SECOND", dflt: "100", arg: "N", help: "batches and heartbeats per second per node" },
  ipHandshakesPer10s: { flag: "ip-handshakes-per-10s", env: "KAM_IP_HANDSHAKES_PER_10S", dflt: "20", arg: "N", help: "agent connection attempts per client address per 10 s" },
  agentBytesPerSecond: { flag: "agent-bytes-per-second", env: "KAM_AGENT_BYTES_PER_SECOND", dflt: "1048576", arg: "BYTES", help: "bytes of valid batches per second per node" },
  maxNodesPerToken: { flag: "max-nodes-per-token", env: "KAM_MAX_NODES_PER_TOKEN", dflt: "32", arg: "N", help: "node names one legacy cluster token may create" },
  maxInstancesPerNode: { flag: "max-instances-per-node", env: "KAM_MAX_INSTANCES_PER_NODE", dflt: "1024", arg: "N", help: "instance names kept per node" },
  retentionIntervalSeconds: { flag: "retention-interval-seconds", env: "KAM_RETENTION_INTERVAL_SECONDS", dflt: "3600", arg: "SECONDS", help: "how often the pruning job runs" },
  retainLogDays: { flag: "retain-log-days", env: "KAM_RETAIN_LOG_DAYS", dflt: "30", arg: "DAYS", help: "days raw log lines are kept; 0 = for ever (same for every --retain-*)" },
  retainVipDays: { flag: "retain-vip-days", env: "KAM_RETAIN_VIP_DAYS", dflt: "30", arg: "DAYS", help: "days VIP observations are kept" },
  retainConfigDays: { flag: "retain-config-days", env: "KAM_RETAIN_CONFIG_DAYS", dflt: "365", arg: "DAYS", help: "days config snapshots are kept" },
  retainSessionDays: { flag: "retain-session-days", env: "KAM_RETAIN_SESSION_DAYS", dflt: "90", arg: "DAYS", help: "days agent sessions are kept" },
  retainStateDays: { flag: "retain-state-days", env: "KAM_RETAIN_STATE_DAYS", dflt: "365", arg: "DAYS", help: "days state changes are kept" },
  retainIncidentDays: { flag: "retain-incident-days", env: "KAM_RETAIN_INCIDENT_DAYS", dflt: "730", arg: "DAYS", help: "days closed incidents are kept" },
  retainAuditDays: { flag: "retain-audit-days", env: "KAM_RETAIN_AUDIT_DAYS", dflt: "730", arg: "DAYS", help: "days audit log entries are kept" },
  anonymousRead: { flag: "anonymous-read", env: "KAM_ANONYMOUS_READ", dflt: "loopback", arg: "loopback|off", help: "read API without credentials from this host only, or never" },
  cookieSecure: { flag: "cookie-secure", env: "KAM_COOKIE_SECURE", dflt: "", arg: "true|false", help: "Secure cookies; empty = when the server itself speaks TLS" },
  sessionIdleHours: { flag: "session-idle-hours", env: "KAM_SESSION_IDLE_HOURS", dflt: "12", arg: "HOURS", help: "a user session ends after this long without a request" },
  sessionMaxDays: { flag: "session-max-days", env: "KAM_SESSION_MAX_DAYS", dflt: "7", arg: "DAYS", help: "a user session ends this long after sign-in" },
  wallSessionDays: { flag: "wall-session-days", env: "KAM_WALL_SESSION_DAYS", dflt: "30", arg: "DAYS", help: "lifetime of a wall session" },
  loginAttemptsPerIp: { flag: "login-attempts-per-ip", env: "KAM_LOGIN_ATTEMPTS_PER_IP", dflt: "30", arg: "N", help: "sign-in attempts per client address per 15 min" },
  loginAttemptsPerUser: { flag: "login-attempts-per-user", env: "KAM_LOGIN_ATTEMPTS_PER_USER", dflt: "10", arg: "N", help: "failed sign-ins per user name per 15 min" },
  liveConnectionsPerIp: { flag: "live-connections-per-ip", env: "KAM_LIVE_CONNECTIONS_PER_IP", dflt: "50", arg: "N", help: "concurrent /live sockets per client address" },
  wallFrameAncestors: { flag: "wall-frame-ancestors", env: "KAM_WALL_FRAME_ANCESTORS", dflt: "'none'", arg: "SOURCES", help: "CSP frame-ancestors of /wall" },
  trustedProxies: { flag: "trusted-proxies", env: "KAM_TRUSTED_PROXIES", dflt: "", arg: "ADDRESSES", help: "proxies (or loopback) whose X-Forwarded-For names the client" },
  agentLegacyPath: { flag: "agent-legacy-path", env: "KAM_AGENT_LEGACY_PATH", dflt: "on", arg: "on|off", help: "serve agents older than the /agent.io/ path on /socket.io/ (256 KiB messages), or refuse them" },
  tlsCert: { flag: "tls-cert", env: "KAM_TLS_CERT", dflt: "", arg: "PATH", help: "PEM certificate (chain) file; with --tls-key everything is served over https" },
  tlsKey: { flag: "tls-key", env: "KAM_TLS_KEY", dflt: "", arg: "PATH", help: "PEM private key file of that certificate" },
  secretsKeyFile: { flag: "secrets-key-file", env: "KAM_SECRETS_KEY_FILE", dflt: "", arg: "PATH", help: "key sealing alert channel secrets and the OIDC sign-in cookie; empty = secrets.key in --data-dir (created)" },
  oidcIssuer: { flag: "oidc-issuer", env: "KAM_OIDC_ISSUER", dflt: "", arg: "URL", help: "OIDC identity provider (issuer URL, https; http only on loopback); empty = no OIDC sign-in" },
  oidcClientId: { flag: "oidc-client-id", env: "KAM_OIDC_CLIENT_ID", dflt: "", arg: "ID", help: "client id registered at the identity provider" },
  oidcClientSecret: { flag: "oidc-client-secret", env: "KAM_OIDC_CLIENT_SECRET", dflt: "", arg: "SECRET", help: "its client secret (prefer the variable: a flag shows in ps); empty = public client, PKCE only" },
  oidcProviderName: { flag: "oidc-provider-name", env: "KAM_OIDC_PROVIDER_NAME", dflt: "SSO", arg: "NAME", help: "the login page's button: \"Sign in with NAME\"" },
  oidcRedirectUrl: { flag: "oidc-redirect-url", env: "KAM_OIDC_REDIRECT_URL", dflt: "", arg: "URL", help: "redirect URL registered at the provider; empty = --public-url + /api/auth/oidc/callback (else the request's host)" },
  oidcScopes: { flag: "oidc-scopes", env: "KAM_OIDC_SCOPES", dflt: "openid profile email", arg: "SCOPES", help: "scopes asked for (must include openid; add the one that releases groups, if any)" },
  oidcGroupsClaim: { flag: "oidc-groups-claim", env: "KAM_OIDC_GROUPS_CLAIM", dflt: "groups", arg: "CLAIM", help: "claim holding the user's groups (ID token or userinfo; dots go into objects)" },
  oidcRoleMap: { flag: "oidc-role-map", env: "KAM_OIDC_ROLE_MAP", dflt: "", arg: "MAP", help: "groups to roles, e.g. admin=ops-admins,operator=ops,viewer=*; no matching group = refused" },
};

/** Where each setting comes from, to name it in errors: "--port / PORT". */
const SOURCES = Object.fromEntries(
  Object.entries(SETTINGS).map(([key, s]) => [key, s.env ? `--${s.flag} / ${s.env}` : `--${s.flag}`]),
) as Record<keyof ServerConfig, string>;

/** The server's command line (server/cli/args.ts): one flag a setting, no commands, no positional arguments. */
export const SERVER_CLI: CliSpec = {
  name: "server",
  invoke: invokedAs("npm start --"),
  summary: "keepalived cluster monitor server: dashboard, API and the agents' socket.io endpoint on one port.",
  commands: [
    {
      name: "",
      synopsis: "[options]",
      help: "Each option can also be set by its environment variable; flags win over the environment, which wins over the defaults.",
      flags: Object.fromEntries(
        Object.values(SETTINGS).map((s): [string, FlagSpec] =>
          s.env
            ? [s.flag, { type: "string", arg: s.arg, help: `${s.help}\n      env ${s.env}${s.dflt ? `; default: ${s.dflt}` : ""}` }]
            : [s.flag, { type: "boolean", help: s.help }],
        ),
      ),
    },
  ],
  footer: "npm run dev is npm start -- --dev without a build.",
};

/** A bad setting or command line: the server exits 2 (server/main.ts), a CLI too (server/cli/args.ts). */
export class ConfigError extends UsageError {
  override readonly showUsage = false;
}

/** the flags given on the command line, or a ConfigError naming the one that is wrong (unknown, missing value, a command) */
function serverFlags(argv: string[]): Args {
  const r = parseCommandLine(SERVER_CLI, argv);
  if (r.kind === "ok") return r.args;
  if (r.kind === "error") throw new ConfigError(`invalid server command line: ${r.message} (npm start -- --help lists every option)`);
  throw new ConfigError(`--${r.kind} prints and exits; it is not a setting (server/main.ts handles it before the configuration)`);
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
  if (serverFlags(argv).string("host") !== undefined) return [];
  const w = legacyHost(env).warning;
  return w ? [w] : [];
}

export function loadServerConfig(
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<ServerConfig> = {},
): ServerConfig {
  const flags = serverFlags(argv);
  const raw: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS)) {
    raw[key] = s.env ? (flags.string(s.flag) ?? env[s.env] ?? s.dflt) : flags.flag(s.flag);
  }
  if (flags.string("host") === undefined && env.KAM_HOST === undefined) raw.host = legacyHost(env).host ?? SETTINGS.host.dflt;
  raw.dataDir = path.resolve(raw.dataDir as string);
  Object.assign(raw, overrides);
  const parsed = ServerConfig.safeParse(raw);
  if (parsed.success && !parsed.data.tlsCert !== !parsed.data.tlsKey) {
    const missing = parsed.data.tlsCert ? "tlsKey" : "tlsCert";
    throw new ConfigError(`invalid server configuration:\n  ${SOURCES[missing]}: required with ${SOURCES[missing === "tlsKey" ? "tlsCert" : "tlsKey"]} (set both for https, or neither)`);
  }
  if (parsed.success) {
    const problems = oidcProblems(parsed.data);
    if (problems.length) throw new ConfigError(`invalid server configuration:\n${problems.map(([key, m]) => `  ${SOURCES[key]}: ${m}`).join("\n")}`);
  }
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]) as keyof ServerConfig;
      return `  ${SOURCES[key] ?? key}: ${i.message} (got ${JSON.stringify(redactSecret(key, raw[key]))})`;
    });
    throw new ConfigError(`invalid server configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

const isLoopbackHost = (h: string) => h === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "[::1]";

/** the OIDC settings that do not go together (all fine when KAM_OIDC_ISSUER is empty and nothing else is set) */
function oidcProblems(c: ServerConfig): [keyof ServerConfig, string][] {
  if (c.oidcIssuer === "") {
    return c.oidcClientId !== "" || c.oidcRoleMap !== "" ? [["oidcIssuer", "required with the other OIDC settings (the identity provider's issuer URL)"]] : [];
  }
  const out: [keyof ServerConfig, string][] = [];
  let issuer: URL | null = null;
  try {
    issuer = new URL(c.oidcIssuer);
  } catch {
    out.push(["oidcIssuer", `"${c.oidcIssuer}" is not a URL`]);
  }
  if (issuer && !(issuer.protocol === "https:" || (issuer.protocol === "http:" && isLoopbackHost(issuer.hostname)))) {
    out.push(["oidcIssuer", "must be https:// (http:// only for a provider on this host)"]);
  }
  if (c.oidcClientId === "") out.push(["oidcClientId", "required with KAM_OIDC_ISSUER (the client id registered at the provider)"]);
  if (!c.oidcScopes.split(" ").includes("openid")) out.push(["oidcScopes", "must include openid"]);
  if (c.oidcRoleMap === "") out.push(["oidcRoleMap", "required with KAM_OIDC_ISSUER: which groups get which role, e.g. admin=ops-admins,viewer=*"]);
  else {
    try {
      parseRoleMap(c.oidcRoleMap);
    } catch (e) {
      if (!(e instanceof RoleMapError)) throw e;
      out.push(["oidcRoleMap", e.message]);
    }
  }
  return out;
}

/** what an error message may echo of a setting: a database URL without its password (issue 19), no client secret */
export function redactSecret(key: string, v: unknown): unknown {
  if (key === "oidcClientSecret") return "***";
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
