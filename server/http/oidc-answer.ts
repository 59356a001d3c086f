/** What the OIDC routes (routes/auth-oidc-*.ts) answer besides a success: the refusal page, the cleared flow cookie. */
import { clientOverTls } from "../auth/net";
import { OIDC_CALLBACK_PATH } from "../auth/oidc-errors";
import { OIDC_FLOW_COOKIE, type OidcError } from "../auth/oidc";
import { cookie } from "./respond";
import type { RawReply, RouteCtx } from "./route";

type Ctx = Pick<RouteCtx, "access" | "req">;

export const flowCookieCleared = (ctx: Ctx) => cookie(OIDC_FLOW_COOKIE, "", { maxAgeS: 0, secure: ctx.access.secureCookies(ctx.req), sameSite: "Lax", path: OIDC_CALLBACK_PATH });

/** A refused OIDC sign-in: counted by its code, logged with its detail, and the browser sent to /login, which says why. */
export function oidcRefused(ctx: Ctx, e: OidcError, next: string | null): RawReply {
  const { access } = ctx;
  access.counters.inc("kam_oidc_login_total", { result: e.code });
  access.log.warn({ ip: access.clientIp(ctx.req), code: e.code, reason: e.message }, "sign-in through the identity provider refused");
  const q = new URLSearchParams({ oidc_error: e.code, ...(next && next !== "/" ? { next } : {}) });
  return { status: 303, raw: "", contentType: "text/plain; charset=utf-8", headers: { location: `/login?${q.toString()}`, "set-cookie": flowCookieCleared(ctx) } };
}

/**
 * This request's origin as the browser sees it, for the redirect URL when neither KAM_OIDC_REDIRECT_URL nor
 * KAM_PUBLIC_URL says it: https when this connection is TLS or a trusted proxy says the client's was (as for the
 * setup link), the Host header. A forged Host only breaks the forger's own sign-in: the provider accepts only
 * the redirect URLs registered with it.
 */
export function requestOrigin(ctx: Ctx): string {
  const { access, req } = ctx;
  const tls = clientOverTls(!!(req.socket as { encrypted?: boolean }).encrypted, req.socket.remoteAddress, req.headers, access.trustedProxies);
  const host = (req.headers.host ?? "").replace(/[^A-Za-z0-9.:[\]-]/g, "");
  return `${tls ? "https" : "http"}://${host || "localhost"}`;
}
