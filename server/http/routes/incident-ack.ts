import { IncidentMsg } from "../../protocol";
import { acknowledgeIncident } from "../../incidents/incident-store";
import { HttpError } from "../respond";
import { defineRoute } from "../route";
import { IncidentParams } from "./incident-get";

/** POST /api/incidents/:id/ack: an operator acknowledges an incident; browsers get the update live. */
export default defineRoute({
  method: "POST", path: "/api/incidents/:id/ack", access: { action: "incident.ack" },
  summary: "acknowledge an incident: the incident with ackedAt and ackedBy",
  request: { params: IncidentParams }, response: IncidentMsg,
  audit: { action: "incident.ack", target: ({ params }) => ({ kind: "incident", id: params.id }) },
  async handle(ctx) {
    const inc = await acknowledgeIncident(ctx.access.db, BigInt(ctx.params.id), ctx.session!.user.name, ctx.scope);
    if (!inc) throw new HttpError(404, "not_found", `no incident ${ctx.params.id}`);
    ctx.app.bus.emit("incidentChanged", { cluster: inc.cluster, incident: inc, change: "updated" });
    return { body: inc };
  },
});
