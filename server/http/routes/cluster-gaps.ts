import { loadGaps } from "../../timeline/gaps";
import { RangeQueryString, parseTimelineQuery } from "../../timeline/query";
import { GapsResponse } from "../../timeline/types";
import { ClusterParams, defineRoute, found, queryOf } from "../route";

/**
 * GET /api/clusters/:name/gaps?from=&to=: records the cluster's agents reported
 * lost in the range (outbox full, refused records, unreadable sources), oldest
 * first. Same range rules as the timeline (default: the last hour, at most 31 days).
 */
export default defineRoute({
  method: "GET", path: "/api/clusters/:name/gaps", access: "read",
  summary: "records the cluster's agents reported lost in a range",
  request: { params: ClusterParams, query: RangeQueryString }, response: GapsResponse,
  async handle({ app, params, url, scope }) {
    const { cluster, from, to } = queryOf(parseTimelineQuery(params.name, url.searchParams));
    const r = found(await scope.ifAllows(cluster, () => loadGaps(app.db, cluster, from, to)), `no cluster ${cluster}`);
    return { body: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...r } };
  },
});
