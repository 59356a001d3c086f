import { z } from "zod";
import { VERSION } from "../../metrics";
import { openApiDocument, type OpenApiDocument } from "../openapi";
import { defineRoute } from "../route";
import { ROUTES } from "./index";

let doc: OpenApiDocument | null = null;

/**
 * GET /api/openapi.json: the OpenAPI 3.1 document of every route (server/http/openapi.ts), made once from the
 * route table. Public: it describes the API of every install alike and holds no data.
 */
export default defineRoute({
  method: "GET", path: "/api/openapi.json", access: "public",
  summary: "the OpenAPI 3.1 document of this API, made from the route table",
  response: z.object({ openapi: z.literal("3.1.0"), info: z.object({ title: z.string(), version: z.string() }).loose(), paths: z.record(z.string(), z.unknown()) }).loose(),
  async handle() {
    // the table is read at the first request, when every route module has loaded (routes/index.ts imports this one)
    doc ??= openApiDocument(ROUTES, VERSION);
    return Promise.resolve({ body: doc });
  },
});
