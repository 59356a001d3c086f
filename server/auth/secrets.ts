/**
 * Random bearer secrets (session cookies, API, wall and setup tokens): 32
 * random bytes, base64url, with a prefix that says what they are. They carry
 * 256 bits of entropy, so SHA-256 is enough to store them (a slow hash would
 * only slow every request); only the hash is ever stored.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const PREFIX = { session: "", api: "kamr_", wall: "kamw_", setup: "kams_" } as const;
export type SecretKind = keyof typeof PREFIX;

export function newSecret(kind: SecretKind): string {
  return PREFIX[kind] + randomBytes(32).toString("base64url");
}

export function sha256(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** 43 base64url characters = 32 bytes */
const BODY = /^[A-Za-z0-9_-]{43}$/;

/** The secret if it is well-formed for its kind, else null (never throws). */
export function parseSecret(kind: SecretKind, value: unknown): string | null {
  if (typeof value !== "string") return null;
  const p = PREFIX[kind];
  if (!value.startsWith(p)) return null;
  return BODY.test(value.slice(p.length)) ? value : null;
}

/** First characters of a token, to recognise it in listings; useless to authenticate. */
export const displayPrefix = (token: string) => token.slice(0, token.indexOf("_") + 7);

/** `Authorization: Bearer <token>` -> token, or null */
export function parseBearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  return m ? m[1] : null;
}

/** Cookie header -> the value of one cookie (first occurrence), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}
