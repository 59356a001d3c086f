/**
 * Where to go after sign-in (`next`), for the login page and the login API
 * alike: a path on this origin, or "/". Browsers drop tabs and newlines from
 * URLs and read a backslash as a slash, so `/\t/evil.example` and `/\evil`
 * would leave the site (an open redirect): control characters, whitespace and
 * backslashes are refused, and the rest must resolve to our own origin.
 * Pure; no Node APIs (the login page imports it).
 */
const BASE = "http://kam.invalid";

export function safeNext(v: unknown): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 2000) return "/";
  // C0 and C1 controls, every Unicode space, and backslash
  if (/[\u0000-\u001f\u007f-\u009f\\]|\s/u.test(v)) return "/";
  if (!v.startsWith("/") || v.startsWith("//")) return "/";
  let u: URL;
  try {
    u = new URL(v, BASE);
  } catch {
    return "/";
  }
  if (u.origin !== BASE) return "/";
  return u.pathname + u.search + u.hash;
}
