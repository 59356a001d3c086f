import { z } from "zod";
import { lastDeliveries, listChannels } from "../../incidents/channel-admin";
import { defineRoute } from "../route";

/** one channel as the API shows it: its secret masked ("***" or null), its URL up to the host */
export const ChannelJson = z.object({
  id: z.number().int(), cluster: z.string(), format: z.string(), url: z.string(), enabled: z.boolean(), minSeverity: z.string(),
  secret: z.string().nullable(),
  email: z.object({ to: z.array(z.string()), from: z.string(), user: z.string().nullable(), ca: z.boolean() }).nullable(),
  createdAt: z.string(),
  lastTest: z.object({ at: z.string(), ok: z.boolean(), answer: z.string() }).nullable(),
});

/** one notification of the outbox to a channel */
export const DeliveryJson = z.object({
  incident: z.string(), event: z.string(), status: z.enum(["delivered", "failed", "retrying", "pending"]), attempts: z.number().int(),
  error: z.string().nullable(), createdAt: z.string(), at: z.string(),
});

/** GET /api/admin/channels: every alert channel with its last delivery (status and error) and its last test. */
export default defineRoute({
  method: "GET", path: "/api/admin/channels", access: { action: "admin.channels" },
  summary: "every alert channel (secrets masked, URLs up to their host) with its last delivery and last test",
  response: z.array(ChannelJson.extend({ lastDelivery: DeliveryJson.nullable() })),
  async handle(ctx) {
    const [channels, last] = await Promise.all([listChannels(ctx.app.db), lastDeliveries(ctx.app.db)]);
    return { body: channels.map((c) => ({ ...c, lastDelivery: last.get(c.id) ?? null })) };
  },
});
