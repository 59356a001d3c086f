import { getHub } from "@/server/context";
import { parseLogQuery } from "@/server/timeline/query";
import { loadLogs } from "@/server/timeline/store";

export const dynamic = "force-dynamic";

/** GET /api/clusters/:name/logs?from=&to=&around=&node=&limit=: stored keepalived lines, oldest first. */
export async function GET(req: Request, ctx: { params: Promise<{ name: string }> }) {
  const { name } = await ctx.params;
  const q = parseLogQuery(name, new URL(req.url).searchParams);
  if (!q.ok) return Response.json(q.error, { status: 400 });
  const lines = await loadLogs(getHub().db, q.query);
  if (!lines) {
    const what = q.query.node ? `no node ${q.query.node} in cluster ${q.query.cluster}` : `no cluster ${q.query.cluster}`;
    return Response.json({ ok: false, code: "not_found", message: what }, { status: 404 });
  }
  return Response.json(lines);
}
