import { createApiToken } from "../../auth/store";
import { NameBody, NewSecret, defineRoute } from "../route";

/** POST /api/admin/api-tokens: a read-only API token (its secret is shown once). */
export default defineRoute({
  method: "POST", path: "/api/admin/api-tokens", access: { action: "admin.tokens" },
  summary: "create a read-only API token: its secret, shown once",
  request: { body: NameBody }, response: NewSecret,
  async handle(ctx) {
    const t = await createApiToken(ctx.access.db, ctx.body.name, ctx.session!.user.name);
    return { status: 201, body: { ok: true as const, ...t } };
  },
});
