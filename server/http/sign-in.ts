/**
 * Signing in and out: the one place a user session starts (sign-in form, first-admin setup, the identity
 * provider's callback) and ends (sign-out), and where both are recorded in the audit log
 * (server/audit/log.ts): `auth.login.password`, `auth.login.oidc` (with the user made or re-roled by the
 * provider's groups) and `auth.logout`, by the user, from the client's address. The setup link's sign-in is
 * recorded as the route's `auth.setup`. Refused sign-ins are counted (kam_login_total, kam_oidc_login_total),
 * not recorded: the audit log holds what succeeded.
 */
import { z } from "zod";
import { ROLES } from "../auth/roles";
import { csrfTokenFor } from "../auth/csrf";
import { PRE_COOKIE, SESSION_COOKIE } from "../auth/identity";
import { createSession, deleteSession, type UserInfo } from "../auth/store";
import { audited, type AuditTarget } from "../audit/log";
import { cookie } from "./respond";
import type { JsonReply, RouteCtx, UserSession } from "./route";

export const SignedIn = z.object({
  ok: z.literal(true),
  user: z.object({ name: z.string(), role: z.enum(ROLES) }),
  /** the session's CSRF token, for x-csrf-token */
  csrf: z.string(),
  /** where the browser goes next (a safe local path) */
  next: z.string(),
});

type Ctx = Pick<RouteCtx, "access" | "req">;

export function sessionCookie(ctx: Ctx, secret: string, maxMs: number): string {
  return cookie(SESSION_COOKIE, secret, { maxAgeS: maxMs / 1000, secure: ctx.access.secureCookies(ctx.req), sameSite: "Lax" });
}

export type SignInMethod = "password" | "setup" | "oidc";

/**
 * Runs `user` (finds or makes the user) and opens a session for it, recorded as auth.login.<method> by
 * `actor` (the user's name) with `target` (the user as known before: null when `user` creates it).
 * Returns the user and the Set-Cookie values.
 */
export async function openSession(
  ctx: Ctx,
  method: SignInMethod,
  actor: string,
  target: AuditTarget | null,
  user: () => Promise<UserInfo>,
): Promise<{ user: UserInfo; secret: string; cookies: string[] }> {
  const { access, req } = ctx;
  const run = async () => {
    const u = await user();
    const { secret } = await createSession(access.db, { userId: u.id }, access.policy, { ip: access.clientIp(req), userAgent: req.headers["user-agent"] });
    return { user: u, secret };
  };
  const r =
    method === "setup"
      ? await run()
      : await audited(access.db, { kind: "user", name: actor, ip: access.clientIp(req) }, {
          action: `auth.login.${method}`, target, made: (res) => ({ kind: "user", id: res.user.id }),
        }, run);
  return { ...r, cookies: [sessionCookie(ctx, r.secret, access.policy.maxMs), cookie(PRE_COOKIE, "", { maxAgeS: 0, secure: false, sameSite: "Strict" })] };
}

/** The JSON answer that signs a user in (sign-in form and first-admin setup): a session cookie, the CSRF token. */
export async function signIn(ctx: Ctx, method: "password" | "setup", user: UserInfo, next: string): Promise<JsonReply<z.infer<typeof SignedIn>>> {
  const s = await openSession(ctx, method, user.name, { kind: "user", id: user.id }, () => Promise.resolve(user));
  return {
    body: { ok: true as const, user: { name: user.name, role: user.role }, csrf: csrfTokenFor(s.secret), next },
    headers: { "set-cookie": s.cookies },
  };
}

/** Ends the session (and its /live sockets), recorded as auth.logout; the Set-Cookie that clears the cookie. */
export async function signOut(ctx: Ctx, s: UserSession): Promise<string> {
  const { access } = ctx;
  await audited(access.db, { kind: "user", name: s.user.name, ip: access.clientIp(ctx.req) }, { action: "auth.logout", target: { kind: "user", id: s.user.id } }, async () => {
    await deleteSession(access.db, s.id);
    access.endSessions([s.id]);
  });
  return sessionCookie(ctx, "", 0);
}
