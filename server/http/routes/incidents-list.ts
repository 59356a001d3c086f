import { z } from "zod";
import { IncidentMsg } from "../../protocol";
import { listIncidentsJson } from "../../incidents/incident-store";
import { IncidentQueryString, parseIncidentQuery } from "../../incidents/query";
import { serverTiming } from "../../server-timing";
import { defineRoute, queryOf } from "../route";

/** GET /api/incidents?cluster=&kind=&open=&from=&to=&limit=: newest first. */
export default defineRoute({
  method: "GET", path: "/api/incidents", access: "read+wall",
  summary: "incidents, newest first, filtered by cluster, kind, open, range",
  request: { query: IncidentQueryString }, response: z.array(IncidentMsg),
  async handle({ app, url, scope }) {
    const t0 = performance.now();
    // the JSON text comes from PostgreSQL as is; a cluster outside the scope lists nothing, as one that does not exist
    const raw = await listIncidentsJson(app.db, queryOf(parseIncidentQuery(url.searchParams)), scope);
    return { raw, contentType: "application/json", headers: serverTiming(t0) };
  },
});
