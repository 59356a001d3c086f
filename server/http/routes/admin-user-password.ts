import { z } from "zod";
import { setPassword } from "../../auth/store";
import { IdParams, Ok, defineRoute } from "../route";

/** POST /api/admin/users/:id/password */
export default defineRoute({
  method: "POST", path: "/api/admin/users/:id/password", access: { action: "admin.users" },
  summary: "set a user's password",
  request: { params: IdParams, body: z.object({ password: z.string().max(2000) }) }, response: Ok,
  audit: { action: "user.password", target: ({ params }) => ({ kind: "user", id: params.id }) },
  async handle(ctx) {
    await setPassword(ctx.access.db, ctx.params.id, ctx.body.password);
    return { body: { ok: true as const } };
  },
});
