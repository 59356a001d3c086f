import { getHub } from "@/server/context";
import { parseIncidentQuery } from "@/server/incidents/query";
import { listIncidents } from "@/server/incidents/incident-store";

export const dynamic = "force-dynamic";

export async function GET(req: Request) {
  const q = parseIncidentQuery(new URL(req.url).searchParams);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  return Response.json(await listIncidents(getHub().db, q.query));
}
