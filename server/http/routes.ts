/**
 * The custom server's own HTTP routes: sign-in, setup, and every
 * state-changing route (acknowledge, maintenance windows, administration).
 * They are answered here, before Next, so that one place checks origin,
 * CSRF token and role for everything that changes state. Read routes stay
 * in app/api (Next) behind the gate.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { Hub } from "../hub";
import { type Access, type Principal } from "../auth/access";
import { csrfTokenFor, csrfValid, preCsrfValid, sameOriginRequest } from "../auth/csrf";
import { CSRF_HEADER, PRE_COOKIE, SESSION_COOKIE } from "../auth/identity";
import { can, type Action } from "../auth/roles";
import { readCookie } from "../auth/secrets";
import {
  AuthInputError, checkLogin, createApiToken, createSession, createUser, createWallToken, deleteSession, listApiTokens,
  listUsers, listWallTokens, removeUser, revokeApiToken, revokeSessions, revokeWallToken, setPassword, setRole, useSetupToken,
} from "../auth/store";
import { acknowledgeIncident } from "../incidents/incident-store";
import { createToken, listTokens, NODE_NAME_RE, revokeToken } from "../ingest/tokens";
import { clientOverTls, isLoopback } from "../auth/net";
import { HttpError, cookie, readJson, safeNext, sendJson } from "./respond";

type UserSession = Extract<Principal, { kind: "user" }>;

export interface RouteCtx {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  access: Access;
  hub: Hub;
  /** set for routes that need a signed-in user */
  session: UserSession | null;
  hooks: RouteHooks;
}

export interface RouteHooks {
  /** an agent token was revoked: drop its agents' connections */
  agentTokenRevoked(id: number): void;
}

interface Route {
  method: "GET" | "POST" | "DELETE";
  path: RegExp;
  /** "pre": before sign-in (origin + double-submit CSRF); "user": a user session with this action's role */
  auth: "pre" | { action: Action | "any" };
  run(ctx: RouteCtx): Promise<void>;
}

const Login = z.object({ name: z.string().max(200), password: z.string().max(2000), next: z.string().max(2000).optional() });
const Setup = z.object({ token: z.string().max(200), name: z.string().max(200), password: z.string().max(2000) });
const NewUser = z.object({ name: z.string().max(200), role: z.string().max(20), password: z.string().max(2000) });
const RoleBody = z.object({ role: z.string().max(20) });
const PasswordBody = z.object({ password: z.string().max(2000) });
const NameBody = z.object({ name: z.string().max(200) });
/** `node`: the one node name the token may connect as (issue 19); without it a legacy cluster token */
const AgentTokenBody = z.object({
  cluster: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/), node: z.string().regex(NODE_NAME_RE).optional(), label: z.string().max(200).optional(),
});
const Maintenance = z
  .object({
    cluster: z.string().max(128),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    minutes: z.number().positive().max(366 * 24 * 60).optional(),
    reason: z.string().max(500).optional(),
  })
  .refine((m) => (m.minutes !== undefined) !== (m.to !== undefined), "give either minutes or to");

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, "invalid_message", r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  return r.data;
}

const id = (s: string): number => {
  if (!/^\d{1,9}$/.test(s)) throw new HttpError(400, "invalid_message", "the id must be a number");
  return Number(s);
};

function sessionCookie(ctx: RouteCtx, secret: string, maxMs: number): string {
  return cookie(SESSION_COOKIE, secret, { maxAgeS: maxMs / 1000, secure: ctx.access.secureCookies(ctx.req), sameSite: "Lax" });
}

async function signIn(ctx: RouteCtx, userId: number, user: { name: string; role: string }, next: string): Promise<void> {
  const { secret } = await createSession(ctx.access.db, { userId }, ctx.access.policy, { ip: ctx.access.clientIp(ctx.req), userAgent: ctx.req.headers["user-agent"] });
  sendJson(ctx.res, 200, { ok: true, user, csrf: csrfTokenFor(secret), next }, {
    "set-cookie": [sessionCookie(ctx, secret, ctx.access.policy.maxMs), cookie(PRE_COOKIE, "", { maxAgeS: 0, secure: false, sameSite: "Strict" })] as unknown as string,
  });
}

