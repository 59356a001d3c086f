import { z } from "zod";
import { OIDC_CALLBACK_PATH } from "../../auth/oidc-errors";
import { OIDC_FLOW_COOKIE, OidcError } from "../../auth/oidc";
import { readCookie } from "../../auth/secrets";
import { findOidcUser, upsertOidcUser } from "../../auth/store";
import { HttpError } from "../respond";
import { defineRoute } from "../route";
import { openSession } from "../sign-in";
import { flowCookieCleared, oidcRefused } from "../oidc-answer";

/**
 * GET /api/auth/oidc/callback: where the identity provider sends the browser back. The flow is checked and
 * finished (server/auth/oidc.ts: state, code exchange with PKCE, ID token, role from the groups), the user
 * made or re-roled, and a session opened exactly as a password sign-in opens one (../sign-in.ts, recorded
 * as auth.login.oidc); then a 303 to where the sign-in started. Any refusal: a 303 to /login?oidc_error=CODE
 * (the page says why), counted in kam_oidc_login_total{result}, logged with the detail.
 */
export default defineRoute({
  method: "GET", path: OIDC_CALLBACK_PATH, access: "public", success: 303,
  summary: "the identity provider's redirect back (OIDC): opens a session and redirects to the dashboard, or to /login?oidc_error=CODE",
  request: { query: z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional(), iss: z.string().optional() }) },
  response: z.string(),
  // recorded by openSession (../sign-in.ts, auth.login.oidc): the user made or re-roled, and the session
  async handle(ctx) {
    const { access } = ctx;
    const oidc = access.oidc;
    if (!oidc) throw new HttpError(404, "not_found", "sign-in with an identity provider is not configured here (KAM_OIDC_ISSUER)");
    const ip = access.clientIp(ctx.req);
    if (!access.loginPerIp.hit(ip)) {
      access.counters.inc("kam_oidc_login_total", { result: "rate_limited" });
      const wait = access.loginPerIp.retryAfter(ip);
      throw new HttpError(429, "rate_limited", `too many sign-in attempts: retry in ${wait} s`, { "retry-after": String(wait) });
    }
    try {
      const who = await oidc.finish(readCookie(ctx.req.headers.cookie, OIDC_FLOW_COOKIE), ctx.url.searchParams);
      const known = await findOidcUser(access.db, who.issuer, who.subject);
      const s = await openSession(ctx, "oidc", known?.name ?? who.name, known ? { kind: "user", id: known.id } : null, async () => {
        const r = await upsertOidcUser(access.db, who);
        if ("nameTaken" in r) {
          throw new OidcError("name_taken", `user name ${r.nameTaken} (from the provider's preferred_username, email or sub) is already used by another user`);
        }
        return r.user;
      });
      access.counters.inc("kam_oidc_login_total", { result: "ok" });
      access.log.info({ ip, user: s.user.name, role: s.user.role, groups: who.groups.slice(0, 20), was: known?.role ?? null }, "signed in through the identity provider");
      return { status: 303, raw: "", contentType: "text/plain; charset=utf-8", headers: { location: who.next, "set-cookie": [...s.cookies, flowCookieCleared(ctx)] } };
    } catch (e) {
      if (e instanceof OidcError) return oidcRefused(ctx, e, null);
      throw e;
    }
  },
});
