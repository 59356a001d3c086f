import { z } from "zod";
import { listApiTokens, listWallTokens } from "../../auth/store";
import { listTokens } from "../../ingest/tokens";
import { defineRoute } from "../route";

const iso = (d: Date | null) => d?.toISOString() ?? null;
const common = { id: z.number().int(), prefix: z.string(), createdAt: z.string().nullable(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() };

/** GET /api/admin/tokens: API, wall and agent tokens (never their secrets). */
export default defineRoute({
  method: "GET", path: "/api/admin/tokens", access: { action: "admin.tokens" },
  summary: "every API, wall and agent token (prefixes only); API and wall tokens with their clusters (null: every cluster)",
  response: z.object({
    api: z.array(z.object({ ...common, name: z.string(), createdBy: z.string(), clusters: z.array(z.string()).nullable() })),
    wall: z.array(z.object({ ...common, name: z.string(), createdBy: z.string(), sessions: z.number().int(), clusters: z.array(z.string()).nullable() })),
    agent: z.array(z.object({ ...common, cluster: z.string(), node: z.string().nullable(), label: z.string() })),
  }),
  async handle(ctx) {
    const db = ctx.access.db;
    const [api, wall, agent] = await Promise.all([listApiTokens(db), listWallTokens(db), listTokens(db)]);
    return {
      body: {
        api: api.map((t) => ({
          id: t.id, name: t.name, prefix: t.prefix, createdBy: t.createdBy, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt), clusters: t.clusters,
        })),
        wall: wall.map((t) => ({
          id: t.id, name: t.name, prefix: t.prefix, createdBy: t.createdBy, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt), sessions: t._count.sessions,
          clusters: t.clusters,
        })),
        agent: agent.map((t) => ({
          id: t.id, cluster: t.cluster.name, node: t.nodeName, label: t.label, prefix: t.prefix, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt),
        })),
      },
    };
  },
});
