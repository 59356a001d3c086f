/**
 * Bridge between the custom server and Next's page server components (the
 * HTTP API is the server's own route table, server/http/routes/, whose
 * handlers are handed the same parts explicitly). Next bundles app/
 * separately, so pages cannot share module instances with the server; they
 * reach the running server's parts through this one global instead.
 * Imports types only: safe to import from app/.
 */
import type { ServerParts } from "./app-context";

const KEY = Symbol.for("keepalived-monitor.parts");

type WithParts = typeof globalThis & { [KEY]?: ServerParts };

export function setServerParts(parts: ServerParts | undefined) {
  (globalThis as WithParts)[KEY] = parts;
}

export function serverParts(): ServerParts {
  const parts = (globalThis as WithParts)[KEY];
  if (!parts) throw new Error("the monitor server is not running in this process: start it with `npm start`, not `next start`");
  return parts;
}
