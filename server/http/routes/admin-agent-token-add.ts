import { z } from "zod";
import { CLUSTER_NAME_RE, NODE_NAME_RE, createToken } from "../../ingest/tokens";
import { NewSecret, defineRoute } from "../route";

/** POST /api/admin/agent-tokens: an agent token for one node of a cluster (issue 19); without `node` a legacy cluster token. */
export default defineRoute({
  method: "POST", path: "/api/admin/agent-tokens", success: 201, access: { action: "admin.tokens" },
  summary: "create an agent token for a cluster (and one node name): its secret, shown once",
  request: {
    body: z.object({ cluster: z.string().regex(CLUSTER_NAME_RE), node: z.string().regex(NODE_NAME_RE).optional(), label: z.string().max(200).optional() }),
  },
  response: NewSecret,
  audit: { action: "agent-token.create", made: (a) => ({ kind: "agent-token", id: a.id }) },
  async handle(ctx) {
    const b = ctx.body;
    return { body: { ok: true as const, ...(await createToken(ctx.access.db, b.cluster, b.label ?? "", b.node)) } };
  },
});
