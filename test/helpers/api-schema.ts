/**
 * Checks an HTTP answer against the schema of the route that gave it (the one
 * route table, server/http/routes/): a 2xx body must parse with the route's
 * `response` schema, any other with ErrorBody. The server does not validate
 * its answers at run time; these checks keep the schemas (and a future OpenAPI
 * document made from them) honest.
 */
import { z } from "zod";
import { findRoute } from "../../server/http/router";
import { ErrorBody } from "../../server/http/route";

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
