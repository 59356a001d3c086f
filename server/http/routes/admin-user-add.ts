import { z } from "zod";
import { createUser } from "../../auth/store";
import { ClustersField, UserReply, defineRoute } from "../route";

/** POST /api/admin/users: `clusters` limits a viewer or operator to those clusters (omitted or null: every cluster). */
export default defineRoute({
  method: "POST", path: "/api/admin/users", success: 201, access: { action: "admin.users" },
  summary: "create a user with a role, a password and optionally the clusters they may see",
  request: { body: z.object({ name: z.string().max(200), role: z.string().max(20), password: z.string().max(2000), clusters: ClustersField.optional() }) }, response: UserReply,
  audit: { action: "user.add", made: (a) => ({ kind: "user", id: a.user.id }) },
  async handle(ctx) {
    const b = ctx.body;
    return { body: { ok: true as const, user: await createUser(ctx.access.db, b.name, b.role, b.password, b.clusters ?? null) } };
  },
});
