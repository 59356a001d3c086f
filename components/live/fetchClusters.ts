/** GET /api/clusters, validated; failures come back as a short reason, never thrown. */
import type { ClusterSummary } from "../../server/protocol";
import { describeZodError } from "../../server/protocol";
import { ClusterList } from "./liveState";

export type FetchResult = { ok: true; clusters: ClusterSummary[] } | { ok: false; reason: string; aborted: boolean };

function errorMessage(body: unknown): string | null {
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string") return body.message;
  return null;
}

export async function fetchClusters(signal?: AbortSignal): Promise<FetchResult> {
  let res: Response;
  let text: string;
  try {
    res = await fetch("/api/clusters", { cache: "no-store", headers: { accept: "application/json" }, signal });
    text = await res.text();
  } catch (err) {
    if (signal?.aborted) return { ok: false, reason: "aborted", aborted: true };
    return { ok: false, reason: err instanceof Error ? err.message : String(err), aborted: false };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const detail = errorMessage(body) ?? res.statusText;
    return { ok: false, reason: `HTTP ${res.status}${detail ? ` ${detail}` : ""}`, aborted: false };
  }
  if (body === undefined) return { ok: false, reason: "the response is not JSON", aborted: false };
  const parsed = ClusterList.safeParse(body);
  if (!parsed.success) {
    return { ok: false, reason: `unexpected response (${describeZodError(parsed.error)})`, aborted: false };
  }
  return { ok: true, clusters: parsed.data };
}
