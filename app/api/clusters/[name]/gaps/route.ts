import { getHub } from "@/server/context";
import { loadGaps } from "@/server/timeline/gaps";
import { parseTimelineQuery } from "@/server/timeline/query";

export const dynamic = "force-dynamic";

/**
 * GET /api/clusters/:name/gaps?from=&to=: records the cluster's agents reported
 * lost in the range (outbox full, refused records, unreadable sources), oldest
 * first. Same range rules as the timeline (default: the last hour, at most 31 days).
 */
export async function GET(req: Request, ctx: { params: Promise<{ name: string }> }) {
  const { name } = await ctx.params;
  const q = parseTimelineQuery(name, new URL(req.url).searchParams);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  const r = await loadGaps(getHub().db, q.query.cluster, q.query.from, q.query.to);
  if (!r) return Response.json({ ok: false, code: "not_found", message: `no cluster ${q.query.cluster}` }, { status: 404 });
  return Response.json({ from: new Date(q.query.from).toISOString(), to: new Date(q.query.to).toISOString(), ...r });
}
