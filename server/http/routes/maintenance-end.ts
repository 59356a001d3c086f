import { z } from "zod";
import { endMaintenanceWindow } from "../../incidents/maintenance";
import { found, IdParams, defineRoute } from "../route";
import { MaintenanceWindowJson } from "./maintenance-add";

/** POST /api/maintenance/:id/end: ends a window now (one not started yet is cancelled); incidents from now on are notified again. */
export default defineRoute({
  method: "POST", path: "/api/maintenance/:id/end", access: { action: "maintenance.write" },
  summary: "end a maintenance window early (now); an upcoming one is cancelled",
  request: { params: IdParams }, response: z.object({ ok: z.literal(true), window: MaintenanceWindowJson }),
  audit: { action: "maintenance.end", target: ({ params }) => ({ kind: "maintenance", id: params.id }) },
  async handle(ctx) {
    const window = found(await endMaintenanceWindow(ctx.app.db, ctx.params.id, ctx.scope), `no current or upcoming maintenance window ${ctx.params.id}`);
    return { body: { ok: true as const, window } };
  },
});
