/** Small helpers for the custom server's HTTP routes (server/http/routes/): typed JSON errors, bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorCode } from "../protocol";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** more fields of the error body (e.g. /api/health's db) */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, e: HttpError): void {
  sendJson(res, e.status, { ok: false, ...e.extra, code: e.code, message: e.message }, e.headers);
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { location, "cache-control": "no-store", ...headers });
  res.end();
}

export const MAX_BODY_BYTES = 64 * 1024;

/** The JSON body (content-type application/json, at most 64 KiB), or a typed error. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") throw new HttpError(415, "invalid_message", "the body must be application/json");
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, "too_large", `the body is limited to ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "too_large", `the body is limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "invalid_message", "the body is not valid JSON");
  }
}

export function cookie(name: string, value: string, o: { maxAgeS: number; secure: boolean; sameSite: "Lax" | "Strict"; path?: string }): string {
  return `${name}=${value}; Path=${o.path ?? "/"}; HttpOnly; SameSite=${o.sameSite}; Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}${o.secure ? "; Secure" : ""}`;
}

/** a safe local path to go to after sign-in (server/auth/safe-next.ts) */
export { safeNext } from "../auth/safe-next";
