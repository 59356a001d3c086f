/** The answer that signs a user in (sign-in form and first-admin setup): a session cookie, the CSRF token. */
import { z } from "zod";
import { ROLES } from "../auth/roles";
import { csrfTokenFor } from "../auth/csrf";
import { PRE_COOKIE, SESSION_COOKIE } from "../auth/identity";
import { createSession } from "../auth/store";
import { cookie } from "./respond";
import type { JsonReply, RouteCtx } from "./route";

export const SignedIn = z.object({
  ok: z.literal(true),
  user: z.object({ name: z.string(), role: z.enum(ROLES) }),
  /** the session's CSRF token, for x-csrf-token */
  csrf: z.string(),
  /** where the browser goes next (a safe local path) */
  next: z.string(),
});

export function sessionCookie(ctx: Pick<RouteCtx, "access" | "req">, secret: string, maxMs: number): string {
  return cookie(SESSION_COOKIE, secret, { maxAgeS: maxMs / 1000, secure: ctx.access.secureCookies(ctx.req), sameSite: "Lax" });
}

export async function signIn(ctx: Pick<RouteCtx, "access" | "req">, userId: number, user: z.infer<typeof SignedIn>["user"], next: string): Promise<JsonReply<z.infer<typeof SignedIn>>> {
  const { secret } = await createSession(ctx.access.db, { userId }, ctx.access.policy, { ip: ctx.access.clientIp(ctx.req), userAgent: ctx.req.headers["user-agent"] });
  return {
    body: { ok: true as const, user, csrf: csrfTokenFor(secret), next },
    headers: { "set-cookie": [sessionCookie(ctx, secret, ctx.access.policy.maxMs), cookie(PRE_COOKIE, "", { maxAgeS: 0, secure: false, sameSite: "Strict" })] },
  };
}
