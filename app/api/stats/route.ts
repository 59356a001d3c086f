import { getHub } from "@/server/context";
import { parseStatsQuery } from "@/server/stats/query";
import { loadStats } from "@/server/stats/load";

export const dynamic = "force-dynamic";

/** GET /api/stats?cluster=&from=&to=: time without MASTER, in split brain, failovers, MTTR per cluster. */
export async function GET(req: Request) {
  const now = Date.now();
  const q = parseStatsQuery(new URL(req.url).searchParams, now);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  const stats = await loadStats(getHub().db, q.query, now);
  if (!stats) return Response.json({ ok: false, code: "not_found", message: `no cluster ${q.query.cluster}` }, { status: 404 });
  return Response.json(stats);
}
