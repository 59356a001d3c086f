import { serverTiming } from "../../server-timing";
import { TimelineQueryString, parseTimelineQuery } from "../../timeline/query";
import { loadTimeline } from "../../timeline/store";
import { TimelineResponse } from "../../timeline/types";
import { ClusterParams, defineRoute, found, queryOf } from "../route";

/** GET /api/clusters/:name/timeline?from=&to=&width=: swimlanes per node x VRID, with incidents and data gaps. */
export default defineRoute({
  method: "GET", path: "/api/clusters/:name/timeline", access: "read",
  summary: "swimlanes per node and instance over a range (default: the last hour), with incidents and data gaps",
  request: { params: ClusterParams, query: TimelineQueryString }, response: TimelineResponse,
  async handle({ app, picture, params, url, scope }) {
    const t0 = performance.now();
    const now = Date.now();
    const q = queryOf(parseTimelineQuery(params.name, url.searchParams, now));
    const body = await scope.ifAllows(q.cluster, () => loadTimeline(app.db, q, { offlineMs: picture.offlineMs, now, lastSeen: picture.lastSeen(q.cluster) }));
    return { body: found(body, `no cluster ${q.cluster}`), headers: serverTiming(t0) };
  },
});
