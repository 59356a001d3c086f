import { revokeApiToken } from "../../auth/store";
import { IdParams, Revoked, defineRoute } from "../route";

/** DELETE /api/admin/api-tokens/:id */
export default defineRoute({
  method: "DELETE", path: "/api/admin/api-tokens/:id", access: { action: "admin.tokens" },
  summary: "revoke an API token (revoked: false when it already was)",
  request: { params: IdParams }, response: Revoked,
  audit: { action: "api-token.revoke", target: ({ params }) => ({ kind: "api-token", id: params.id }) },
  async handle(ctx) {
    return { body: { ok: true as const, revoked: await revokeApiToken(ctx.access.db, ctx.params.id) } };
  },
});
