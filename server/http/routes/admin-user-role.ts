import { z } from "zod";
import { setRole } from "../../auth/store";
import { IdParams, UserReply, defineRoute } from "../route";

/** POST /api/admin/users/:id/role */
export default defineRoute({
  method: "POST", path: "/api/admin/users/:id/role", access: { action: "admin.users" },
  summary: "change a user's role (the last admin stays an admin)",
  request: { params: IdParams, body: z.object({ role: z.string().max(20) }) }, response: UserReply,
  async handle(ctx) {
    return { body: { ok: true as const, user: await setRole(ctx.access.db, ctx.params.id, ctx.body.role) } };
  },
});
