/**
 * The server's version and the agents' (each announces its own in its handshake). Versions are this
 * project's own `x.y.z` (package.json); a version that is not one (an agent built from a checkout with
 * a suffix) compares by its x.y.z prefix, and one without any is never called older.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./paths";

/** the server's version (package.json) */
export const VERSION: string = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

function triple(v: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** is agent version `v` older than `server` (default: this server's)? false when either is not x.y.z */
export function isOlderVersion(v: string, server: string = VERSION): boolean {
  const a = triple(v);
  const b = triple(server);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
