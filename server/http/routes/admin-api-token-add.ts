import { createApiToken } from "../../auth/store";
import { ClustersField, NameBody, NewSecret, defineRoute } from "../route";

/** POST /api/admin/api-tokens: a read-only API token (its secret is shown once); `clusters` limits what it reads (omitted or null: every cluster). */
export default defineRoute({
  method: "POST", path: "/api/admin/api-tokens", success: 201, access: { action: "admin.tokens" },
  summary: "create a read-only API token, optionally for some clusters only: its secret, shown once",
  request: { body: NameBody.extend({ clusters: ClustersField.optional() }) }, response: NewSecret,
  audit: { action: "api-token.create", made: (a) => ({ kind: "api-token", id: a.id }) },
  async handle(ctx) {
    const t = await createApiToken(ctx.access.db, ctx.body.name, ctx.session!.user.name, ctx.body.clusters ?? null);
    return { body: { ok: true as const, ...t } };
  },
});
