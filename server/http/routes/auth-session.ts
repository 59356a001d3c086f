import { z } from "zod";
import { csrfTokenFor } from "../../auth/csrf";
import { ROLES } from "../../auth/roles";
import { defineRoute } from "../route";

/** GET /api/auth/session: who is signed in, and the session's CSRF token. */
export default defineRoute({
  method: "GET", path: "/api/auth/session", access: { action: "any" },
  summary: "the signed-in user and the session's CSRF token",
  response: z.object({ ok: z.literal(true), user: z.object({ name: z.string(), role: z.enum(ROLES) }), csrf: z.string() }),
  async handle(ctx) {
    const s = ctx.session!;
    return Promise.resolve({ body: { ok: true as const, user: { name: s.user.name, role: s.user.role }, csrf: csrfTokenFor(s.secret) } });
  },
});
