import { revokeWallToken } from "../../auth/store";
import { IdParams, Revoked, defineRoute } from "../route";

/** DELETE /api/admin/wall-tokens/:id: the walls showing it go dark at once. */
export default defineRoute({
  method: "DELETE", path: "/api/admin/wall-tokens/:id", access: { action: "admin.tokens" },
  summary: "revoke a wall token and end its sessions",
  request: { params: IdParams }, response: Revoked,
  audit: { action: "wall-token.revoke", target: ({ params }) => ({ kind: "wall-token", id: params.id }) },
  async handle({ access, params }) {
    const revoked = await access.endingSessionsOf({ wallTokenId: params.id }, () => revokeWallToken(access.db, params.id));
    return { body: { ok: true as const, revoked } };
  },
});
