import type { Metadata } from "next";
import { headers } from "next/headers";
import { IDENTITY } from "@/server/auth/identity";
import { ClusterScope } from "@/server/auth/scope";
import { serverParts } from "@/server/context";
import { listIncidents } from "@/server/incidents/incident-store";
import { loadStats } from "@/server/stats/load";
import { IncidentReview } from "@/components/incidents/IncidentReview";
import { parseFilters, statsRange } from "@/components/incidents/filters";

export const metadata: Metadata = { title: "Incidents · keepalived monitor" };
export const dynamic = "force-dynamic";

/**
 * Incident review: filters from the URL, the first list and statistics loaded here, of the clusters the
 * signed-in user may see (the gate's x-kam-scope); the client follows /live.
 */
export default async function IncidentsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { filters, problems } = parseFilters(await searchParams);
  const { app, picture } = serverParts();
  const scope = ClusterScope.fromHeader((await headers()).get(IDENTITY.scope));
  const now = Date.now();
  const range = statsRange(filters, now);
  const incidents = await listIncidents(app.db, {
    cluster: filters.cluster ?? undefined,
    kind: filters.kind ?? undefined,
    open: filters.open ?? undefined,
    from: filters.from ? new Date(filters.from) : undefined,
    to: filters.to ? new Date(filters.to) : undefined,
  }, scope);
  const stats = await loadStats(app.db, { cluster: filters.cluster ?? undefined, from: Date.parse(range.from), to: Date.parse(range.to) }, now, scope);
  return (
    <>
      <h1 className="mb-3 text-xl font-bold">Incidents</h1>
      <IncidentReview
        filters={filters}
        problems={problems}
        incidents={incidents}
        stats={stats}
        clusters={scope.filter(picture.clusters(), (c) => c.name).map((c) => c.name)}
        renderedAt={now}
      />
    </>
  );
}
