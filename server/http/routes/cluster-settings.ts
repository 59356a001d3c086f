import { z } from "zod";
import { clusterSettings } from "../../incidents/detector-settings";
import { ClusterParams, defineRoute, found } from "../route";

const Settings = z.object({
  graceMs: z.number().nullable(), graceAdverts: z.number(), noMasterGraceMs: z.number().nullable(), flapCount: z.number(), flapWindowMs: z.number(),
  flapQuietMs: z.number(), offlineMs: z.number(), holdDownMs: z.number(), futureSkewMs: z.number(), deliveryAllowanceMs: z.number(),
});

/** `{ cluster, settings, effective }`: what is set for the cluster, and what detection runs with */
export const SettingsReply = z.object({ cluster: z.string(), settings: Settings.partial(), effective: Settings });

/** GET /api/clusters/:name/settings: the cluster's detector settings. */
export default defineRoute({
  method: "GET", path: "/api/clusters/:name/settings", access: "read",
  summary: "a cluster's detector settings: those set for it, and the effective ones (defaults included)",
  request: { params: ClusterParams }, response: SettingsReply,
  async handle(ctx) {
    const s = await clusterSettings(ctx.app.db, ctx.params.name, ctx.scope, { offlineMs: ctx.app.settings.offlineMs });
    return { body: found(s, `no cluster "${ctx.params.name}"`) };
  },
});
