/** Structured logging (pino). Child loggers carry cluster, node and socket ids. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    level,
    base: { svc: "kam-server" },
    // never let a token or password reach the logs, whatever object is logged
    redact: { paths: ["token", "*.token", "auth.token", "authPass", "*.authPass", "password", "*.password"], censor: "[redacted]" },
  });
}
