import { z } from "zod";
import type { TLSSocket } from "node:tls";
import { ENROL_TTL_DEFAULT_MINUTES, ENROL_TTL_MAX_MINUTES, EnrolmentConflict, createEnrolmentCode, installCommand, serverBase, type NewCode } from "../../ingest/enrolment";
import { CLUSTER_NAME_RE } from "../../ingest/tokens";
import { HttpError } from "../respond";
import { Ok, defineRoute } from "../route";

/** POST /api/admin/enrolment-codes: a one-time code that enrols one node of a cluster (issue 14, "Add a node"). */
export default defineRoute({
  method: "POST", path: "/api/admin/enrolment-codes", success: 201, access: { action: "admin.tokens" },
  summary: `a one-time enrolment code for a node name of a cluster (existing or new): shown once, expires (default ${ENROL_TTL_DEFAULT_MINUTES} minutes); ` +
    "409 conflict while the node is bound to a valid agent token",
  request: {
    body: z.object({
      cluster: z.string().regex(CLUSTER_NAME_RE, "cluster names use 1 to 128 letters, digits, '.', '_' and '-'"),
      node: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "node names use 1 to 128 letters, digits, '.', '_' and '-'"),
      ttlMinutes: z.number().int().min(1).max(ENROL_TTL_MAX_MINUTES).optional(),
    }),
  },
  response: Ok.extend({
    id: z.number().int(), code: z.string(), cluster: z.string(), node: z.string(), expiresAt: z.string(),
    /** the server's URL for the nodes (KAM_PUBLIC_URL, else this dashboard's origin) and the one-line install command */
    server: z.string(), command: z.string(),
  }),
  audit: { action: "enrolment-code.create", made: (a) => ({ kind: "enrolment-code", id: a.id }) },
  async handle(ctx) {
    let c: NewCode;
    try {
      c = await createEnrolmentCode(ctx.access.db, { ...ctx.body, createdBy: ctx.session!.user.name });
    } catch (e) {
      if (e instanceof EnrolmentConflict) throw new HttpError(409, "conflict", e.message);
      throw e;
    }
    ctx.app.log.info({ cluster: c.cluster, node: c.node, codeId: c.id, by: ctx.session!.user.name, expiresAt: c.expiresAt }, "enrolment code created");
    const h = ctx.req.headers;
    const server = serverBase(ctx.access.config.publicUrl, { origin: h.origin, referer: h.referer, host: h.host }, !!(ctx.req.socket as TLSSocket).encrypted);
    return {
      body: {
        ok: true as const, id: c.id, code: c.code, cluster: c.cluster, node: c.node, expiresAt: c.expiresAt.toISOString(), server,
        command: installCommand(server, c.node, c.code),
      },
    };
  },
});
