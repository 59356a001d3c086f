import { z } from "zod";
import { checkLogin } from "../../auth/store";
import { HttpError, safeNext } from "../respond";
import { defineRoute } from "../route";
import { SignedIn, signIn } from "../sign-in";

/** POST /api/auth/login: rate-limited per address and per (user name, address). */
export default defineRoute({
  method: "POST", path: "/api/auth/login", access: "pre",
  summary: "sign in with a user name and password: a session cookie and the CSRF token",
  request: { body: z.object({ name: z.string().max(200), password: z.string().max(2000), next: z.string().max(2000).optional() }) }, response: SignedIn,
  // recorded by signIn (../sign-in.ts, auth.login.password): a refused attempt is counted, not recorded
  audit: false,
  async handle(ctx) {
    const { access, body } = ctx;
    const ip = access.clientIp(ctx.req);
    // failures per (user name, client address): guessing from one address cannot lock the user out
    // everywhere (issue 19); the per-address limit bounds how many names one address tries
    const userKey = `${body.name.toLowerCase()}\u0000${ip}`;
    access.warnUntrustedProxy(ctx.req);
    if (!access.loginPerIp.hit(ip) || access.loginPerUser.over(userKey)) {
      access.counters.inc("kam_login_total", { result: "rate_limited" });
      const wait = Math.max(access.loginPerIp.retryAfter(ip), access.loginPerUser.retryAfter(userKey));
      throw new HttpError(429, "rate_limited", `too many sign-in attempts: retry in ${wait} s`, { "retry-after": String(wait) });
    }
    const user = await checkLogin(access.db, body.name, body.password);
    if (!user) {
      access.loginPerUser.hit(userKey);
      access.counters.inc("kam_login_total", { result: "bad_credentials" });
      access.log.info({ ip, user: body.name.slice(0, 64) }, "sign-in refused");
      throw new HttpError(401, "unauthorized", "wrong user name or password");
    }
    access.counters.inc("kam_login_total", { result: "ok" });
    access.log.info({ ip, user: user.name }, "signed in");
    return signIn(ctx, "password", user, safeNext(body.next));
  },
});
