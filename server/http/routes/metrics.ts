import { z } from "zod";
import { renderMetrics } from "../../metrics-text";
import { defineRoute } from "../route";

/** GET /metrics: Prometheus text. */
export default defineRoute({
  method: "GET", path: "/metrics", access: "read",
  summary: "Prometheus metrics (text exposition format)",
  response: z.string(),
  async handle({ app, picture, detection }) {
    return Promise.resolve({ raw: renderMetrics(app, picture, detection), contentType: "text/plain; version=0.0.4; charset=utf-8" });
  },
});
