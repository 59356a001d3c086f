import { z } from "zod";
import { testChannel } from "../../incidents/channel-admin";
import { IdParams, defineRoute } from "../route";

/**
 * POST /api/admin/channels/:id/test: sends a test notification now (pagerduty: a trigger and its resolve),
 * as `npm run admin -- webhook test` does. A receiver that refuses is not an error of this request: the
 * answer says `delivered: false` with what the receiver (or the network) answered.
 */
export default defineRoute({
  method: "POST", path: "/api/admin/channels/:id/test", access: { action: "admin.channels" },
  summary: "send a test notification to a channel now: whether it was delivered and what the receiver answered",
  request: { params: IdParams },
  response: z.object({ ok: z.literal(true), delivered: z.boolean(), steps: z.array(z.object({ event: z.string(), ok: z.boolean(), answer: z.string() })) }),
  audit: { action: "webhook.test", target: ({ params }) => ({ kind: "webhook", id: params.id }) },
  async handle(ctx) {
    const r = await testChannel(ctx.app.db, () => ctx.channels.secrets, ctx.params.id, ctx.channels.publicUrl);
    return { body: { ok: true as const, delivered: r.ok, steps: r.steps } };
  },
});
