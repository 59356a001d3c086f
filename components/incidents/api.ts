/** GET a JSON resource and validate it; failures come back as a short reason, never thrown. */
import type { z } from "zod";
import { describeZodError } from "../../server/protocol";

export type GetResult<T> = { ok: true; data: T } | { ok: false; reason: string; status: number | null; aborted: boolean };

export async function getJson<S extends z.ZodType>(url: string, schema: S, signal?: AbortSignal): Promise<GetResult<z.infer<S>>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { cache: "no-store", headers: { accept: "application/json" }, signal });
    text = await res.text();
  } catch (err) {
    if (signal?.aborted) return { ok: false, reason: "aborted", status: null, aborted: true };
    return { ok: false, reason: err instanceof Error ? err.message : String(err), status: null, aborted: false };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const msg = body && typeof body === "object" && "message" in body && typeof body.message === "string" ? body.message : res.statusText;
    return { ok: false, reason: `HTTP ${res.status}${msg ? ` ${msg}` : ""}`, status: res.status, aborted: false };
  }
  if (body === undefined) return { ok: false, reason: "the response is not JSON", status: res.status, aborted: false };
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: `unexpected response (${describeZodError(parsed.error)})`, status: res.status, aborted: false };
  return { ok: true, data: parsed.data };
}
