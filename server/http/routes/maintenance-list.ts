import { z } from "zod";
import { listMaintenanceWindows } from "../../incidents/maintenance";
import { HttpError } from "../respond";
import { defineRoute } from "../route";
import { MaintenanceWindowJson } from "./maintenance-add";

const ListQuery = z.object({ cluster: z.string().min(1).max(128).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() });

/** GET /api/maintenance?cluster=&limit=: maintenance windows, newest start first (past, current and future ones). */
export default defineRoute({
  method: "GET", path: "/api/maintenance", access: "read",
  summary: "maintenance windows, newest start first: past, current and upcoming (within the caller's clusters)",
  request: { query: ListQuery }, response: z.array(MaintenanceWindowJson),
  async handle(ctx) {
    const q = ListQuery.safeParse(Object.fromEntries(ctx.url.searchParams));
    if (!q.success) throw new HttpError(400, "invalid_message", q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    return { body: await listMaintenanceWindows(ctx.app.db, ctx.scope, q.data) };
  },
});
