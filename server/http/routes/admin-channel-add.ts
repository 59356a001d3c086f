import { z } from "zod";
import { addChannel } from "../../incidents/channel-admin";
import { SEVERITIES } from "../../incidents/channels";
import { WEBHOOK_FORMATS } from "../../incidents/notifier";
import { defineRoute } from "../route";
import { ChannelJson } from "./admin-channels-list";

/** an email channel's settings: recipients, sender, SMTP user, CA certificate(s) in PEM */
export const EmailBody = z.object({
  to: z.array(z.string().max(320)).min(1).max(50), from: z.string().max(320), user: z.string().max(200).optional(), ca: z.string().max(65536).optional(),
});

/**
 * POST /api/admin/channels: adds an alert channel. `secret`: the json signing secret (generated and
 * answered once when left out), the PagerDuty routing key, or the SMTP password; stored sealed, never answered.
 */
export default defineRoute({
  method: "POST", path: "/api/admin/channels", success: 201, access: { action: "admin.channels" },
  summary: "add an alert channel to a cluster (json, slack, alertmanager, pagerduty, email); a generated signing secret is answered once",
  request: {
    body: z.object({
      cluster: z.string().max(128), format: z.enum(WEBHOOK_FORMATS), url: z.string().max(2000).optional(), minSeverity: z.enum(SEVERITIES).optional(),
      secret: z.string().max(500).optional(), email: EmailBody.optional(),
    }),
  },
  response: z.object({ ok: z.literal(true), channel: ChannelJson, signingSecret: z.string().nullable() }),
  audit: { action: "webhook.add", made: (a) => ({ kind: "webhook", id: a.channel.id }) },
  async handle(ctx) {
    const r = await addChannel(ctx.app.db, () => ctx.channels.secrets, ctx.body);
    return { body: { ok: true as const, ...r } };
  },
});
