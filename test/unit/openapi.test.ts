/**
 * The OpenAPI document (server/http/openapi.ts) against the route table: a valid OpenAPI 3.1 document
 * (checked by @seriousme/openapi-schema-validator, which holds the OpenAPI Initiative's schemas), every
 * route described once with its parameters, body, success status and access, nothing described that the
 * server does not serve. That answers match it is checked in every API test (test/helpers/api-schema.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { openApiDocument, openApiPath } from "../../server/http/openapi";
import { ROUTES } from "../../server/http/routes";
import { CSRF_HEADER } from "../../server/auth/identity";
import { checkAnswer } from "../helpers/api-schema";

const doc = openApiDocument(ROUTES, "1.2.3");
type Param = { name: string; in: string; required?: boolean };

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const v = new Validator();
    const res = await v.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 1)?.slice(0, 2000));
    assert.equal(v.version, "3.1");
    assert.equal(doc.info.version, "1.2.3");
  });

  it("describes every route of the table once, and nothing else", () => {
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const served = ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    assert.deepEqual(described, served);
    assert.ok(served.includes("GET /api/clusters/{name}/timeline") && served.includes("GET /api/openapi.json"));
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length, `operationIds are unique: ${ids.join(", ")}`);
  });

  it("says each route's path and query parameters, body, success status and who may call it", () => {
    for (const r of ROUTES) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      const params = (op.parameters ?? []) as Param[];
      for (const key of [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1])) {
        assert.ok(params.some((p) => p.in === "path" && p.name === key && p.required), `${r.method} ${r.path}: path parameter ${key}`);
      }
      assert.equal(Boolean(op.requestBody), Boolean(r.request?.body), `${r.method} ${r.path}: request body`);
      assert.ok(op.responses[String(r.success ?? 200)], `${r.method} ${r.path}: success ${r.success ?? 200}`);
      assert.ok(op.responses.default, `${r.method} ${r.path}: error answers`);
      assert.equal(op.summary, r.summary);
      const csrf = params.some((p) => p.in === "header" && p.name === CSRF_HEADER);
      assert.equal(csrf, r.method !== "GET" && typeof r.access === "object", `${r.method} ${r.path}: CSRF header`);
      const anonymous = op.security.some((s) => Object.keys(s).length === 0);
      assert.equal(anonymous, typeof r.access === "string", `${r.method} ${r.path}: ${JSON.stringify(op.security)}`);
    }
    const timeline = doc.paths["/api/clusters/{name}/timeline"].get.parameters as Param[];
    const query = timeline.filter((p) => p.in === "query").map((p) => p.name);
    assert.ok(query.includes("from") && query.includes("to"), `timeline query parameters: ${query.join(", ")}`);
    assert.equal(doc.paths["/api/maintenance"].post.responses["201"] !== undefined, true);
    assert.ok("text/plain" in (doc.paths["/metrics"].get.responses["200"] as { content: object }).content);
  });

  it("refuses answers that do not match it (the check every API test makes)", () => {
    assert.doesNotThrow(() => checkAnswer("GET", "/api/health", 200, { ok: true, db: "pglite" }));
    assert.throws(() => checkAnswer("GET", "/api/health", 200, { ok: true, db: "mysql" }), /schema refuses/);
    assert.doesNotThrow(() => checkAnswer("GET", "/api/health", 503, { ok: false, code: "unavailable", message: "x", db: "pglite" }));
    // a success status the document does not give: the route must say `success: 201`
    assert.doesNotThrow(() => checkAnswer("POST", "/api/admin/api-tokens", 201, { ok: true, id: 1, token: "kama_x" }));
    assert.throws(() => checkAnswer("POST", "/api/admin/api-tokens", 200, { ok: true, id: 1, token: "kama_x" }), /OpenAPI document says 201/);
    // the document itself is checked like any answer
    const openapi = { openapi: "3.0.3", info: { title: "x", version: "1" }, paths: {} };
    assert.throws(() => checkAnswer("GET", "/api/openapi.json", 200, openapi), /does not match the OpenAPI document|schema refuses/);
  });
});
