/**
 * Runs the route table (routes/index.ts): finds the route of a request, applies
 * its access rule (the same checks, in the same order, the gate always made),
 * parses its path parameters and body with its schemas, calls its handler and
 * sends the answer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { ServerParts } from "../app-context";
import { scopeOf, type Access } from "../auth/access";
import { ClusterScope } from "../auth/scope";
import { csrfValid, preCsrfValid, sameOriginRequest } from "../auth/csrf";
import { CSRF_HEADER, PRE_COOKIE } from "../auth/identity";
import { anonymousReadAllowed } from "../auth/net";
import { can } from "../auth/roles";
import { readCookie } from "../auth/secrets";
import { AuthInputError } from "../auth/store";
import { ChannelInputError } from "../incidents/channel-admin";
import { SettingsInputError } from "../incidents/detector-settings";
import { HttpError, readJson, sendJson } from "./respond";
import type { JsonReply, RawReply, RouteAudit, RouteCtx, RouteDef, RouteHooks, UserSession } from "./route";
import { audited, type AuditActor } from "../audit/log";
import { ROUTES } from "./routes";

interface Compiled {
  route: RouteDef;
  re: RegExp;
  keys: string[];
}

function compile(route: RouteDef): Compiled {
  const keys: string[] = [];
  const src = route.path
    .split("/")
    .map((seg) => {
      if (!seg.startsWith(":")) return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      keys.push(seg.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { route, re: new RegExp(`^${src}$`), keys };
}

/** a state-changing route says what the audit log records of it (route.ts `audit`): a table that forgets is refused at load */
export function unaudited(routes: readonly RouteDef[]): string[] {
  return routes.filter((r) => r.method !== "GET" && r.audit === undefined).map((r) => `${r.method} ${r.path}`);
}

const missing = unaudited(ROUTES);
if (missing.length) throw new Error(`state-changing routes without an audit declaration (route.ts audit): ${missing.join(", ")}`);

const TABLE: Compiled[] = ROUTES.map(compile);

/** `where`: the label access.denied counts refusals under (the path's regular expression, as it always was) */
export type Found = { route: RouteDef; params: Record<string, string>; where: string } | { methodNotAllowed: true } | null;

/** The route for a method and path (HEAD runs a GET route), "methodNotAllowed" when only the path matches, or null. */
export function findRoute(method: string, path: string): Found {
  let pathMatched = false;
  for (const c of TABLE) {
    const m = c.re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (c.route.method === method || (method === "HEAD" && c.route.method === "GET")) {
      const params: Record<string, string> = {};
      for (const [i, k] of c.keys.entries()) {
        try {
          params[k] = decodeURIComponent(m[i + 1]);
        } catch {
          throw new HttpError(400, "invalid_message", "bad percent-encoding in the path");
        }
      }
      return { route: c.route, params, where: c.re.source };
    }
  }
  return pathMatched ? { methodNotAllowed: true } : null;
}

/**
 * The read API's rule: a user session or an API token; a wall session only where `wall`;
 * an unknown bearer token is refused; otherwise anonymous only from a direct loopback peer
 * when KAM_ANONYMOUS_READ allows it. Returns the clusters the reader may see.
 */
export async function checkRead(access: Access, req: IncomingMessage, wall: boolean): Promise<ClusterScope> {
  const who = await access.principal(req);
  if (who.kind === "user" || who.kind === "api") return who.scope;
  if (who.kind === "wall") {
    if (wall) return who.scope;
    access.denied("forbidden", "wall");
    throw new HttpError(403, "forbidden", "a wall session may only read what the wall shows");
  }
  if (who.badBearer) {
    access.denied("unauthorized", "bearer");
    throw new HttpError(401, "unauthorized", "unknown or revoked API token", { "www-authenticate": 'Bearer realm="kam"' });
  }
  if (anonymousReadAllowed(access.config.anonymousRead, req.socket.remoteAddress, req.headers)) return scopeOf(who);
  access.denied("unauthorized", "read");
  throw new HttpError(401, "unauthorized", "sign in, or send Authorization: Bearer <API token> (anonymous reads only from this host, without a proxy)", {
    "www-authenticate": 'Bearer realm="kam"',
  });
}

/**
 * A user-only route's checks, in this order: a bearer token never writes (API tokens are
 * read-only); a user session is required; a state change needs a same-origin Origin/Referer
 * (checked first, for every route that changes state) and the session's CSRF token; the role
 * must allow the action. Returns the session for { action } routes, null for "pre".
 */
