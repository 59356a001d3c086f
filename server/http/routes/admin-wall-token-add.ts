import { z } from "zod";
import { createWallToken } from "../../auth/store";
import { NameBody, NewSecret, defineRoute } from "../route";

/** POST /api/admin/wall-tokens: a NOC wall link (its secret is shown once). */
export default defineRoute({
  method: "POST", path: "/api/admin/wall-tokens", access: { action: "admin.tokens" },
  summary: "create a wall token: its secret and the /wall?token= link, shown once",
  request: { body: NameBody }, response: NewSecret.extend({ path: z.string() }),
  async handle(ctx) {
    const t = await createWallToken(ctx.access.db, ctx.body.name, ctx.session!.user.name);
    return { status: 201, body: { ok: true as const, ...t, path: `/wall?token=${t.token}` } };
  },
});
