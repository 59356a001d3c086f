import { removeChannel } from "../../incidents/channel-admin";
import { HttpError } from "../respond";
import { IdParams, Ok, defineRoute } from "../route";

/** DELETE /api/admin/channels/:id: the channel and its queued notifications. */
export default defineRoute({
  method: "DELETE", path: "/api/admin/channels/:id", access: { action: "admin.channels" },
  summary: "remove an alert channel (its queued notifications go with it)",
  request: { params: IdParams }, response: Ok,
  audit: { action: "webhook.remove", target: ({ params }) => ({ kind: "webhook", id: params.id }) },
  async handle(ctx) {
    if (!(await removeChannel(ctx.app.db, ctx.params.id))) throw new HttpError(404, "not_found", `no webhook ${ctx.params.id}`);
    return { body: { ok: true as const } };
  },
});
