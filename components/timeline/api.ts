/** GET /api/clusters/:name/timeline and /logs, validated; failures come back as a short reason, never thrown. */
import type { z } from "zod";
import { describeZodError } from "../../server/protocol";
import { LogLines, TimelineResponse, type LogLine } from "../../server/timeline/types";

export type Result<T> = { ok: true; data: T } | { ok: false; reason: string; aborted: boolean };

/** An answer's status and text, checked and parsed. */
function parseAnswer<S extends z.ZodTypeAny>(status: number, statusText: string, text: string, schema: S): Result<z.infer<S>> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: `HTTP ${status}: the response is not JSON`, aborted: false };
  }
  if (status < 200 || status > 299) {
    const msg = body && typeof body === "object" && "message" in body && typeof body.message === "string" ? body.message : statusText;
    return { ok: false, reason: `HTTP ${status} ${msg}`, aborted: false };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: `unexpected response (${describeZodError(parsed.error)})`, aborted: false };
  return { ok: true, data: parsed.data };
}

async function getJson<S extends z.ZodTypeAny>(url: string, schema: S, signal?: AbortSignal): Promise<Result<z.infer<S>>> {
  try {
    const res = await fetch(url, { cache: "no-store", headers: { accept: "application/json" }, signal });
    return parseAnswer(res.status, res.statusText, await res.text(), schema);
  } catch (err) {
    if (signal?.aborted) return { ok: false, reason: "aborted", aborted: true };
    return { ok: false, reason: err instanceof Error ? err.message : String(err), aborted: false };
  }
}

/**
 * The first timeline request of a page is started by a small inline script
 * (see prefetch.ts) while the page's JavaScript still loads. It is used once,
 * and only if it asked for what the page now wants (same key).
 */
export async function takePrefetchedTimeline(key: string): Promise<Result<z.infer<typeof TimelineResponse>> | null> {
  const w = globalThis as { __kamTimelinePrefetch?: { key: string; answer: Promise<{ status: number; text: string }> } };
  const pre = w.__kamTimelinePrefetch;
  delete w.__kamTimelinePrefetch;
  if (!pre || pre.key !== key) return null;
  try {
    const a = await pre.answer;
    return parseAnswer(a.status, "", a.text, TimelineResponse);
  } catch {
    return null;
  }
}

const base = (cluster: string) => `/api/clusters/${encodeURIComponent(cluster)}`;

/** `to` null: up to the server's now (live). */
export function fetchTimeline(cluster: string, from: number, to: number | null, width: number, signal?: AbortSignal) {
  const q = new URLSearchParams({ from: new Date(from).toISOString(), width: String(Math.round(width)) });
  if (to !== null) q.set("to", new Date(to).toISOString());
  return getJson(`${base(cluster)}/timeline?${q}`, TimelineResponse, signal);
}

export interface LogRequest {
  from?: number;
  to?: number;
  around?: number;
  node?: string;
  limit?: number;
}

export function fetchLogs(cluster: string, r: LogRequest, signal?: AbortSignal): Promise<Result<LogLine[]>> {
  const q = new URLSearchParams();
  if (r.from !== undefined) q.set("from", new Date(r.from).toISOString());
  if (r.to !== undefined) q.set("to", new Date(r.to).toISOString());
  if (r.around !== undefined) q.set("around", new Date(r.around).toISOString());
  if (r.node) q.set("node", r.node);
  if (r.limit) q.set("limit", String(r.limit));
  return getJson(`${base(cluster)}/logs?${q}`, LogLines, signal);
}
