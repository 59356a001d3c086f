import { removeUser } from "../../auth/store";
import { IdParams, UserReply, defineRoute } from "../route";

/** DELETE /api/admin/users/:id (the last admin cannot be removed) */
export default defineRoute({
  method: "DELETE", path: "/api/admin/users/:id", access: { action: "admin.users" },
  summary: "remove a user and end their sessions",
  request: { params: IdParams }, response: UserReply,
  audit: { action: "user.remove", target: ({ params }) => ({ kind: "user", id: params.id }) },
  async handle(ctx) {
    const { access, params } = ctx;
    return { body: { ok: true as const, user: await access.endingSessionsOf({ userId: params.id }, () => removeUser(access.db, params.id)) } };
  },
});
