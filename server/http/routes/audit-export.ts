import { z } from "zod";
import { listAudit } from "../../audit/log";
import { AUDIT_EXPORT_MAX, AuditQueryString, auditCsv, parseAuditQuery } from "../../audit/query";
import { defineRoute, queryOf } from "../route";

/** GET /api/audit/export?from=&to=&actor=&action=: the filtered audit log as a CSV file (up to 100,000 entries). */
export default defineRoute({
  method: "GET", path: "/api/audit/export", access: { action: "admin.audit" },
  summary: "the audit log as CSV (same filters as /api/audit; newest first, up to 100,000 entries)",
  request: { query: AuditQueryString }, response: z.string(), produces: "text/csv",
  async handle(ctx) {
    const { entries } = await listAudit(ctx.app.db, queryOf(parseAuditQuery(ctx.url.searchParams, AUDIT_EXPORT_MAX)));
    const day = new Date().toISOString().slice(0, 10);
    return { raw: auditCsv(entries), contentType: "text/csv; charset=utf-8", headers: { "content-disposition": `attachment; filename="audit-${day}.csv"` } };
  },
});
