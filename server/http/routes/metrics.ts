import { z } from "zod";
import { registerLiveMetrics } from "../../metrics-live";
import { defineRoute } from "../route";

/** GET /metrics: Prometheus text (prom-client's registry of this process); its series span every cluster, so it is for unscoped readers only. */
export default defineRoute({
  method: "GET", path: "/metrics", access: "read", everyCluster: true,
  summary: "Prometheus metrics (text exposition format)",
  response: z.string(),
  async handle({ app, picture, detection }) {
    const live = registerLiveMetrics(app, picture, detection);
    return { raw: await live.metrics(), contentType: app.counters.registry.contentType };
  },
});
