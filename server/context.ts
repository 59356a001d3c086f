/**
 * Bridge between the custom server and Next's page server components (the
 * HTTP API is the server's own route table, server/http/routes/). Next bundles
 * app/ separately, so pages cannot share module instances with the server;
 * they reach the running hub through this one global instead.
 * Imports types only: safe to import from app/.
 */
import type { Hub } from "./hub";

const KEY = Symbol.for("keepalived-monitor.hub");

type WithHub = typeof globalThis & { [KEY]?: Hub };

export function setHub(hub: Hub | undefined) {
  (globalThis as WithHub)[KEY] = hub;
}

export function getHub(): Hub {
  const hub = (globalThis as WithHub)[KEY];
  if (!hub) throw new Error("the monitor server is not running in this process: start it with `npm start`, not `next start`");
  return hub;
}
