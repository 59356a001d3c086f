/** Structured logs of the agent: pino, JSON lines on stderr (journald keeps them when run by systemd). */
import { pino, type Logger } from "pino";

export type { Logger };

export function createAgentLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { svc: "kam-agent" },
      // never let a token or a password reach the logs, whatever object is logged
      redact: { paths: ["token", "*.token", "auth.token", "authPass", "*.authPass", "password", "*.password"], censor: "[redacted]" },
    },
    // synchronous writes to fd 2: no worker thread, so it works inside the single-file bundle
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
