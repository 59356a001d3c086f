import { loadStats } from "../../stats/load";
import { StatsQueryString, parseStatsQuery } from "../../stats/query";
import { StatsResponse } from "../../stats/types";
import { defineRoute, found, queryOf } from "../route";

/** GET /api/stats?cluster=&from=&to=: time without MASTER, in split brain, failovers, MTTR per cluster. */
export default defineRoute({
  method: "GET", path: "/api/stats", access: "read",
  summary: "per cluster over a range (default: the last 24 h): time without MASTER, in split brain, failovers, MTTR",
  request: { query: StatsQueryString }, response: StatsResponse,
  async handle({ app, url, scope }) {
    const now = Date.now();
    const q = queryOf(parseStatsQuery(url.searchParams, now));
    return { body: found(await loadStats(app.db, q, now, scope), `no cluster ${q.cluster}`) };
  },
});
