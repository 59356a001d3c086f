/**
 * The gate of the agents' socket.io server (SOCKET_PATHS.agent, issue 19): engine.io's `allowRequest`, run on
 * the HTTP request of an engine.io handshake (a websocket upgrade; the agent engine takes no polling) before
 * any engine.io session, and so before any socket.io message, exists. It admits a request only when its
 * `Authorization: Bearer <token>` header names a known, unrevoked agent token; the agents' socket.io server,
 * and with it the 4 MiB message buffer (LIMITS.maxMessageBytes), is reached by token holders only.
 *
 * A refusal answers the upgrade HTTP 400 (engine.io's answer to a refused upgrade) with `CODE: message` as
 * the body, is counted in kam_agent_handshake_rejected_total{code} like a refused /agent handshake, and
 * spends the client address's allowance of failed handshakes (the address as KAM_TRUSTED_PROXIES resolves
 * it); over that allowance the code is rate_limited. A database that cannot be asked refuses `unavailable`
 * (not a failure of the client). Everything else (node binding, protocol, rate limits) is checked by the
 * /agent namespace's handshake as on the legacy path (agent-namespace.ts).
 */
import type { IncomingMessage } from "node:http";
import type { AppContext } from "../app-context";
import type { ErrorCode } from "../protocol";
import { verifyToken } from "./tokens";
import { type IngestLimiter, LogThrottle } from "./limits";
import { clientAddress } from "../auth/net";

/** engine.io's ServerOptions.allowRequest */
export type AllowRequest = (req: IncomingMessage, fn: (err: string | null | undefined, success: boolean) => void) => void;

/** the token of an `Authorization: Bearer <token>` header, or null (absent, another scheme, or over 256 characters) */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer ([\x21-\x7e]{1,256})$/i.exec(header?.trim() ?? "");
  return m ? m[1] : null;
}

export function agentGate(app: AppContext, limiter: IngestLimiter | undefined, trustedProxies: string[]): AllowRequest {
  const quiet = new LogThrottle();
  return (req, fn) => {
    const addr = clientAddress(req.socket.remoteAddress, req.headers, trustedProxies);
    const refuse = (code: ErrorCode, message: string, failure: boolean) => {
      if (failure) {
        const v = limiter?.handshakeFailed(addr) ?? { ok: true };
        if (!v.ok) [code, message] = ["rate_limited", v.message];
      }
      app.counters.inc("kam_agent_handshake_rejected_total", { code });
      const suppressed = quiet.allow(`gate:${addr}:${code}`);
      if (suppressed !== null) app.log.warn({ code, addr, suppressed }, `agent connection refused before its handshake: ${message}`);
      fn(`${code}: ${message}`, false);
    };
    const token = bearerToken(req.headers.authorization);
    if (token === null) {
      refuse("unauthorized", "no agent token: the agent path needs an Authorization: Bearer <agent token> header", true);
      return;
    }
    verifyToken(app.db, token).then(
      (scope) => {
        if (scope) fn(null, true);
        else refuse("unauthorized", "unknown or revoked agent token: check the agent's --token / KAM_TOKEN", true);
      },
      (e: unknown) => {
        app.log.error({ err: e }, "agent gate: the token could not be checked");
        refuse("unavailable", "server cannot check the token right now, retry later", false);
      },
    );
  };
}
