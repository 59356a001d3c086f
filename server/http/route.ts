/**
 * What one HTTP route of the custom server is (server/http/routes/ holds one
 * file per route, routes/index.ts lists them, router.ts runs them): method,
 * path, who may call it, the zod schemas of its request and of its answer,
 * and a handler that only parses, calls a transport-free module, and answers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { AppContext, ChannelParts, OpenIncidentCounts } from "../app-context";
import type { LivePicture } from "../state/live-picture";
import type { Access, Principal } from "../auth/access";
import type { ClusterScope } from "../auth/scope";
import { ROLES, type Action } from "../auth/roles";
import { ErrorCode, type ErrorReply } from "../protocol";
import { HttpError } from "./respond";
import type { AuditTarget } from "../audit/log";

export type UserSession = Extract<Principal, { kind: "user" }>;

/**
 * Who may call a route (checked by router.ts, in the gate's order):
 * - "public": anyone (the load balancer's health check);
 * - "pre": before sign-in: same Origin and the double-submit CSRF cookie;
 * - "read": a user session, an API token, or an anonymous direct loopback peer when KAM_ANONYMOUS_READ allows it;
 * - "read+wall": "read", and a NOC wall session too (what the wall shows);
 * - { action }: a user session whose role may do the action ("any": any signed-in user); a state change also
 *   needs a same-origin Origin/Referer and the session's CSRF token.
 */
export type RouteAccess = "public" | "pre" | "read" | "read+wall" | { action: Action | "any" };

export interface RouteHooks {
  /** an agent token was revoked: drop its agents' connections */
  agentTokenRevoked(id: number): void;
}

export interface RouteCtx<Params = unknown, Body = unknown> {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** the path parameters, decoded and parsed with request.params */
  params: Params;
  /** the JSON body parsed with request.body (undefined without one) */
  body: Body;
  access: Access;
  /** database, settings, logger, counters, event bus */
  app: AppContext;
  /** every cluster's current picture (in memory) */
  picture: LivePicture;
  detection: OpenIncidentCounts | null;
  /** the channels' secrets key and the dashboard's URL (the admin's channel routes) */
  channels: ChannelParts;
  /** the signed-in user, for routes with { action } */
  session: UserSession | null;
  /**
   * the clusters the caller may see and act on (server/auth/scope.ts): every read and write of
   * per-cluster data goes through it; what is outside answers like what does not exist (404, left out)
   */
  scope: ClusterScope;
  hooks: RouteHooks;
}

/** A JSON answer (status 200 unless said). */
export interface JsonReply<T> {
  status?: number;
  body: T;
  headers?: Record<string, string | string[]>;
}

/** An answer already serialised (JSON straight from PostgreSQL, Prometheus text, the agent downloads' bytes). */
export interface RawReply {
  status?: number;
  raw: string | Buffer;
  contentType: string;
  headers?: Record<string, string | string[]>;
}

export interface RouteDef<Res extends z.core.$ZodType = z.core.$ZodType, Params = unknown, Body = unknown> {
  method: "GET" | "POST" | "DELETE";
  /** "/api/clusters/:name/timeline": a `:name` is one path segment, percent-decoded */
  path: string;
  access: RouteAccess;
  /**
   * true: the answer covers every cluster and cannot be narrowed (/metrics), so a caller scoped to some
   * clusters is refused (403 forbidden) by the router
   */
  everyCluster?: boolean;
  /** one line for the API documentation */
  summary: string;
  /** the status of a success (default 200; 201 for a route that creates something; 303 for a browser redirect, the OIDC sign-in): the OpenAPI document says it */
  success?: 200 | 201 | 303;
  /**
   * The request's schemas. params and body are parsed by the router (after the access checks)
   * and handed to the handler typed (body: any zod 4 schema, classic or mini, e.g. the protocol's
   * EnrolRequest); query documents the query string, which the handler
   * parses with the same schema in its server module (with the range rules zod cannot say).
   */
  request?: { params?: z.ZodType<Params>; query?: z.ZodType; body?: z.core.$ZodType<Body> };
  /**
   * the body of a success (2xx) answer; errors are ErrorBody. Checked in the tests, not at run time. Any zod 4
   * schema, classic or mini (the protocol's, server/protocol.ts): parse it with z.safeParse(response, body)
   */
  response: Res;
  /**
   * the media type of a success for a route answering other than JSON or text (the agent downloads:
   * application/octet-stream), for the OpenAPI document; default: text/plain for a z.string() answer, else JSON
   */
  produces?: string;
  /**
   * What the audit log records of a state-changing route (every route but GET must say: router.ts refuses
   * the table otherwise). The router runs the handler through server/audit/log.ts `audited`: the target's
   * state is read before and after, masked, and recorded with the signed-in user and the client's address
   * when the answer is a success. `false` only for sign-in and sign-out, which record themselves (../http/sign-in.ts).
   */
  audit?: RouteAudit<Params, Body, z.input<Res>> | false;
  handle(ctx: RouteCtx<Params, Body>): Promise<JsonReply<z.input<Res>> | RawReply>;
}

