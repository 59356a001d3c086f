import { z } from "zod";
import { revokeSessions } from "../../auth/store";
import { IdParams, defineRoute } from "../route";

/** DELETE /api/admin/users/:id/sessions: signs the user out everywhere (their /live sockets close at once). */
export default defineRoute({
  method: "DELETE", path: "/api/admin/users/:id/sessions", access: { action: "admin.users" },
  summary: "end every session of a user: how many",
  request: { params: IdParams }, response: z.object({ ok: z.literal(true), revoked: z.number().int() }),
  audit: { action: "session.revoke", target: ({ params }) => ({ kind: "user", id: params.id }) },
  async handle(ctx) {
    const { access, params } = ctx;
    return { body: { ok: true as const, revoked: await access.endingSessionsOf({ userId: params.id }, () => revokeSessions(access.db, { user: params.id })) } };
  },
});
