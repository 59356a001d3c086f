/**
 * The browser's one way to call the HTTP API: GET with `getJson`, state changes with `send`
 * (same origin, with the CSRF header). Every answer is checked against a zod schema; failures
 * come back as a typed `HttpError` (never thrown), whose `kind` says what went wrong.
 */
import * as z from "zod/mini";
import { describeZodError } from "../server/protocol";

export type HttpErrorKind =
  /** the caller aborted the request (a newer one replaced it, or the component unmounted) */
  | "aborted"
  /** no answer: the server or the network is down */
  | "network"
  /** an answer outside 2xx; `message` carries the server's own message when it sent one */
  | "http"
  /** a 2xx answer whose body is not JSON */
  | "not-json"
  /** a 2xx JSON answer that does not match the expected schema */
  | "invalid";

export class HttpError extends Error {
  constructor(
    readonly kind: HttpErrorKind,
    message: string,
    /** HTTP status, null when there was no answer */
    readonly status: number | null,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export type HttpResult<T> = { ok: true; data: T } | { ok: false; error: HttpError };

function serverMessage(body: unknown): string | null {
  return body && typeof body === "object" && "message" in body && typeof body.message === "string" ? body.message : null;
}

/**
 * An answer's status and text, checked and parsed. `emptyIsNull`: an empty 2xx body (204) is
 * parsed as null instead of failing as "not JSON" (for state changes that answer nothing).
 */
export function parseAnswer<S extends z.core.$ZodType>(
  status: number,
  statusText: string,
  text: string,
  schema: S,
  emptyIsNull = false,
): HttpResult<z.infer<S>> {
  let body: unknown;
  let json = true;
  try {
    body = emptyIsNull && text.trim() === "" ? null : JSON.parse(text);
  } catch {
    json = false;
  }
  if (status < 200 || status > 299) {
    const msg = (json ? serverMessage(body) : null) ?? statusText;
    return { ok: false, error: new HttpError("http", `HTTP ${status}${msg ? ` ${msg}` : ""}`, status) };
  }
  if (!json) return { ok: false, error: new HttpError("not-json", "the response is not JSON", status) };
  // any zod 4 schema, classic or mini (the protocol's): z.safeParse takes both
  const parsed = z.safeParse(schema, body);
  if (!parsed.success) {
    return { ok: false, error: new HttpError("invalid", `unexpected response (${describeZodError(parsed.error)})`, status) };
  }
  return { ok: true, data: parsed.data };
}

async function request<S extends z.core.$ZodType>(url: string, init: RequestInit, schema: S, emptyIsNull: boolean): Promise<HttpResult<z.infer<S>>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { cache: "no-store", credentials: "same-origin", ...init });
    text = await res.text();
  } catch (err) {
    if (init.signal?.aborted) return { ok: false, error: new HttpError("aborted", "aborted", null) };
    return { ok: false, error: new HttpError("network", err instanceof Error ? err.message : String(err), null) };
  }
  return parseAnswer(res.status, res.statusText, text, schema, emptyIsNull);
}

/** GET a JSON resource and validate it. */
export function getJson<S extends z.core.$ZodType>(url: string, schema: S, signal?: AbortSignal): Promise<HttpResult<z.infer<S>>> {
  return request(url, { headers: { accept: "application/json" }, signal }, schema, false);
}

/** A state-changing request: JSON body, the CSRF token header, the answer validated (an empty one is null). */
export function send<S extends z.core.$ZodType>(
  method: "POST" | "DELETE",
  url: string,
  csrf: string | null,
  body: unknown,
  schema: S,
): Promise<HttpResult<z.infer<S>>> {
  const headers = { accept: "application/json", "content-type": "application/json", "x-csrf-token": csrf ?? "" };
  return request(url, { method, headers, body: JSON.stringify(body ?? {}) }, schema, true);
}
