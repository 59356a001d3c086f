import { z } from "zod";
import { listAudit } from "../../audit/log";
import { AuditQueryString, parseAuditQuery } from "../../audit/query";
import { defineRoute, queryOf } from "../route";

export const AuditEntry = z.object({
  id: z.string(), at: z.string(), actorKind: z.string(), actor: z.string(), action: z.string(), target: z.string(),
  before: z.unknown(), after: z.unknown(), sourceIp: z.string().nullable(),
});

/** GET /api/audit?from=&to=&actor=&action=&before=&limit=: the audit log, newest first, a page at a time. */
export default defineRoute({
  method: "GET", path: "/api/audit", access: { action: "admin.audit" },
  summary: "the audit log, newest first: who changed what (before and after, secrets masked), when and from where; `next` is the before= of the next page",
  request: { query: AuditQueryString },
  response: z.object({ entries: z.array(AuditEntry), next: z.string().nullable() }),
  async handle(ctx) {
    return { body: await listAudit(ctx.app.db, queryOf(parseAuditQuery(ctx.url.searchParams))) };
  },
});