const login: Route["run"] = async (ctx) => {
  const { access } = ctx;
  const body = parse(Login, await readJson(ctx.req));
  const ip = access.clientIp(ctx.req);
  // failures per (user name, client address): guessing from one address cannot lock the user out
  // everywhere (issue 19); the per-address limit bounds how many names one address tries
  const userKey = `${body.name.toLowerCase()}\u0000${ip}`;
  access.warnUntrustedProxy(ctx.req);
  if (!access.loginPerIp.hit(ip) || access.loginPerUser.over(userKey)) {
    access.counters.inc("kam_login_total", { result: "rate_limited" });
    const wait = Math.max(access.loginPerIp.retryAfter(ip), access.loginPerUser.retryAfter(userKey));
    throw new HttpError(429, "rate_limited", `too many sign-in attempts: retry in ${wait} s`, { "retry-after": String(wait) });
  }
  const user = await checkLogin(access.db, body.name, body.password);
  if (!user) {
    access.loginPerUser.hit(userKey);
    access.counters.inc("kam_login_total", { result: "bad_credentials" });
    access.log.info({ ip, user: body.name.slice(0, 64) }, "sign-in refused");
    throw new HttpError(401, "unauthorized", "wrong user name or password");
  }
  access.counters.inc("kam_login_total", { result: "ok" });
  access.log.info({ ip, user: user.name }, "signed in");
  await signIn(ctx, user.id, { name: user.name, role: user.role }, safeNext(body.next));
};

const setup: Route["run"] = async (ctx) => {
  const body = parse(Setup, await readJson(ctx.req));
  // the one-time link must not cross a network in the clear: whoever reads it could create the admin first
  const { access } = ctx;
  if (!clientOverTls(!!access.config.tlsCert, ctx.req.socket.remoteAddress, ctx.req.headers, access.trustedProxies) && !isLoopback(access.clientIp(ctx.req))) {
    access.denied("forbidden", "setup");
    throw new HttpError(403, "forbidden",
      "the setup link works over plain HTTP only from the server host (e.g. through ssh -L) or over HTTPS; or run: npm run admin -- user add NAME --role admin");
  }
  const user = await useSetupToken(ctx.access.db, body.token, body.name, body.password);
  ctx.access.log.warn({ user: user.name }, "first admin created through the setup link (the link is now void)");
  await signIn(ctx, user.id, { name: user.name, role: user.role }, "/");
};

const logout: Route["run"] = async (ctx) => {
  const s = ctx.session!;
  await deleteSession(ctx.access.db, s.id);
  ctx.access.endSessions([s.id]);
  sendJson(ctx.res, 200, { ok: true }, { "set-cookie": sessionCookie(ctx, "", 0) });
};

const me: Route["run"] = async (ctx) => {
  const s = ctx.session!;
  sendJson(ctx.res, 200, { ok: true, user: { name: s.user.name, role: s.user.role }, csrf: csrfTokenFor(s.secret) });
};

const ack: Route["run"] = async (ctx) => {
  const raw = ctx.params[0];
  if (!/^\d{1,18}$/.test(raw)) throw new HttpError(400, "invalid_message", "incident id must be a number");
  const inc = await acknowledgeIncident(ctx.access.db, BigInt(raw), ctx.session!.user.name);
  if (!inc) throw new HttpError(404, "not_found", `no incident ${raw}`);
  ctx.hub.incidentChanged(inc.cluster, inc, "updated");
  sendJson(ctx.res, 200, inc);
};

const addMaintenance: Route["run"] = async (ctx) => {
  const m = parse(Maintenance, await readJson(ctx.req));
  const db = ctx.access.db;
  const c = await db.cluster.findUnique({ where: { name: m.cluster } });
  if (!c) throw new HttpError(404, "not_found", `no cluster "${m.cluster}"`);
  const now = new Date();
  const from = m.from ? new Date(m.from) : now;
  const to = m.to ? new Date(m.to) : new Date(from.getTime() + m.minutes! * 60_000);
  if (to <= from) throw new HttpError(400, "invalid_message", "the window must end after it starts");
  const w = await db.maintenanceWindow.create({ data: { clusterId: c.id, startsAt: from, endsAt: to, reason: m.reason ?? "", createdAt: now, createdBy: ctx.session!.user.name } });
  sendJson(ctx.res, 201, { ok: true, window: windowJson({ ...w, cluster: c }) });
};

const windowJson = (w: { id: number; startsAt: Date; endsAt: Date; reason: string; createdBy: string; cluster: { name: string } }) => ({
  id: w.id, cluster: w.cluster.name, from: w.startsAt.toISOString(), to: w.endsAt.toISOString(), reason: w.reason, createdBy: w.createdBy,
});

const removeMaintenance: Route["run"] = async (ctx) => {
  const r = await ctx.access.db.maintenanceWindow.deleteMany({ where: { id: id(ctx.params[0]) } });
  if (!r.count) throw new HttpError(404, "not_found", `no maintenance window ${ctx.params[0]}`);
  sendJson(ctx.res, 200, { ok: true });
};

