import { revokeToken } from "../../ingest/tokens";
import { IdParams, Revoked, defineRoute } from "../route";

/** DELETE /api/admin/agent-tokens/:id: its agents are disconnected at once. */
export default defineRoute({
  method: "DELETE", path: "/api/admin/agent-tokens/:id", access: { action: "admin.tokens" },
  summary: "revoke an agent token and disconnect its agents",
  request: { params: IdParams }, response: Revoked,
  audit: { action: "agent-token.revoke", target: ({ params }) => ({ kind: "agent-token", id: params.id }) },
  async handle(ctx) {
    const revoked = await revokeToken(ctx.access.db, ctx.params.id);
    ctx.hooks.agentTokenRevoked(ctx.params.id);
    return { body: { ok: true as const, revoked } };
  },
});
