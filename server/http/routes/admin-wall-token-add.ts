import { z } from "zod";
import { createWallToken } from "../../auth/store";
import { ClustersField, NameBody, NewSecret, defineRoute } from "../route";

/** POST /api/admin/wall-tokens: a NOC wall link (its secret is shown once); `clusters` limits what the wall shows (omitted or null: every cluster). */
export default defineRoute({
  method: "POST", path: "/api/admin/wall-tokens", success: 201, access: { action: "admin.tokens" },
  summary: "create a wall token, optionally for some clusters only: its secret and the /wall?token= link, shown once",
  request: { body: NameBody.extend({ clusters: ClustersField.optional() }) }, response: NewSecret.extend({ path: z.string() }),
  audit: { action: "wall-token.create", made: (a) => ({ kind: "wall-token", id: a.id }) },
  async handle(ctx) {
    const t = await createWallToken(ctx.access.db, ctx.body.name, ctx.session!.user.name, ctx.body.clusters ?? null);
    return { body: { ok: true as const, ...t, path: `/wall?token=${t.token}` } };
  },
});
