import { z } from "zod";
import { setClusterSettings, SettingsPatch } from "../../incidents/detector-settings";
import { ClusterParams, defineRoute } from "../route";
import { SettingsReply } from "./cluster-settings";

/**
 * POST /api/clusters/:name/settings: changes what the body names (null: back to the default). The running
 * detection applies it within seconds, on every replica, without a restart.
 */
export default defineRoute({
  method: "POST", path: "/api/clusters/:name/settings", access: { action: "admin.settings" },
  summary: "change a cluster's detector settings (null: the default again); applied by the running detection within seconds",
  request: { params: ClusterParams, body: SettingsPatch }, response: z.object({ ok: z.literal(true) }).extend(SettingsReply.shape),
  audit: { action: "settings.set", target: ({ params }) => ({ kind: "cluster", id: params.name }) },
  async handle(ctx) {
    const s = await setClusterSettings(ctx.app.db, ctx.params.name, ctx.body, ctx.scope, { offlineMs: ctx.app.settings.offlineMs });
    return { body: { ok: true as const, ...s } };
  },
});
