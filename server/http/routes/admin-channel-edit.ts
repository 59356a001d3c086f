import { z } from "zod";
import { editChannel } from "../../incidents/channel-admin";
import { SEVERITIES } from "../../incidents/channels";
import { IdParams, defineRoute } from "../route";
import { EmailBody } from "./admin-channel-add";
import { ChannelJson } from "./admin-channels-list";

/** POST /api/admin/channels/:id: changes what the body names (enable or disable with `enabled`); a new secret replaces the stored one. */
export default defineRoute({
  method: "POST", path: "/api/admin/channels/:id", access: { action: "admin.channels" },
  summary: "edit an alert channel: URL, minimum severity, enabled, a new secret, email settings",
  request: {
    params: IdParams,
    body: z.object({
      url: z.string().max(2000).optional(), minSeverity: z.enum(SEVERITIES).optional(), enabled: z.boolean().optional(),
      secret: z.string().max(500).optional(), email: EmailBody.optional(),
    }),
  },
  response: z.object({ ok: z.literal(true), channel: ChannelJson }),
  audit: { action: "webhook.edit", target: ({ params }) => ({ kind: "webhook", id: params.id }) },
  async handle(ctx) {
    return { body: { ok: true as const, channel: await editChannel(ctx.app.db, () => ctx.channels.secrets, ctx.params.id, ctx.body) } };
  },
});