export interface RouteAudit<Params, Body, Res> {
  /** e.g. "user.add": the same name as the CLI command that does it records */
  action: string;
  /** what it acts on, from the path and body; none for a creation (methods, like handle: checked per route, not against the table's type) */
  target?(req: { params: Params; body: Body }): AuditTarget | null;
  /** a creation: the new target, from the answer */
  made?(answer: Res): AuditTarget | null;
  /** the actor of a route without a session ("pre": the setup link; an agent enrolling): a name from the request */
  actor?(req: { params: Params; body: Body }): string;
  /** what that actor is (default "setup") */
  actorKind?: "setup" | "agent";
}

/** Identity function that ties a route's handler to its schemas at compile time. */
export function defineRoute<Res extends z.core.$ZodType, Params = unknown, Body = unknown>(r: RouteDef<Res, Params, Body>): RouteDef<Res, Params, Body> {
  return r;
}

/** Every error answer: `{ ok: false, code, message }` (a few add fields, e.g. /api/health's db). */
export const ErrorBody = z.object({ ok: z.literal(false), code: ErrorCode, message: z.string() });

/** `{ ok: true }` and what a route adds to it */
export const Ok = z.object({ ok: z.literal(true) });

/** a numeric path id (users, tokens, maintenance windows) */
export const IdParams = z.object({ id: z.string().regex(/^\d{1,9}$/, "the id must be a number").transform(Number) });

/** a cluster name in the path (checked further by the query parsers) */
export const ClusterParams = z.object({ name: z.string() });

export const isoTime = z.string();
export const isoTimeOrNull = z.string().nullable();

/** `{ ok: true, revoked }`: false when it was revoked already */
export const Revoked = Ok.extend({ revoked: z.boolean() });

/** a created secret (API, wall, agent token): shown once */
export const NewSecret = Ok.extend({ id: z.number().int(), token: z.string() });

export const NameBody = z.object({ name: z.string().max(200) });

/**
 * an optional cluster scope in an admin request body: the names of the clusters a user or token may
 * see, or null for every cluster (server/auth/scope.ts)
 */
export const ClustersField = z.array(z.string().max(128)).min(1).max(1000).nullable();

/** `{ ok: true, user: { id, name, role, clusters } }`: clusters null for every cluster */
export const UserReply = Ok.extend({ user: z.object({ id: z.number().int(), name: z.string(), role: z.enum(ROLES), clusters: z.array(z.string()).nullable() }) });

/** the query a server module parsed (the query.ts modules), or its typed error as a 400 */
export function queryOf<T>(r: { ok: true; query: T } | { ok: false; error: ErrorReply }): T {
  if (!r.ok) throw new HttpError(400, r.error.code, r.error.message);
  return r.query;
}

/** `value`, or a 404 not_found saying `message` */
export function found<T>(value: T | null | undefined, message: string): T {
  if (value === null || value === undefined) throw new HttpError(404, "not_found", message);
  return value;
}
