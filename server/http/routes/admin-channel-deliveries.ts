import { z } from "zod";
import { channelDeliveries } from "../../incidents/channel-admin";
import { IdParams, defineRoute } from "../route";
import { DeliveryJson } from "./admin-channels-list";

/** GET /api/admin/channels/:id/deliveries: the channel's delivery log, newest first (the 50 latest notifications). */
export default defineRoute({
  method: "GET", path: "/api/admin/channels/:id/deliveries", access: { action: "admin.channels" },
  summary: "a channel's 50 latest notifications: status, attempts, last error",
  request: { params: IdParams }, response: z.array(DeliveryJson),
  async handle(ctx) {
    return { body: await channelDeliveries(ctx.app.db, ctx.params.id) };
  },
});
