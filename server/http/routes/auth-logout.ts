import { Ok, defineRoute } from "../route";
import { signOut } from "../sign-in";

/** POST /api/auth/logout: ends the session and closes its /live sockets. */
export default defineRoute({
  method: "POST", path: "/api/auth/logout", access: { action: "any" },
  summary: "sign out: the session ends, its live sockets close",
  response: Ok,
  // recorded by signOut (../sign-in.ts, auth.logout)
  audit: false,
  async handle(ctx) {
    return { body: { ok: true as const }, headers: { "set-cookie": await signOut(ctx, ctx.session!) } };
  },
});
