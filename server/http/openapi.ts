/**
 * The OpenAPI 3.1 document of the HTTP API, made from the one route table (routes/index.ts): every
 * route's method, path, access rule, summary and zod schemas (request params, query and body; the
 * success answer), with zod 4's own JSON Schema output (draft 2020-12, the dialect OpenAPI 3.1 uses).
 * Nothing here is written by hand per route: a route added to the table is described, and the tests
 * check every answer of the API tests against this document as well as against the zod schema
 * (test/helpers/api-schema.ts).
 */
import { z } from "zod";
import { ErrorBody, type RouteAccess, type RouteDef } from "./route";
import { CSRF_HEADER, SESSION_COOKIE } from "../auth/identity";

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
};
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  "x-access": string;
  security: Record<string, string[]>[];
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  responses: Record<string, JsonSchema>;
}

/**
 * a zod schema as JSON Schema. zod's "input" view for answers too: it leaves objects open (no
 * `additionalProperties: false`), so a field added to an answer later (the contract grows, never breaks)
 * does not make older clients' validation fail; the fields described are required and typed all the same.
 */
function jsonSchema(schema: z.core.$ZodType): JsonSchema {
  const s = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  delete s.$schema;
  return s;
}

/** "/api/clusters/:name/timeline" -> "/api/clusters/{name}/timeline" */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]\w*)/g, "{$1}");
}

/** "GET /api/clusters/:name/timeline" -> "getClustersNameTimeline" */
function operationId(r: RouteDef): string {
  const words = r.path.split("/").filter((w) => w && w !== "api").map((w) => w.replace(/^:/, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase()));
  return r.method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

function tagOf(path: string): string {
  const seg = path.split("/").filter(Boolean);
  return seg[0] === "api" ? (seg[1] ?? "api") : seg[0];
}

/** who may call a route, as OpenAPI security requirements (an empty object: no credentials) */
function securityOf(access: RouteAccess): Record<string, string[]>[] {
  if (access === "public" || access === "pre") return [{}];
  // "read": anonymous from the server host only when KAM_ANONYMOUS_READ allows it (the empty requirement)
  if (access === "read" || access === "read+wall") return [{ session: [] }, { bearer: [] }, {}];
  return [{ session: [] }];
}

function accessText(access: RouteAccess): string {
  if (typeof access === "string") return access;
  return access.action === "any" ? "signed-in user" : `a user whose role may ${access.action}`;
}

/** the object properties of a schema (query strings and path parameters are flat objects) */
function properties(schema: z.core.$ZodType): { props: Record<string, JsonSchema>; required: Set<string> } {
  const s = jsonSchema(schema);
  return { props: (s.properties ?? {}) as Record<string, JsonSchema>, required: new Set((s.required ?? []) as string[]) };
}

function operation(r: RouteDef): OpenApiOperation {
  const parameters: JsonSchema[] = [];
  const pathKeys = [...r.path.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]);
  const params = r.request?.params ? properties(r.request.params).props : {};
  for (const k of pathKeys) parameters.push({ name: k, in: "path", required: true, schema: params[k] ?? { type: "string" } });
  if (r.request?.query) {
    const { props, required } = properties(r.request.query);
    for (const [name, schema] of Object.entries(props)) parameters.push({ name, in: "query", required: required.has(name), schema });
  }
  const changesState = r.method !== "GET" && typeof r.access === "object";
  if (changesState) {
    parameters.push({
      name: CSRF_HEADER, in: "header", required: true, schema: { type: "string" },
      description: "the session's CSRF token (GET /api/auth/session); the Origin must be this dashboard's",
    });
  }
  const success = String(r.success ?? 200);
  const text = r.response._zod.def.type === "string";
  const op: OpenApiOperation = {
    operationId: operationId(r),
    summary: r.summary,
    tags: [tagOf(r.path)],
    "x-access": accessText(r.access),
    security: securityOf(r.access),
    responses: {
      [success]: success === "303"
        ? { description: r.summary, headers: { location: { description: "where the browser goes next", schema: { type: "string" } } } }
        : { description: r.summary, content: { [r.produces ?? (text ? "text/plain" : "application/json")]: { schema: jsonSchema(r.response) } } },
      default: { description: "an error: `{ ok: false, code, message }`", content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorBody" } } } },
    },
  };
  if (parameters.length) op.parameters = parameters;
  if (r.request?.body) op.requestBody = { required: true, content: { "application/json": { schema: jsonSchema(r.request.body) } } };
  return op;
}

export function openApiDocument(routes: readonly RouteDef[], version: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const r of routes) {
    const p = (paths[openApiPath(r.path)] ??= {});
    p[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "keepalived-monitor API",
      version,
      description:
        "Every route of the server's HTTP API, made from its route table. Times are ISO-8601 UTC strings. " +
        "Reads take a session cookie, an API token (Authorization: Bearer) or, from the server host only and when " +
        "KAM_ANONYMOUS_READ allows it, no credentials. State changes take a session, the CSRF header and a same-origin " +
        "Origin. A caller limited to some clusters gets 404 not_found for the others, as for clusters that do not exist.",
    },
    paths,
    components: {
      schemas: { ErrorBody: jsonSchema(ErrorBody) },
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE, description: "a signed-in user's (or a NOC wall's) session" },
        bearer: { type: "http", scheme: "bearer", description: "a read-only API token (npm run admin -- api-token create)" },
      },
    },
  };
}
