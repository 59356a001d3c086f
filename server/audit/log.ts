/**
 * The audit log (issue 15): who did what to which target, its state before and after (secrets masked,
 * ./redact.ts), when and from where. `audited` is the one way an action is recorded: the route table runs
 * every state-changing route through it (server/http/router.ts, from the route's `audit`), the admin CLIs
 * every state-changing command (server/cli/audit.ts). Only actions that succeeded are recorded; the entry
 * is written after the action, and a failure to write it fails the request or the command (never dropped).
 */
import type { Db } from "../db/database";
import { Prisma } from "../generated/prisma/client";
import { channelView } from "../incidents/channel-admin";
import { windowJson } from "../incidents/maintenance";
import { redact } from "./redact";

export const ACTOR_KINDS = ["user", "cli", "setup", "agent"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

export interface AuditActor {
  kind: ActorKind;
  name: string;
  /** the client's address; null for the CLI */
  ip: string | null;
}

export const TARGET_KINDS = ["user", "api-token", "wall-token", "agent-token", "maintenance", "webhook", "incident", "cluster", "session", "enrolment-code"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** what an action is done to: a user by id or name, a cluster by name, anything else by id */
export interface AuditTarget {
  kind: TargetKind;
  id: string | number | bigint;
}

export interface AuditSpec<R> {
  /** e.g. "user.add", "webhook.test" */
  action: string;
  /** the target as known before the action; null for a creation (nothing there yet) */
  target: AuditTarget | null;
  /** the target once done, from the action's result (a creation's new id); default `target` */
  made?: (result: R) => AuditTarget | null;
  /** recorded as `after` when there is no target to read back (a creation whose id is not known): the input, masked */
  input?: unknown;
  /** false: the action ran but did nothing (nothing by that id): not recorded. Default: it succeeded */
  succeeded?: (result: R) => boolean;
}

export const targetText = (t: AuditTarget | null) => (t ? `${t.kind}:${String(t.id)}` : "");

/** a user target: by id when a number, else by name */
const byUser = (id: string | number | bigint) => (typeof id === "string" ? { name: id } : { id: Number(id) });

/** The state of a target now, as the audit log keeps it (secrets masked); null when it does not exist. */
export async function snapshot(db: Db, t: AuditTarget): Promise<unknown> {
  const id = Number(t.id);
  switch (t.kind) {
    case "user": {
      const u = await db.user.findFirst({ where: byUser(t.id), include: { _count: { select: { sessions: true } } } });
      if (!u) return null;
      return { id: u.id, name: u.name, role: u.role, clusters: u.allClusters ? null : u.clusters, sessions: u._count.sessions, passwordChangedAt: u.updatedAt.toISOString() };
    }
    case "api-token":
    case "wall-token": {
      const row = t.kind === "api-token" ? await db.apiToken.findUnique({ where: { id } }) : await db.wallToken.findUnique({ where: { id } });
      if (!row) return null;
      return { id: row.id, name: row.name, prefix: row.prefix, clusters: row.allClusters ? null : row.clusters, revokedAt: row.revokedAt?.toISOString() ?? null };
    }
    case "agent-token": {
      const row = await db.agentToken.findUnique({ where: { id }, include: { cluster: true } });
      if (!row) return null;
      return { id: row.id, cluster: row.cluster.name, node: row.nodeName, label: row.label, prefix: row.prefix, revokedAt: row.revokedAt?.toISOString() ?? null };
    }
    case "enrolment-code": {
      const c = await db.enrolmentCode.findUnique({ where: { id } });
      if (!c) return null;
      return {
        id: c.id, cluster: c.clusterName, node: c.nodeName, prefix: c.prefix, createdBy: c.createdBy, expiresAt: c.expiresAt.toISOString(),
        usedAt: c.usedAt?.toISOString() ?? null, usedFrom: c.usedFrom, agentTokenId: c.agentTokenId, revokedAt: c.revokedAt?.toISOString() ?? null,
      };
    }
    case "maintenance": {
      const w = await db.maintenanceWindow.findUnique({ where: { id }, include: { cluster: true } });
      return w ? windowJson(w) : null;
    }
    case "webhook": {
      const h = await db.webhook.findUnique({ where: { id }, include: { cluster: true } });
      return h ? channelView(h) : null;
    }
    case "incident": {
      const i = await db.incident.findUnique({ where: { id: BigInt(t.id) }, include: { cluster: true } });
      if (!i) return null;
      return { id: i.id.toString(), cluster: i.cluster.name, kind: i.kind, silenced: i.silenced, ackedAt: i.ackedAt?.toISOString() ?? null, ackedBy: i.ackedBy, closedAt: i.closedAt?.toISOString() ?? null };
    }
    case "cluster": {
      const c = await db.cluster.findUnique({ where: { name: String(t.id) } });
      return c ? { name: c.name, settings: c.settings } : null;
    }
    case "session":
      return null;
  }
}

const json = (v: unknown) => (v === null || v === undefined ? Prisma.DbNull : (redact(v) as Prisma.InputJsonValue));

/**
 * Runs `run` and, when it succeeded, records who did it, the target's state before and after (read from
 * the database, masked) and when. Returns what `run` returned; its errors pass through unrecorded.
 */
export async function audited<R>(db: Db, actor: AuditActor, spec: AuditSpec<R>, run: () => Promise<R>, now: () => Date = () => new Date()): Promise<R> {
  const before = spec.target ? await snapshot(db, spec.target) : null;
  const result = await run();
  if (spec.succeeded && !spec.succeeded(result)) return result;
  const target = (spec.made ? spec.made(result) : null) ?? spec.target;
  const after = target ? await snapshot(db, target) : spec.input ?? null;
  await db.auditEntry.create({
    data: {
      at: now(), actorKind: actor.kind, actor: actor.name, action: spec.action, target: targetText(target),
      before: json(before), after: json(after), sourceIp: actor.ip,
    },
  });
  return result;
}

export interface AuditEntryJson {
  id: string;
  at: string;
  actorKind: string;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  sourceIp: string | null;
}

export interface AuditQuery {
  from?: Date;
  to?: Date;
  actor?: string;
  /** "user.add", or a group: "user" matches user and user.* */
  action?: string;
  /** entries older than this id (the `next` of the previous page) */
  before?: bigint;
  limit: number;
}

function whereOf(q: AuditQuery) {
  return {
    ...(q.from || q.to ? { at: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lt: q.to } : {}) } } : {}),
    ...(q.actor ? { actor: q.actor } : {}),
    ...(q.action ? { OR: [{ action: q.action }, { action: { startsWith: `${q.action}.` } }] } : {}),
    ...(q.before !== undefined ? { id: { lt: q.before } } : {}),
  };
}

/** newest first; `next` is the cursor of the following page (null: this was the last) */
export async function listAudit(db: Db, q: AuditQuery): Promise<{ entries: AuditEntryJson[]; next: string | null }> {
  const rows = await db.auditEntry.findMany({ where: whereOf(q), orderBy: { id: "desc" }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return {
    entries: page.map((r) => ({
      id: r.id.toString(), at: r.at.toISOString(), actorKind: r.actorKind, actor: r.actor, action: r.action, target: r.target,
      before: r.before ?? null, after: r.after ?? null, sourceIp: r.sourceIp,
    })),
    next: rows.length > q.limit ? page[page.length - 1].id.toString() : null,
  };
}
