/**
 * Server configuration, checked once at startup: command-line flags, then
 * environment variables, then defaults. A bad value stops the start with a
 * message that names the setting to fix.
 */
import path from "node:path";
import { z } from "zod";

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
  allowedOrigins: z.string(),
  /** the dashboard's public URL, for links in notifications ("" = no links) */
  publicUrl: z.string().refine((s) => s === "" || /^https?:\/\//.test(s), "must start with http:// or https://"),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

/** Where each setting comes from, to name it in errors. */
const SOURCES: Record<keyof ServerConfig, string> = {
  port: "--port / PORT",
  host: "--host / HOSTNAME",
  databaseUrl: "--database-url / DATABASE_URL",
  dataDir: "--data-dir / KAM_DATA_DIR",
  dev: "--dev",
  logLevel: "--log-level / LOG_LEVEL",
  agentOfflineSeconds: "--agent-offline-seconds / KAM_AGENT_OFFLINE_SECONDS",
  allowedOrigins: "--allowed-origins / KAM_ALLOWED_ORIGINS",
  publicUrl: "--public-url / KAM_PUBLIC_URL",
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

export function loadServerConfig(
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<ServerConfig> = {},
): ServerConfig {
  const pick = (flag: string, envName: string | null, dflt: string) =>
    flagValue(argv, flag) ?? (envName ? env[envName] : undefined) ?? dflt;
  const raw = {
    port: pick("port", "PORT", "3000"),
    host: pick("host", "HOSTNAME", "0.0.0.0"),
    databaseUrl: pick("database-url", "DATABASE_URL", ""),
    dataDir: path.resolve(pick("data-dir", "KAM_DATA_DIR", "data")),
    dev: argv.includes("--dev"),
    logLevel: pick("log-level", "LOG_LEVEL", "info"),
    agentOfflineSeconds: pick("agent-offline-seconds", "KAM_AGENT_OFFLINE_SECONDS", "15"),
    allowedOrigins: pick("allowed-origins", "KAM_ALLOWED_ORIGINS", ""),
    publicUrl: pick("public-url", "KAM_PUBLIC_URL", ""),
    ...overrides,
  };
  const parsed = ServerConfig.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]) as keyof ServerConfig;
      return `  ${SOURCES[key] ?? key}: ${i.message} (got ${JSON.stringify((raw as Record<string, unknown>)[key])})`;
    });
    throw new ConfigError(`invalid server configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
