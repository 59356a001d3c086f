import { z } from "zod";
import { clientOverTls, isLoopback } from "../../auth/net";
import { useSetupToken } from "../../auth/store";
import { HttpError } from "../respond";
import { defineRoute } from "../route";
import { SignedIn, signIn } from "../sign-in";

/** POST /api/auth/setup: the one-time setup link creates the first admin and signs it in. */
export default defineRoute({
  method: "POST", path: "/api/auth/setup", access: "pre",
  summary: "create the first admin with the one-time setup token, and sign in",
  request: { body: z.object({ token: z.string().max(200), name: z.string().max(200), password: z.string().max(2000) }) }, response: SignedIn,
  audit: { action: "auth.setup", actor: ({ body }) => body.name, target: ({ body }) => ({ kind: "user", id: body.name }) },
  async handle(ctx) {
    const { access, body } = ctx;
    // the one-time link must not cross a network in the clear: whoever reads it could create the admin first
    if (!clientOverTls(!!access.config.tlsCert, ctx.req.socket.remoteAddress, ctx.req.headers, access.trustedProxies) && !isLoopback(access.clientIp(ctx.req))) {
      access.denied("forbidden", "setup");
      throw new HttpError(403, "forbidden",
        "the setup link works over plain HTTP only from the server host (e.g. through ssh -L) or over HTTPS; or run: npm run admin -- user add NAME --role admin");
    }
    const user = await useSetupToken(access.db, body.token, body.name, body.password);
    access.log.warn({ user: user.name }, "first admin created through the setup link (the link is now void)");
    return signIn(ctx, "setup", user, "/");
  },
});
