import { z } from "zod";
import { addMaintenanceWindow } from "../../incidents/maintenance";
import { HttpError } from "../respond";
import { defineRoute } from "../route";

/** one window as the API answers it */
export const MaintenanceWindowJson = z.object({
  id: z.number().int(), cluster: z.string(), from: z.string(), to: z.string(), reason: z.string(), vrid: z.number().int().nullable(), createdBy: z.string(),
});

/** POST /api/maintenance: a maintenance window for a cluster (incidents inside it are recorded, not notified). */
export default defineRoute({
  method: "POST", path: "/api/maintenance", success: 201, access: { action: "maintenance.write" },
  summary: "open a maintenance window on a cluster, or on one VRID of it: for some minutes, or until a time",
  request: {
    body: z
      .object({
        cluster: z.string().max(128),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
        minutes: z.number().positive().max(366 * 24 * 60).optional(),
        reason: z.string().max(500).optional(),
        /** only this VRID's incidents are silenced (default: the whole cluster) */
        vrid: z.number().int().min(1).max(255).optional(),
      })
      .refine((m) => (m.minutes !== undefined) !== (m.to !== undefined), "give either minutes or to"),
  },
  response: z.object({ ok: z.literal(true), window: MaintenanceWindowJson }),
  audit: { action: "maintenance.add", made: (a) => ({ kind: "maintenance", id: a.window.id }) },
  async handle(ctx) {
    const r = await addMaintenanceWindow(ctx.access.db, ctx.body, ctx.session!.user.name, ctx.scope);
    if (!r.ok) throw new HttpError(r.code === "not_found" ? 404 : 400, r.code, r.message);
    return { body: { ok: true as const, window: r.window } };
  },
});
