import { getHub } from "@/server/context";
import { renderMetrics } from "@/server/metrics-text";

export const dynamic = "force-dynamic";

export async function GET() {
  return new Response(renderMetrics(getHub()), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
}
