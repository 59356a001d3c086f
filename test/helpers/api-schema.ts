/**
 * Checks an HTTP answer against the schema of the route that gave it (the one
 * route table, server/http/routes/): a 2xx body must parse with the route's
 * `response` schema, any other with ErrorBody; and the same body, with its
 * status, must validate against the OpenAPI document made from the table
 * (server/http/openapi.ts, served at /api/openapi.json) with Ajv's JSON Schema
 * 2020-12 validator. The server does not validate its answers at run time;
 * these checks keep the schemas and the published document honest.
 */
import { z } from "zod";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { findRoute } from "../../server/http/router";
import { ErrorBody, type RouteDef } from "../../server/http/route";
import { openApiDocument, openApiPath, type OpenApiDocument } from "../../server/http/openapi";
import { ROUTES } from "../../server/http/routes";

let doc: OpenApiDocument | null = null;
let ajv: Ajv2020 | null = null;
const validators = new Map<string, ValidateFunction>();

/** the validator of the OpenAPI document's answer for (route, status): the status's own entry, else `default` */
function openApiValidator(route: RouteDef, status: number): { fn: ValidateFunction; where: string } {
  doc ??= openApiDocument(ROUTES, "test");
  if (!ajv) {
    ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc.components.schemas.ErrorBody, "#/components/schemas/ErrorBody");
  }
  const op = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
  if (!op) throw new Error(`the OpenAPI document does not describe ${route.method} ${route.path}`);
  const key = op.responses[String(status)] ? String(status) : "default";
  if (status >= 200 && status < 300 && key === "default") {
    throw new Error(`${route.method} ${route.path} answered ${status}; the OpenAPI document says ${Object.keys(op.responses).join(", ")}`);
  }
  const where = `${route.method} ${route.path} ${key}`;
  let fn = validators.get(where);
  if (!fn) {
    const content = (op.responses[key] as { content: Record<string, { schema: object }> }).content;
    const schema = Object.values(content)[0].schema;
    fn = "$ref" in schema ? ajv.getSchema(String(schema.$ref))! : ajv.compile(schema);
    validators.set(where, fn);
  }
  return { fn, where };
}

/** Throws (the test fails) when `body` is not what the route's schema says; returns the body. */
export function checkAnswer<T = unknown>(method: string, pathAndQuery: string, status: number, body: unknown): T {
  const path = new URL(pathAndQuery, "http://x").pathname;
  const found = findRoute(method, path);
  if (!found || !("route" in found)) throw new Error(`no route in the table for ${method} ${path}`);
  const schema = status >= 200 && status < 300 ? found.route.response : ErrorBody;
  const r = z.safeParse(schema, body);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    throw new Error(`${method} ${path} answered ${status} with a body its schema refuses: ${issues}\n${JSON.stringify(body).slice(0, 500)}`);
  }
  const { fn, where } = openApiValidator(found.route, status);
  if (!fn(body)) {
    throw new Error(`${where}: the answer does not match the OpenAPI document: ${JSON.stringify(fn.errors?.slice(0, 5))}\n${JSON.stringify(body).slice(0, 500)}`);
  }
  return body as T;
}

/** fetch, then checkAnswer on the JSON (or, for a text route such as /metrics, the text) body */
export async function fetchChecked<T = unknown>(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const r = await fetch(`${base}${path}`, init);
  const text = await r.text();
  const json = (r.headers.get("content-type") ?? "").startsWith("application/json");
  const body: unknown = json ? JSON.parse(text) : text;
  return { status: r.status, body: checkAnswer<T>(init.method ?? "GET", path, r.status, body), headers: r.headers };
}