const users: Route["run"] = async (ctx) => {
  const rows = await listUsers(ctx.access.db);
  sendJson(ctx.res, 200, rows.map((u) => ({ ...u, createdAt: u.createdAt.toISOString(), lastLoginAt: u.lastLoginAt?.toISOString() ?? null })));
};

const tokens: Route["run"] = async (ctx) => {
  const db = ctx.access.db;
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const [api, wall, agent] = await Promise.all([listApiTokens(db), listWallTokens(db), listTokens(db)]);
  sendJson(ctx.res, 200, {
    api: api.map((t) => ({ id: t.id, name: t.name, prefix: t.prefix, createdBy: t.createdBy, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt) })),
    wall: wall.map((t) => ({ id: t.id, name: t.name, prefix: t.prefix, createdBy: t.createdBy, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt), sessions: t._count.sessions })),
    agent: agent.map((t) => ({ id: t.id, cluster: t.cluster.name, node: t.nodeName, label: t.label, prefix: t.prefix, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt) })),
  });
};

const ROUTES: Route[] = [
  { method: "POST", path: /^\/api\/auth\/login$/, auth: "pre", run: login },
  { method: "POST", path: /^\/api\/auth\/setup$/, auth: "pre", run: setup },
  { method: "POST", path: /^\/api\/auth\/logout$/, auth: { action: "any" }, run: logout },
  { method: "GET", path: /^\/api\/auth\/session$/, auth: { action: "any" }, run: me },
  { method: "POST", path: /^\/api\/incidents\/([^/]+)\/ack$/, auth: { action: "incident.ack" }, run: ack },
  { method: "POST", path: /^\/api\/maintenance$/, auth: { action: "maintenance.write" }, run: addMaintenance },
  { method: "DELETE", path: /^\/api\/maintenance\/([^/]+)$/, auth: { action: "maintenance.write" }, run: removeMaintenance },
  { method: "GET", path: /^\/api\/admin\/users$/, auth: { action: "admin.users" }, run: users },
  {
    method: "POST", path: /^\/api\/admin\/users$/, auth: { action: "admin.users" },
    run: async (ctx) => {
      const b = parse(NewUser, await readJson(ctx.req));
      sendJson(ctx.res, 201, { ok: true, user: await createUser(ctx.access.db, b.name, b.role, b.password) });
    },
  },
  {
    method: "POST", path: /^\/api\/admin\/users\/([^/]+)\/role$/, auth: { action: "admin.users" },
    run: async (ctx) => sendJson(ctx.res, 200, { ok: true, user: await setRole(ctx.access.db, id(ctx.params[0]), parse(RoleBody, await readJson(ctx.req)).role) }),
  },
  {
    method: "POST", path: /^\/api\/admin\/users\/([^/]+)\/password$/, auth: { action: "admin.users" },
    run: async (ctx) => {
      await setPassword(ctx.access.db, id(ctx.params[0]), parse(PasswordBody, await readJson(ctx.req)).password);
      sendJson(ctx.res, 200, { ok: true });
    },
  },
  {
    method: "DELETE", path: /^\/api\/admin\/users\/([^/]+)\/sessions$/, auth: { action: "admin.users" },
    run: async (ctx) => sendJson(ctx.res, 200, { ok: true, revoked: await revokeUserSessions(ctx, id(ctx.params[0])) }),
  },
  {
    method: "DELETE", path: /^\/api\/admin\/users\/([^/]+)$/, auth: { action: "admin.users" },
    run: async (ctx) => {
      const uid = id(ctx.params[0]);
      const ids = (await ctx.access.db.session.findMany({ where: { userId: uid }, select: { id: true } })).map((s) => s.id);
      const u = await removeUser(ctx.access.db, uid);
      ctx.access.endSessions(ids);
      sendJson(ctx.res, 200, { ok: true, user: u });
    },
  },
  { method: "GET", path: /^\/api\/admin\/tokens$/, auth: { action: "admin.tokens" }, run: tokens },
  {
    method: "POST", path: /^\/api\/admin\/api-tokens$/, auth: { action: "admin.tokens" },
    run: async (ctx) => sendJson(ctx.res, 201, { ok: true, ...(await createApiToken(ctx.access.db, parse(NameBody, await readJson(ctx.req)).name, ctx.session!.user.name)) }),
  },
  {
    method: "DELETE", path: /^\/api\/admin\/api-tokens\/([^/]+)$/, auth: { action: "admin.tokens" },
    run: async (ctx) => sendJson(ctx.res, 200, { ok: true, revoked: await revokeApiToken(ctx.access.db, id(ctx.params[0])) }),
  },
  {
    method: "POST", path: /^\/api\/admin\/wall-tokens$/, auth: { action: "admin.tokens" },
    run: async (ctx) => {
      const t = await createWallToken(ctx.access.db, parse(NameBody, await readJson(ctx.req)).name, ctx.session!.user.name);
      sendJson(ctx.res, 201, { ok: true, ...t, path: `/wall?token=${t.token}` });
    },
  },
  {
    method: "DELETE", path: /^\/api\/admin\/wall-tokens\/([^/]+)$/, auth: { action: "admin.tokens" },
    run: async (ctx) => {
      const wid = id(ctx.params[0]);
      const ids = (await ctx.access.db.session.findMany({ where: { wallTokenId: wid }, select: { id: true } })).map((s) => s.id);
      const revoked = await revokeWallToken(ctx.access.db, wid);
      ctx.access.endSessions(ids);
      sendJson(ctx.res, 200, { ok: true, revoked });
    },
  },
  {
    method: "POST", path: /^\/api\/admin\/agent-tokens$/, auth: { action: "admin.tokens" },
    run: async (ctx) => {
      const b = parse(AgentTokenBody, await readJson(ctx.req));
      sendJson(ctx.res, 201, { ok: true, ...(await createToken(ctx.access.db, b.cluster, b.label ?? "", b.node)) });
    },
  },
  {
    method: "DELETE", path: /^\/api\/admin\/agent-tokens\/([^/]+)$/, auth: { action: "admin.tokens" },
    run: async (ctx) => {
      const tid = id(ctx.params[0]);
      const revoked = await revokeToken(ctx.access.db, tid);
      ctx.hooks.agentTokenRevoked(tid);
      sendJson(ctx.res, 200, { ok: true, revoked });
    },
  },
];

