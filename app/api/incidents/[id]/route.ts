import { getHub } from "@/server/context";
import { getIncident } from "@/server/incidents/incident-store";

export const dynamic = "force-dynamic";

export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }) {
  const { id } = await ctx.params;
  if (!/^\d{1,18}$/.test(id)) {
    return Response.json({ ok: false, code: "invalid_message", message: "incident id must be a number" }, { status: 400 });
  }
  const inc = await getIncident(getHub().db, BigInt(id));
  if (!inc) return Response.json({ ok: false, code: "not_found", message: `no incident ${id}` }, { status: 404 });
  return Response.json(inc);
}
