import { getHub } from "@/server/context";
import { parseIncidentQuery } from "@/server/incidents/query";
import { listIncidentsJson } from "@/server/incidents/incident-store";

export const dynamic = "force-dynamic";

export async function GET(req: Request) {
  const q = parseIncidentQuery(new URL(req.url).searchParams);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  // the JSON text comes from PostgreSQL as is
  return new Response(await listIncidentsJson(getHub().db, q.query), { headers: { "content-type": "application/json" } });
}
