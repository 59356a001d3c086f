import { z } from "zod";
import { ClusterSummary } from "../../protocol";
import { defineRoute } from "../route";

/** GET /api/clusters: every cluster's current picture (the live picture's, in memory), of the clusters the caller may see. */
export default defineRoute({
  method: "GET", path: "/api/clusters", access: "read+wall",
  summary: "every cluster: status, nodes, instances, VIPs held, open incidents",
  response: z.array(ClusterSummary),
  async handle({ picture, scope }) {
    return Promise.resolve({ body: scope.filter(picture.clusters(), (c) => c.name) });
  },
});
