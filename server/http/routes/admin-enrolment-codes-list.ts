import { z } from "zod";
import { codeState, listEnrolmentCodes } from "../../ingest/enrolment";
import { defineRoute } from "../route";

/** GET /api/admin/enrolment-codes: the newest 200 codes with their state (never the codes themselves). */
export default defineRoute({
  method: "GET", path: "/api/admin/enrolment-codes", access: { action: "admin.tokens" },
  summary: "the newest enrolment codes (prefixes only) with their state: pending, used (and the agent token it gave), expired or revoked",
  response: z.array(z.object({
    id: z.number().int(), cluster: z.string(), node: z.string(), prefix: z.string(), state: z.enum(["pending", "used", "expired", "revoked"]),
    createdBy: z.string(), createdAt: z.string(), expiresAt: z.string(), usedAt: z.string().nullable(), usedFrom: z.string().nullable(),
    agentTokenId: z.number().int().nullable(), revokedAt: z.string().nullable(),
  })),
  async handle(ctx) {
    const now = new Date();
    const rows = await listEnrolmentCodes(ctx.access.db);
    return {
      body: rows.map((r) => ({
        id: r.id, cluster: r.clusterName, node: r.nodeName, prefix: r.prefix, state: codeState(r, now), createdBy: r.createdBy,
        createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt.toISOString(), usedAt: r.usedAt?.toISOString() ?? null, usedFrom: r.usedFrom,
        agentTokenId: r.agentTokenId, revokedAt: r.revokedAt?.toISOString() ?? null,
      })),
    };
  },
});