async function checkUser(route: RouteDef, where: string, access: Access, req: IncomingMessage): Promise<UserSession | null> {
  const write = route.method !== "GET";
  if (write && !sameOriginRequest({ origin: req.headers.origin, referer: req.headers.referer, host: req.headers.host }, access.origins)) {
    access.denied("csrf", "origin");
    throw new HttpError(403, "csrf", "cross-site request refused: the Origin (or Referer) is not this dashboard");
  }
  const rule = route.access;
  if (rule === "pre") {
    if (!preCsrfValid(readCookie(req.headers.cookie, PRE_COOKIE), req.headers[CSRF_HEADER])) {
      access.denied("csrf", "pre");
      throw new HttpError(403, "csrf", "missing or wrong CSRF token: reload the sign-in page");
    }
    return null;
  }
  if (typeof rule !== "object") throw new Error(`checkUser: ${String(rule)} is not a user rule`);
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
  const action = rule.action;
  if (action !== "any" && !can(p.user.role, action)) {
    access.denied("forbidden", where);
    throw new HttpError(403, "forbidden", `role ${p.user.role} may not do this (${action})`);
  }
  return p;
}

function parseWith<T>(schema: z.core.$ZodType<T>, value: unknown, withPath: boolean): T {
  const r = z.safeParse(schema, value);
  if (!r.success) {
    const say = (i: z.core.$ZodIssue) => (withPath ? `${i.path.join(".") || "body"}: ${i.message}` : i.message);
    throw new HttpError(400, "invalid_message", r.error.issues.map(say).join("; "));
  }
  return r.data;
}

export interface RunCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  where: string;
  access: Access;
  parts: ServerParts;
  hooks: RouteHooks;
}

/** Access checks, then params and body parsed, then the handler; its answer is sent. */
export async function runRoute(route: RouteDef, ctx: RunCtx): Promise<void> {
  const { req, res, access } = ctx;
  let session: UserSession | null = null;
  // public and sign-in routes carry no cluster's data
  let scope = ClusterScope.ALL;
  switch (route.access) {
    case "public":
      break;
    case "read":
    case "read+wall":
      scope = await checkRead(access, req, route.access === "read+wall");
      break;
    default:
      session = await checkUser(route, ctx.where, access, req);
      if (session) scope = session.scope;
  }
  if (route.everyCluster && !scope.all) {
    access.denied("forbidden", ctx.where);
    throw new HttpError(403, "forbidden", "this answer covers every cluster; it is not for a caller limited to some clusters (use an unscoped API token)");
  }
  let params: unknown, body: unknown;
  try {
    params = route.request?.params ? parseWith(route.request.params, ctx.params, false) : ctx.params;
    body = route.request?.body ? parseWith(route.request.body, await readJson(req), true) : undefined;
  } catch (e) {
    // bad input is answered with its typed error, and counted
    if (e instanceof HttpError) access.counters.inc("kam_http_invalid_requests_total", { route: `${route.method} ${route.path}`, code: e.code });
    throw e;
  }
  const full: RouteCtx = { req, res, url: ctx.url, access, ...ctx.parts, hooks: ctx.hooks, params, body, session, scope };
  const reply = route.audit ? await auditedRun(route, route.audit, full) : await route.handle(full);
  if ("raw" in reply) {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(reply.status ?? route.success ?? 200, { "content-type": reply.contentType, "cache-control": "no-store", ...reply.headers });
    res.end(reply.raw);
    return;
  }
  sendJson(res, reply.status ?? route.success ?? 200, reply.body, reply.headers as Record<string, string> | undefined);
}

/** the handler run through the audit log (server/audit/log.ts): recorded when it answers a success */
function auditedRun(route: RouteDef, spec: RouteAudit<unknown, unknown, unknown>, ctx: RouteCtx): Promise<JsonReply<unknown> | RawReply> {
  const ip = ctx.access.clientIp(ctx.req);
  const actor: AuditActor = ctx.session
    ? { kind: "user", name: ctx.session.user.name, ip }
    : { kind: spec.actorKind ?? "setup", name: spec.actor?.(ctx) ?? "", ip };
  return audited(ctx.access.db, actor, {
    action: spec.action,
    target: spec.target?.(ctx) ?? null,
    made: (r) => (spec.made && "body" in r ? spec.made(r.body) : null),
    input: spec.target ? undefined : ctx.body,
    succeeded: (r) => (r.status ?? route.success ?? 200) < 300,
  }, () => route.handle(ctx));
}

/** store-level input errors as typed HTTP errors */
export function asHttpError(e: unknown): HttpError | null {
  if (e instanceof HttpError) return e;
  if (e instanceof AuthInputError) return new HttpError(e.code === "not_found" ? 404 : e.code === "forbidden" ? 403 : 400, e.code, e.message);
  if (e instanceof ChannelInputError) return new HttpError(e.code === "not_found" ? 404 : 400, e.code, e.message);
  if (e instanceof SettingsInputError) return new HttpError(e.code === "not_found" ? 404 : 400, e.code, e.message);
  return null;
}
