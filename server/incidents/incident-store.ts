/**
 * Persistence and API shape of incidents. The detectors identify an incident
 * by a stable key; storing is an upsert on that key, so the live run, a
 * restart and a replay never duplicate an incident.
 */
import type { Db } from "../db/database";
import type { Incident, IncidentKind } from "../detect/types";
import type { IncidentMsg } from "../protocol";

export type ApiIncident = IncidentMsg;

type Row = {
  id: bigint;
  kind: string;
  severity: string;
  vrid: number | null;
  instances: unknown;
  nodes: string[];
  openedAt: Date;
  closedAt: Date | null;
  causeCode: string;
  causeSummary: string;
  evidence: unknown;
  silenced: boolean;
  cluster: { name: string };
};

export function toApi(r: Row): ApiIncident {
  const evidence = (r.evidence as { node: string; at: number; line: string; kind: string }[]) ?? [];
  return {
    id: String(r.id),
    cluster: r.cluster.name,
    kind: r.kind as IncidentKind,
    severity: r.severity as IncidentMsg["severity"],
    vrid: r.vrid,
    instances: (r.instances as Record<string, string>) ?? {},
    nodes: r.nodes,
    openedAt: r.openedAt.toISOString(),
    closedAt: r.closedAt ? r.closedAt.toISOString() : null,
    silenced: r.silenced,
    cause: {
      code: r.causeCode,
      summary: r.causeSummary,
      evidence: evidence.map((e) => ({ node: e.node, at: new Date(e.at).toISOString(), line: e.line, kind: e.kind })),
    },
  };
}

/** Insert or update by key; returns the stored row's id and whether it was new. */
export async function upsertIncident(db: Db, clusterId: number, inc: Incident, silenced: boolean): Promise<{ id: bigint; created: boolean }> {
  const now = new Date();
  const data = {
    kind: inc.kind,
    severity: inc.severity,
    vrid: inc.vrid,
    instances: inc.instances,
    nodes: inc.nodes,
    openedAt: new Date(inc.openedAt),
    closedAt: inc.closedAt == null ? null : new Date(inc.closedAt),
    causeCode: inc.cause.code,
    causeSummary: inc.cause.summary,
    evidence: inc.evidence as unknown as object,
    updatedAt: now,
  };
  const existing = await db.incident.findUnique({ where: { dedupKey: inc.key }, select: { id: true } });
  if (existing) {
    await db.incident.update({ where: { id: existing.id }, data });
    return { id: existing.id, created: false };
  }
  const row = await db.incident.create({ data: { ...data, clusterId, dedupKey: inc.key, silenced } });
  return { id: row.id, created: true };
}

export interface IncidentQuery {
  cluster?: string;
  kind?: string;
  open?: boolean;
  from?: Date;
  to?: Date;
  limit?: number;
}

export async function listIncidents(db: Db, q: IncidentQuery): Promise<ApiIncident[]> {
  const rows = await db.incident.findMany({
    where: {
      ...(q.cluster ? { cluster: { name: q.cluster } } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.open === true ? { closedAt: null } : q.open === false ? { NOT: { closedAt: null } } : {}),
      // overlapping the range: opened before its end, and not closed before its start
      ...(q.to ? { openedAt: { lte: q.to } } : {}),
      ...(q.from ? { OR: [{ closedAt: null }, { closedAt: { gte: q.from } }] } : {}),
    },
    include: { cluster: { select: { name: true } } },
    orderBy: [{ openedAt: "desc" }, { id: "desc" }],
    take: Math.min(q.limit ?? 500, 5000),
  });
  return rows.map(toApi);
}

export async function getIncident(db: Db, id: bigint): Promise<ApiIncident | null> {
  const row = await db.incident.findUnique({ where: { id }, include: { cluster: { select: { name: true } } } });
  return row ? toApi(row) : null;
}
