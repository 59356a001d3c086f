import { getHub } from "@/server/context";

export const dynamic = "force-dynamic";

export async function GET() {
  const hub = getHub();
  try {
    await hub.db.$queryRawUnsafe("SELECT 1");
    return Response.json({ ok: true, db: hub.dbKind });
  } catch {
    return Response.json({ ok: false, db: hub.dbKind, code: "unavailable", message: "the database does not answer" }, { status: 503 });
  }
}
