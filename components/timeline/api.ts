/** GET /api/clusters/:name/timeline and /logs through the one fetch helper (../http.ts), and the prefetched first answer. */
import type * as z from "zod/mini";
import { IncidentMsg } from "../../server/protocol";
import { LogLines, TimelineResponse, type LogLine } from "../../server/timeline/types";
import { getJson, parseAnswer, type HttpResult } from "../http";

/**
 * The first timeline request of a page is started by a small inline script
 * (see prefetch.ts) while the page's JavaScript still loads. It is used once,
 * and only if it asked for what the page now wants (same key).
 */
export async function takePrefetchedTimeline(key: string): Promise<HttpResult<z.infer<typeof TimelineResponse>> | null> {
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

/**
 * `to` null: up to the server's now (live). Without the incidents' evidence lines (?evidence=none): the
 * chart does not draw them, and they were most of a long range's answer; the details panel fetches the
 * one incident it shows (fetchIncident).
 */
export function fetchTimeline(cluster: string, from: number, to: number | null, width: number, signal?: AbortSignal) {
  const q = new URLSearchParams({ from: new Date(from).toISOString(), width: String(Math.round(width)), evidence: "none" });
  if (to !== null) q.set("to", new Date(to).toISOString());
  return getJson(`${base(cluster)}/timeline?${q}`, TimelineResponse, signal);
}

/** one incident with its evidence lines */
export function fetchIncident(id: string, signal?: AbortSignal): Promise<HttpResult<IncidentMsg>> {
  return getJson(`/api/incidents/${encodeURIComponent(id)}`, IncidentMsg, signal);
}

export interface LogRequest {
  from?: number;
  to?: number;
  around?: number;
  node?: string;
  limit?: number;
}

export function fetchLogs(cluster: string, r: LogRequest, signal?: AbortSignal): Promise<HttpResult<LogLine[]>> {
  const q = new URLSearchParams();
  if (r.from !== undefined) q.set("from", new Date(r.from).toISOString());
  if (r.to !== undefined) q.set("to", new Date(r.to).toISOString());
  if (r.around !== undefined) q.set("around", new Date(r.around).toISOString());
  if (r.node) q.set("node", r.node);
  if (r.limit) q.set("limit", String(r.limit));
  return getJson(`${base(cluster)}/logs?${q}`, LogLines, signal);
}
