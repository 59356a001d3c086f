import { getHub } from "@/server/context";

export const dynamic = "force-dynamic";

export async function GET() {
  return Response.json(getHub().clusters());
}
