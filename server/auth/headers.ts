/**
 * Security headers of every response, pure. The CSP's script-src is
 * nonce-based: the server draws a nonce per request and puts the policy on
 * the request as well, where Next (app-render, getScriptNonceFromHeader) reads
 * it and stamps its own inline and chunk scripts with it; 'strict-dynamic'
 * lets those scripts load the rest of the bundle. No 'unsafe-eval' except in
 * dev (React's dev build needs it).
 */
import { randomBytes } from "node:crypto";

export const newNonce = () => randomBytes(16).toString("base64");

export interface CspOptions {
  nonce: string;
  dev: boolean;
  /** frame-ancestors value: "'none'" everywhere but /wall */
  frameAncestors: string;
}

export function contentSecurityPolicy(o: CspOptions): string {
  const script = ["'self'", `'nonce-${o.nonce}'`, "'strict-dynamic'", ...(o.dev ? ["'unsafe-eval'"] : [])];
  return [
    "default-src 'self'",
    `script-src ${script.join(" ")}`,
    // inline style attributes (charts, tiles) need 'unsafe-inline'; styles cannot run code
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${o.dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${o.frameAncestors}`,
  ].join("; ");
}

/** KAM_WALL_FRAME_ANCESTORS: "'none'", "'self'" or origins separated by spaces; anything else is refused */
export function validFrameAncestors(v: string): boolean {
  return v.trim().split(/\s+/).every((t) => t === "'none'" || t === "'self'" || /^https?:\/\/[A-Za-z0-9.*-]+(:\d{1,5})?$/.test(t));
}

export function securityHeaders(o: CspOptions & { tls: boolean; framable: boolean }): Record<string, string> {
  const h: Record<string, string> = {
    "content-security-policy": contentSecurityPolicy(o),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  };
  if (!o.framable) h["x-frame-options"] = "DENY";
  if (o.tls) h["strict-transport-security"] = "max-age=31536000";
  return h;
}
