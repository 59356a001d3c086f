import { LogQueryString, parseLogQuery } from "../../timeline/query";
import { loadLogs } from "../../timeline/store";
import { LogLines } from "../../timeline/types";
import { ClusterParams, defineRoute, found, queryOf } from "../route";

/** GET /api/clusters/:name/logs?from=&to=&around=&node=&limit=: stored keepalived lines, oldest first. */
export default defineRoute({
  method: "GET", path: "/api/clusters/:name/logs", access: "read",
  summary: "stored keepalived log lines of a cluster (or one node), oldest first",
  request: { params: ClusterParams, query: LogQueryString }, response: LogLines,
  async handle({ app, params, url, scope }) {
    const q = queryOf(parseLogQuery(params.name, url.searchParams));
    return { body: found(await scope.ifAllows(q.cluster, () => loadLogs(app.db, q)), q.node ? `no node ${q.node} in cluster ${q.cluster}` : `no cluster ${q.cluster}`) };
  },
});
