import { z } from "zod";
import { OIDC_CALLBACK_PATH, OIDC_LOGIN_PATH } from "../../auth/oidc-errors";
import { FLOW_TTL_MS, OIDC_FLOW_COOKIE, OidcError } from "../../auth/oidc";
import { HttpError, cookie, safeNext } from "../respond";
import { defineRoute } from "../route";
import { oidcRefused, requestOrigin } from "../oidc-answer";

/**
 * GET /api/auth/oidc/login?next=PATH: starts a sign-in with the identity provider (server/auth/oidc.ts): a
 * 303 to its authorization endpoint (code flow, PKCE S256, state, nonce) and the sealed flow cookie. The
 * provider not answering: back to /login with the reason. 404 when OIDC is not configured.
 */
export default defineRoute({
  method: "GET", path: OIDC_LOGIN_PATH, access: "public", success: 303,
  summary: "sign in with the identity provider (OIDC): redirects to it; 404 not_found when KAM_OIDC_ISSUER is not set",
  request: { query: z.object({ next: z.string().max(2000).optional() }) },
  response: z.string(),
  async handle(ctx) {
    const { access } = ctx;
    const oidc = access.oidc;
    if (!oidc) throw new HttpError(404, "not_found", "sign-in with an identity provider is not configured here (KAM_OIDC_ISSUER)");
    const next = safeNext(ctx.url.searchParams.get("next"));
    try {
      const flow = await oidc.start(oidc.redirectUrlFor(requestOrigin(ctx)), next);
      return {
        status: 303, raw: "", contentType: "text/plain; charset=utf-8",
        headers: {
          location: flow.url,
          "set-cookie": cookie(OIDC_FLOW_COOKIE, flow.cookie, { maxAgeS: FLOW_TTL_MS / 1000, secure: access.secureCookies(ctx.req), sameSite: "Lax", path: OIDC_CALLBACK_PATH }),
        },
      };
    } catch (e) {
      if (e instanceof OidcError) return oidcRefused(ctx, e, next);
      throw e;
    }
  },
});
