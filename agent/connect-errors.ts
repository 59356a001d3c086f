/**
 * What a failed connection to the server says, read for the agent's log (agent/client.ts): the agent gate's
 * refusal of the websocket upgrade, the server's typed refusal code and retry hint, a TLS failure named by
 * what to fix, and a warning for a token sent in clear. Pure: no socket, no state.
 */
import { SOCKET_PATHS, ErrorCode } from "../server/protocol";

/**
 * The agent path's gate (server/ingest/agent-gate.ts) refused the websocket upgrade: the HTTP status of the
 * answer (400), or null. The refusal's code is in the answer's body, which the websocket client does not
 * expose; what it may be is said in GATE_REFUSED.
 */
export function gateStatus(err: unknown): number | null {
  const m = /Unexpected server response: (4\d\d)/.exec(String((err as { description?: { message?: unknown } } | null)?.description?.message ?? ""));
  return m ? Number(m[1]) : null;
}
export const GATE_REFUSED =
  "the server refused the connection before the handshake: check --token / KAM_TOKEN (unknown or revoked token); " +
  `a server older than this agent has no agent path ${SOCKET_PATHS.agent}/ (upgrade the server first); else it was busy (retried)`;

/** the server's retry hint (ms) from a refusal's data or a reply, if it gave a sane one */
export function retryHint(v: unknown): number | null {
  const h = (v as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof h === "number" && Number.isFinite(h) && h >= 0 ? Math.min(h, 3_600_000) : null;
}

export function errorCode(err: unknown): ErrorCode | null {
  const e = err as { data?: { code?: unknown }; message?: unknown } | null;
  const c = e?.data?.code ?? (typeof e?.message === "string" ? /^(\w+)\b/.exec(e.message)?.[1] : undefined);
  // one list of codes: the wire protocol's
  const v = ErrorCode.safeParse(c);
  return v.success ? v.data : null;
}

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_UNTRUSTED", "CERT_SIGNATURE_FAILURE", "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
]);

/**
 * A warning when the agent would send its token and keepalived's logs in clear over the network: an http://
 * server that is not on this host's loopback. null when the URL is https:// or loopback.
 */
export function plainHttpWarning(server: string): string | null {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return null;
  }
  if (u.protocol !== "http:") return null;
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)) return null;
  return `--server / KAM_SERVER is plain http:// to ${u.host}: the agent token and keepalived's logs cross the network in clear; use https:// (server TLS or a TLS proxy, SECURITY.md)`;
}

/** The TLS failure inside a connect_error (engine.io wraps the socket's error event), as a log message naming what to fix. */
export function tlsProblem(err: unknown): { message: string; detail: string } | null {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length) {
    const e = stack.pop() as { code?: unknown; message?: unknown; description?: unknown; error?: unknown; cause?: unknown; context?: unknown } | null;
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const code = typeof e.code === "string" ? e.code : "";
    const msg = typeof e.message === "string" ? e.message : "";
    const detail = `${code}${code && msg ? ": " : ""}${msg}`.slice(0, 300);
    if (UNTRUSTED.has(code)) {
      return { detail, message: "cannot verify the server's TLS certificate: give the CA that signed it with --ca / KAM_CA (PEM file)" };
    }
    if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
      return { detail, message: "the server's TLS certificate is expired or not yet valid (check the server's certificate and this node's clock)" };
    }
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      return { detail, message: "the server's TLS certificate does not name the host in --server / KAM_SERVER: use a name the certificate lists" };
    }
    if (code === "EPROTO" || /wrong version number|packet length too long/i.test(msg)) {
      return { detail, message: "TLS handshake failed: the port in --server / KAM_SERVER does not serve https; give the server's TLS port (the token must not travel in clear: see SECURITY.md for TLS on the server or a proxy)" };
    }
    stack.push(e.description, e.error, e.cause, e.context);
  }
  return null;
}