async function revokeUserSessions(ctx: RouteCtx, uid: number): Promise<number> {
  const ids = (await ctx.access.db.session.findMany({ where: { userId: uid }, select: { id: true } })).map((s) => s.id);
  const n = await revokeSessions(ctx.access.db, { user: uid });
  ctx.access.endSessions(ids);
  return n;
}

export function findRoute(method: string, path: string): { route: Route; params: string[] } | { methodNotAllowed: true } | null {
  let pathMatched = false;
  for (const route of ROUTES) {
    const m = route.path.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params: m.slice(1) };
  }
  return pathMatched ? { methodNotAllowed: true } : null;
}

/**
 * Runs a route after its checks, in this order: a bearer token never writes
 * (API tokens are read-only); a user session is required; a state change
 * needs a same-origin Origin/Referer and the session's CSRF token; the role
 * must allow the action.
 */
export async function runRoute(route: Route, ctx: Omit<RouteCtx, "session">): Promise<void> {
  const { req, access } = ctx;
  const write = route.method !== "GET";
  const where = route.path.source;
  if (write && !sameOriginRequest({ origin: req.headers.origin, referer: req.headers.referer, host: req.headers.host }, access.origins)) {
    access.denied("csrf", "origin");
    throw new HttpError(403, "csrf", "cross-site request refused: the Origin (or Referer) is not this dashboard");
  }
  if (route.auth === "pre") {
    if (!preCsrfValid(readCookie(req.headers.cookie, PRE_COOKIE), req.headers[CSRF_HEADER])) {
      access.denied("csrf", "pre");
      throw new HttpError(403, "csrf", "missing or wrong CSRF token: reload the sign-in page");
    }
    await route.run({ ...ctx, session: null });
    return;
  }
  const p = await access.principal(req);
  if (p.kind === "api" || (p.kind === "anonymous" && p.badBearer)) {
    access.denied("forbidden", where);
    throw new HttpError(write ? 403 : 401, write ? "forbidden" : "unauthorized", write ? "API tokens are read-only" : "this route needs a signed-in user");
  }
  if (p.kind !== "user") {
    access.denied("unauthorized", where);
    if (p.kind === "wall") throw new HttpError(403, "forbidden", "a wall session may only show the wall");
    throw new HttpError(401, "unauthorized", "sign in first");
  }
  if (write && !csrfValid(p.secret, req.headers[CSRF_HEADER])) {
    access.denied("csrf", "token");
    throw new HttpError(403, "csrf", "missing or wrong CSRF token (x-csrf-token): reload the page");
  }
  const action = route.auth.action;
  if (action !== "any" && !can(p.user.role, action)) {
    access.denied("forbidden", where);
    throw new HttpError(403, "forbidden", `role ${p.user.role} may not do this (${action})`);
  }
  await route.run({ ...ctx, session: p });
}

/** store-level input errors as typed HTTP errors */
export function asHttpError(e: unknown): HttpError | null {
  if (e instanceof HttpError) return e;
  if (e instanceof AuthInputError) return new HttpError(e.code === "not_found" ? 404 : e.code === "forbidden" ? 403 : 400, e.code, e.message);
  return null;
}
