import { revokeEnrolmentCode } from "../../ingest/enrolment";
import { IdParams, Revoked, defineRoute } from "../route";

/** DELETE /api/admin/enrolment-codes/:id: a pending code can no longer be used (a used code's token is revoked with the agent tokens). */
export default defineRoute({
  method: "DELETE", path: "/api/admin/enrolment-codes/:id", access: { action: "admin.tokens" },
  summary: "revoke a pending enrolment code (revoked false: it was not pending)",
  request: { params: IdParams }, response: Revoked,
  audit: { action: "enrolment-code.revoke", target: ({ params }) => ({ kind: "enrolment-code", id: params.id }) },
  async handle(ctx) {
    const revoked = await revokeEnrolmentCode(ctx.access.db, ctx.params.id);
    if (revoked) ctx.app.log.info({ codeId: ctx.params.id, by: ctx.session!.user.name }, "enrolment code revoked");
    return { body: { ok: true as const, revoked } };
  },
});
