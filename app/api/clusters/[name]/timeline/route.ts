import { getHub } from "@/server/context";
import { parseTimelineQuery } from "@/server/timeline/query";
import { serverTiming } from "@/server/server-timing";
import { hubLastSeen, hubOfflineMs, loadTimeline } from "@/server/timeline/store";

export const dynamic = "force-dynamic";

/** GET /api/clusters/:name/timeline?from=&to=&width=: swimlanes per node x VRID, with incidents and data gaps. */
export async function GET(req: Request, ctx: { params: Promise<{ name: string }> }) {
  const t0 = performance.now();
  const { name } = await ctx.params;
  const now = Date.now();
  const q = parseTimelineQuery(name, new URL(req.url).searchParams, now);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  const hub = getHub();
  const body = await loadTimeline(hub.db, q.query, { offlineMs: hubOfflineMs(hub), now, lastSeen: hubLastSeen(hub, q.query.cluster) });
  if (!body) return Response.json({ ok: false, code: "not_found", message: `no cluster ${q.query.cluster}` }, { status: 404 });
  return Response.json(body, { headers: serverTiming(t0) });
}
