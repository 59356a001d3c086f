import { z } from "zod";
import { IncidentMsg } from "../../protocol";
import { getIncident } from "../../incidents/incident-store";
import { defineRoute, found } from "../route";

export const IncidentParams = z.object({ id: z.string().regex(/^\d{1,18}$/, "incident id must be a number") });

/** GET /api/incidents/:id: one incident with its full evidence. */
export default defineRoute({
  method: "GET", path: "/api/incidents/:id", access: "read",
  summary: "one incident with its full evidence",
  request: { params: IncidentParams }, response: IncidentMsg,
  async handle({ app, params, scope }) {
    return { body: found(await getIncident(app.db, BigInt(params.id), scope), `no incident ${params.id}`) };
  },
});
