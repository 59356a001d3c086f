import { z } from "zod";
import { registerLiveMetrics } from "../../metrics-live";
import { defineRoute } from "../route";

/** GET /metrics: Prometheus text (prom-client's registry of this process). */
export default defineRoute({
  method: "GET", path: "/metrics", access: "read",
  summary: "Prometheus metrics (text exposition format)",
  response: z.string(),
  async handle({ app, picture, detection }) {
    registerLiveMetrics(app, picture, detection);
    return { raw: await app.counters.registry.metrics(), contentType: app.counters.registry.contentType };
  },
});
