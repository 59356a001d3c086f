/**
 * CSRF defences for state-changing HTTP routes, pure functions:
 * - same origin: the request's Origin (or, without one, its Referer) must be
 *   the dashboard's own host or an allowed origin;
 * - a token the page sends in the `x-csrf-token` header: for a session it is
 *   HMAC-SHA256(session cookie value, "kam-csrf-v1"), so nothing extra is
 *   stored and another site can neither read nor compute it; before sign-in
 *   (login, setup) it is a double-submit of the `kam_pre` cookie.
 */
import { createHmac } from "node:crypto";
import { safeEqual } from "./secrets";

export const CSRF_HEADER = "x-csrf-token";

export function csrfTokenFor(sessionSecret: string): string {
  return createHmac("sha256", sessionSecret).update("kam-csrf-v1").digest("base64url");
}

export function csrfValid(sessionSecret: string, sent: unknown): boolean {
  return typeof sent === "string" && sent.length > 0 && safeEqual(csrfTokenFor(sessionSecret), sent);
}

/** double-submit before sign-in: the header equals the pre-session cookie */
export function preCsrfValid(cookie: string | null, sent: unknown): boolean {
  return !!cookie && cookie.length >= 20 && typeof sent === "string" && safeEqual(cookie, sent);
}

export interface OriginPolicy {
  /** extra allowed origins ("https://noc.example.net"), normalised by normaliseOrigins */
  allowed: string[];
}

/** "a, b" -> ["https://a.example", ...]: scheme://host[:port], lower case; bad entries throw */
export function normaliseOrigins(list: string): string[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const u = new URL(s);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`not an http(s) origin: ${s}`);
      return u.origin.toLowerCase();
    });
}

function originOf(value: string): URL | null {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:" ? u : null;
  } catch {
    return null;
  }
}

/**
 * Is this browser origin our own? Same host (host[:port] equal to the Host
 * header, scheme aside: behind a TLS proxy the browser says https while we
 * see http) or one of the allowed origins.
 */
export function originMatches(origin: string, host: string | undefined, policy: OriginPolicy): boolean {
  const u = originOf(origin);
  if (!u) return false;
  if (policy.allowed.includes(u.origin.toLowerCase())) return true;
  return !!host && u.host.toLowerCase() === host.toLowerCase();
}

/** For state-changing requests: Origin, else Referer, must be ours; neither present = refused. */
export function sameOriginRequest(headers: { origin?: string; referer?: string; host?: string }, policy: OriginPolicy): boolean {
  if (headers.origin) return headers.origin !== "null" && originMatches(headers.origin, headers.host, policy);
  if (headers.referer) return originMatches(headers.referer, headers.host, policy);
  return false;
}
