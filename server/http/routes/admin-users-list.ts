import { z } from "zod";
import { ROLES } from "../../auth/roles";
import { listUsers } from "../../auth/store";
import { defineRoute } from "../route";

/** GET /api/admin/users */
export default defineRoute({
  method: "GET", path: "/api/admin/users", access: { action: "admin.users" },
  summary: "every user: role, clusters (null: every cluster), creation, last sign-in, open sessions, how they sign in (password, or oidc: the identity provider)",
  response: z.array(z.object({
    id: z.number().int(), name: z.string(), role: z.enum(ROLES), clusters: z.array(z.string()).nullable(), createdAt: z.string(), lastLoginAt: z.string().nullable(),
    sessions: z.number().int(),
    signIn: z.enum(["password", "oidc"]),
  })),
  async handle(ctx) {
    const rows = await listUsers(ctx.access.db);
    return { body: rows.map((u) => ({ ...u, createdAt: u.createdAt.toISOString(), lastLoginAt: u.lastLoginAt?.toISOString() ?? null })) };
  },
});
