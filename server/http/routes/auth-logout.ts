import { deleteSession } from "../../auth/store";
import { Ok, defineRoute } from "../route";
import { sessionCookie } from "../sign-in";

/** POST /api/auth/logout: ends the session and closes its /live sockets. */
export default defineRoute({
  method: "POST", path: "/api/auth/logout", access: { action: "any" },
  summary: "sign out: the session ends, its live sockets close",
  response: Ok,
  // signing out ends a session, not a setting
  audit: false,
  async handle(ctx) {
    const s = ctx.session!;
    await deleteSession(ctx.access.db, s.id);
    ctx.access.endSessions([s.id]);
    return { body: { ok: true as const }, headers: { "set-cookie": sessionCookie(ctx, "", 0) } };
  },
});
