/** The browser's one fetch helper (components/http.ts): each failure comes back as its own kind. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { type HttpError, parseAnswer } from "../../components/http";

const Thing = z.object({ n: z.number() });
const failOf = (r: ReturnType<typeof parseAnswer>): HttpError => {
  assert.equal(r.ok, false);
  return (r as { ok: false; error: HttpError }).error;
};

test("a 2xx JSON answer that matches the schema is the data", () => {
  assert.deepEqual(parseAnswer(200, "OK", '{"n":3}', Thing), { ok: true, data: { n: 3 } });
});

test("an error answer carries the server's message and the status", () => {
  const e = failOf(parseAnswer(403, "Forbidden", '{"ok":false,"code":"forbidden","message":"operators only"}', Thing));
  assert.equal(e.kind, "http");
  assert.equal(e.status, 403);
  assert.equal(e.message, "HTTP 403 operators only");
});

test("an error answer without JSON falls back to the status text", () => {
  const e = failOf(parseAnswer(502, "Bad Gateway", "<html>", Thing));
  assert.equal(e.kind, "http");
  assert.equal(e.message, "HTTP 502 Bad Gateway");
});

test("a 2xx answer that is not JSON, or does not match, is its own kind", () => {
  assert.equal(failOf(parseAnswer(200, "OK", "<html>", Thing)).kind, "not-json");
  const e = failOf(parseAnswer(200, "OK", '{"n":"3"}', Thing));
  assert.equal(e.kind, "invalid");
  assert.match(e.message, /^unexpected response \(.*n/);
});

test("an empty 2xx answer is null only where the caller allows it (state changes)", () => {
  assert.equal(failOf(parseAnswer(204, "No Content", "", z.null())).kind, "not-json");
  assert.deepEqual(parseAnswer(204, "No Content", "", z.null(), true), { ok: true, data: null });
});
