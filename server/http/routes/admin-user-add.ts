import { z } from "zod";
import { createUser } from "../../auth/store";
import { UserReply, defineRoute } from "../route";

/** POST /api/admin/users */
export default defineRoute({
  method: "POST", path: "/api/admin/users", access: { action: "admin.users" },
  summary: "create a user with a role and a password",
  request: { body: z.object({ name: z.string().max(200), role: z.string().max(20), password: z.string().max(2000) }) }, response: UserReply,
  async handle(ctx) {
    const b = ctx.body;
    return { status: 201, body: { ok: true as const, user: await createUser(ctx.access.db, b.name, b.role, b.password) } };
  },
});
