import { z } from "zod";
import { HttpError } from "../respond";
import { defineRoute } from "../route";

/** GET /api/health: the database answers (public: load balancers and probes call it). */
export default defineRoute({
  method: "GET", path: "/api/health", access: "public",
  summary: "the server runs and its database answers (503 unavailable otherwise)",
  response: z.object({ ok: z.literal(true), db: z.enum(["postgres", "pglite"]) }),
  async handle({ app }) {
    try {
      await app.db.$queryRawUnsafe("SELECT 1");
    } catch {
      throw new HttpError(503, "unavailable", "the database does not answer", {}, { db: app.dbKind });
    }
    return { body: { ok: true as const, db: app.dbKind } };
  },
});
