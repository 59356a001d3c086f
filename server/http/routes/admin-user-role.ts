import { z } from "zod";
import { setRole } from "../../auth/store";
import { ClustersField, IdParams, UserReply, defineRoute } from "../route";

/**
 * POST /api/admin/users/:id/role: the role and, with `clusters`, the clusters the user may see (null:
 * every cluster; omitted: unchanged). Applies at once, to the user's open /live sockets too.
 */
export default defineRoute({
  method: "POST", path: "/api/admin/users/:id/role", access: { action: "admin.users" },
  summary: "change a user's role and optionally their clusters (the last admin stays an admin)",
  request: { params: IdParams, body: z.object({ role: z.string().max(20), clusters: ClustersField.optional() }) }, response: UserReply,
  audit: { action: "user.role", target: ({ params }) => ({ kind: "user", id: params.id }) },
  async handle(ctx) {
    const user = await setRole(ctx.access.db, ctx.params.id, ctx.body.role, ctx.body.clusters);
    await ctx.access.scopeChanged({ userId: user.id });
    return { body: { ok: true as const, user } };
  },
});
