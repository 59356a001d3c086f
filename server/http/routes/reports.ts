import { loadReport } from "../../stats/load";
import { ReportQueryString, parseReportQuery } from "../../stats/query";
import { ReportResponse } from "../../stats/report";
import { defineRoute, found, queryOf } from "../route";

/** GET /api/reports?cluster=&from=&to=: one cluster's report (the /reports page): the range's figures, per UTC day, availability per VRID, causes. */
export default defineRoute({
  method: "GET", path: "/api/reports", access: "read",
  summary: "one cluster over a range (default: the last 30 days): the /api/stats figures, the same per UTC day, availability per virtual router, incidents by cause",
  request: { query: ReportQueryString }, response: ReportResponse,
  async handle({ app, url, scope }) {
    const now = Date.now();
    const q = queryOf(parseReportQuery(url.searchParams, now));
    return { body: found(await loadReport(app.db, q.cluster, q.from, q.to, now, scope), `no cluster ${q.cluster}`) };
  },
});
