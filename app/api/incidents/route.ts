import { getHub } from "@/server/context";
import { parseIncidentQuery } from "@/server/incidents/query";
import { listIncidentsJson } from "@/server/incidents/incident-store";
import { serverTiming } from "@/server/server-timing";

export const dynamic = "force-dynamic";

export async function GET(req: Request) {
  const t0 = performance.now();
  const q = parseIncidentQuery(new URL(req.url).searchParams);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  // the JSON text comes from PostgreSQL as is
  const json = await listIncidentsJson(getHub().db, q.query);
  return new Response(json, { headers: { "content-type": "application/json", ...serverTiming(t0) } });
}
