import { ENROL_PATH, EnrolReply, EnrolRequest } from "../../protocol";
import { redeemEnrolmentCode } from "../../ingest/enrolment";
import { HttpError } from "../respond";
import { defineRoute } from "../route";

/**
 * POST /api/enrol: an agent started with a one-time enrolment code exchanges it for its per-node agent token
 * (server/ingest/enrolment.ts). Public (the code is the credential, 256 random bits); refusals are typed
 * (unauthorized, enrolment_used, enrolment_expired, enrolment_revoked, forbidden for another node name),
 * counted in kam_enrolments_total{result}, and spend the client address's allowance of refusals
 * (Access.enrolFailures): past it the answer is rate_limited.
 */
export default defineRoute({
  method: "POST", path: ENROL_PATH, success: 201, access: "public",
  summary: "an agent exchanges its one-time enrolment code for its per-node agent token (once; the token is shown this once)",
  request: { body: EnrolRequest }, response: EnrolReply,
  audit: { action: "enrolment-code.redeem", actorKind: "agent", actor: ({ body }) => body.node, made: (a) => (a.codeId === undefined ? null : { kind: "enrolment-code", id: a.codeId }) },
  async handle(ctx) {
    const { access, app } = ctx;
    const ip = access.clientIp(ctx.req);
    access.warnUntrustedProxy(ctx.req);
    if (access.enrolFailures.over(ip)) {
      app.counters.inc("kam_enrolments_total", { result: "rate_limited" });
      const wait = access.enrolFailures.retryAfter(ip);
      throw new HttpError(429, "rate_limited", `too many refused enrolment attempts from this address: retry in ${wait} s`, { "retry-after": String(wait) });
    }
    const r = await redeemEnrolmentCode(access.db, { code: ctx.body.code, node: ctx.body.node, from: ip, agentId: ctx.body.agentId });
    if (!r.ok) {
      access.enrolFailures.hit(ip);
      app.counters.inc("kam_enrolments_total", { result: r.refusal.code });
      app.log.warn({ ip, node: ctx.body.node, codeId: r.codeId, code: r.refusal.code }, `enrolment refused: ${r.refusal.message}`);
      throw new HttpError(r.refusal.status, r.refusal.code, r.refusal.message);
    }
    app.counters.inc("kam_enrolments_total", { result: "ok" });
    app.log.info({ ip, cluster: r.cluster, node: r.node, codeId: r.codeId, tokenId: r.tokenId, version: ctx.body.version }, "node enrolled: agent token issued");
    return { body: { ok: true as const, cluster: r.cluster, node: r.node, token: r.token, codeId: r.codeId } };
  },
});
