import { removeMaintenanceWindow } from "../../incidents/maintenance";
import { HttpError } from "../respond";
import { IdParams, Ok, defineRoute } from "../route";

/** DELETE /api/maintenance/:id */
export default defineRoute({
  method: "DELETE", path: "/api/maintenance/:id", access: { action: "maintenance.write" },
  summary: "remove a maintenance window",
  request: { params: IdParams }, response: Ok,
  audit: { action: "maintenance.remove", target: ({ params }) => ({ kind: "maintenance", id: params.id }) },
  async handle(ctx) {
    if (!(await removeMaintenanceWindow(ctx.access.db, ctx.params.id, ctx.scope))) throw new HttpError(404, "not_found", `no maintenance window ${ctx.params.id}`);
    return { body: { ok: true as const } };
  },
});
