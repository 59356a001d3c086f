import type { Metadata } from "next";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { IDENTITY } from "@/server/auth/identity";
import { ClusterScope } from "@/server/auth/scope";
import { serverParts } from "@/server/context";
import { getIncident } from "@/server/incidents/incident-store";
import { INCIDENT_KIND_LOOK } from "@/components/status";
import { IncidentDetail } from "@/components/incidents/IncidentDetail";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

/** the incident, when its cluster is one the signed-in user may see (the gate's x-kam-scope); else not found */
async function load(id: string) {
  if (!/^\d{1,18}$/.test(id)) return null;
  const scope = ClusterScope.fromHeader((await headers()).get(IDENTITY.scope));
  return getIncident(serverParts().app.db, BigInt(id), scope);
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const inc = await load((await params).id);
  return { title: inc ? `${INCIDENT_KIND_LOOK[inc.kind].label} on ${inc.cluster} · keepalived monitor` : "Incident not found" };
}

/** One incident, loaded here; the client component follows it live. */
export default async function IncidentPage({ params }: Props) {
  const inc = await load((await params).id);
  if (!inc) notFound();
  return <IncidentDetail initial={inc} renderedAt={Date.now()} />;
}
