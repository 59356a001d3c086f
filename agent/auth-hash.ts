/**
 * The one impure step of reading keepalived.conf: turning auth_pass into a
 * hash that peers can compare without revealing it. keepalived puts only the
 * first 8 bytes of the password on the wire, so only those are hashed; the
 * salt holds the VRID so equal passwords of different routers do not match.
 */
import { createHash, scryptSync } from "node:crypto";

export type HashAuthPass = (password: string, vrid: number | null) => string;

export const AUTH_SALT_PREFIX = "keepalived-monitor/auth/";

/** scrypt is slow on purpose; the agent re-reads its config often, so results are cached (by a hash of the input). */
const cache = new Map<string, string>();

export const hashAuthPass: HashAuthPass = (password, vrid) => {
  const key = Buffer.from(password, "utf8").subarray(0, 8);
  const salt = AUTH_SALT_PREFIX + (vrid ?? "");
  const id = createHash("sha256").update(key).update("\0").update(salt).digest("hex");
  const hit = cache.get(id);
  if (hit) return hit;
  const h = scryptSync(key, salt, 32, { N: 16384, r: 8, p: 1 }).toString("hex");
  if (cache.size > 256) cache.clear();
  cache.set(id, h);
  return h;
};
