/** Validates the query string of GET /api/audit and its CSV export; the CSV itself. */
import { z } from "zod";
import { describeZodError, type ErrorReply } from "../protocol";
import { toCsv } from "../../components/incidents/export";
import type { AuditEntryJson, AuditQuery } from "./log";

const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO-8601 time")
  .transform((s) => new Date(s));

/** a page of the list: 100 entries unless said, 1000 at most; the export: up to 100,000 */
export const AUDIT_PAGE = 100;
export const AUDIT_PAGE_MAX = 1000;
export const AUDIT_EXPORT_MAX = 100_000;

/** the query string of GET /api/audit (the export takes the same, without before and limit) */
export const AuditQueryString = z.object({
  from: isoDate.optional(),
  to: isoDate.optional(),
  actor: z.string().min(1).max(200).optional(),
  action: z.string().regex(/^[a-z][a-z.-]{0,63}$/, "an action like user.add, or a group like user").optional(),
  before: z.string().regex(/^\d{1,18}$/, "the next cursor of the previous page").transform(BigInt).optional(),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).optional(),
});

export function parseAuditQuery(params: URLSearchParams, maxLimit = AUDIT_PAGE_MAX): { ok: true; query: AuditQuery } | { ok: false; error: ErrorReply } {
  const r = AuditQueryString.safeParse(Object.fromEntries(params));
  if (!r.success) return { ok: false, error: { ok: false, code: "invalid_message", message: describeZodError(r.error) } };
  const { limit, ...q } = r.data;
  if (q.from && q.to && q.to <= q.from) return { ok: false, error: { ok: false, code: "invalid_message", message: "to must be after from" } };
  return { ok: true, query: { ...q, limit: Math.min(limit ?? (maxLimit === AUDIT_PAGE_MAX ? AUDIT_PAGE : maxLimit), maxLimit) } };
}

export const AUDIT_CSV_HEADER = ["id", "at", "actor_kind", "actor", "action", "target", "source_ip", "before", "after"] as const;

/** the entries as CSV (RFC 4180, formula-safe: components/incidents/export.ts); before and after as JSON text */
export function auditCsv(entries: readonly AuditEntryJson[]): string {
  return toCsv([
    [...AUDIT_CSV_HEADER],
    ...entries.map((e) => [e.id, e.at, e.actorKind, e.actor, e.action, e.target, e.sourceIp ?? "", e.before === null ? "" : JSON.stringify(e.before), e.after === null ? "" : JSON.stringify(e.after)]),
  ]);
}
