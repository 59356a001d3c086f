/**
 * Pure transforms behind the overview: ordering, worst status, counts and time wording.
 * No React, no I/O: unit-tested in test/unit/ui-transforms.test.ts.
 */
import type { ClusterStatus, ClusterSummary } from "../../server/protocol";
import { CLUSTER_STATUS_RANK } from "../status";

type Node = ClusterSummary["nodes"][number];
type Instance = Node["instances"][number];

const byName = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Clusters worst status first (critical, warning, ok), then by name (natural order: lb2 before lb10). */
export function sortClusters(clusters: readonly ClusterSummary[]): ClusterSummary[] {
  return [...clusters].sort(
    (a, b) => CLUSTER_STATUS_RANK[a.status] - CLUSTER_STATUS_RANK[b.status] || byName.compare(a.name, b.name),
  );
}

/** Nodes by name (natural order). */
export function sortNodes(nodes: readonly Node[]): Node[] {
  return [...nodes].sort((a, b) => byName.compare(a.name, b.name));
}

/** Instances by VRID (unknown VRID last), then by name. */
export function sortInstances(instances: readonly Instance[]): Instance[] {
  return [...instances].sort((a, b) => {
    const va = a.vrid ?? Number.POSITIVE_INFINITY;
    const vb = b.vrid ?? Number.POSITIVE_INFINITY;
    return va === vb ? byName.compare(a.name, b.name) : va < vb ? -1 : 1;
  });
}

/** The worst of several statuses; "ok" when there are none. */
export function worstStatus(statuses: Iterable<ClusterStatus>): ClusterStatus {
  let worst: ClusterStatus = "ok";
  for (const s of statuses) if (CLUSTER_STATUS_RANK[s] < CLUSTER_STATUS_RANK[worst]) worst = s;
  return worst;
}

/** How many clusters are in each status. */
export function countByStatus(clusters: readonly ClusterSummary[]): Record<ClusterStatus, number> {
  const counts: Record<ClusterStatus, number> = { critical: 0, warning: 0, ok: 0 };
  for (const c of clusters) counts[c.status] += 1;
  return counts;
}

/** Nodes whose agent is connected, out of all nodes. */
export function nodesOnline(cluster: ClusterSummary): { online: number; total: number } {
  return { online: cluster.nodes.filter((n) => n.online).length, total: cluster.nodes.length };
}

/** Document title carrying the worst news, so a background tab shows it too. */
export function pageTitle(clusters: readonly ClusterSummary[], base: string): string {
  const counts = countByStatus(clusters);
  if (counts.critical > 0) return `(${counts.critical} critical) ${base}`;
  if (counts.warning > 0) return `(${counts.warning} warning) ${base}`;
  return base;
}

/**
 * "just now", "42s ago", "5m ago", "3h ago", "2d ago"; "never" for no time; "in the future" when the
 * time is more than a few seconds ahead (clock skew). `at` is an ISO string or epoch ms.
 */
export function formatRelative(at: string | number | null | undefined, now: number): string {
  if (at === null || at === undefined || at === "") return "never";
  const t = typeof at === "number" ? at : Date.parse(at);
  if (!Number.isFinite(t)) return "unknown";
  const s = Math.floor((now - t) / 1000);
  if (s < -5) return "in the future";
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** Skew below this is network delay and NTP noise, not worth a word. */
export const SKEW_SHOWN_MS = 2000;

/**
 * "clock 3 min 20 s ahead" / "clock 45 s behind" for a node whose clock is off
 * the server's by at least SKEW_SHOWN_MS; null otherwise (or when unknown).
 */
export function formatSkew(skewMs: number | null | undefined): string | null {
  if (skewMs === null || skewMs === undefined || !Number.isFinite(skewMs) || Math.abs(skewMs) < SKEW_SHOWN_MS) return null;
  let s = Math.round(Math.abs(skewMs) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = d > 0 ? [`${d} d`, h ? `${h} h` : ""] : h > 0 ? [`${h} h`, m ? `${m} min` : ""] : m > 0 ? [`${m} min`, s ? `${s} s` : ""] : [`${s} s`];
  return `clock ${parts.filter(Boolean).join(" ")} ${skewMs > 0 ? "ahead" : "behind"}`;
}

/** Retry delay after `attempt` failures (0-based): 1 s doubling up to `maxMs`, never negative. */
export function backoffDelay(attempt: number, baseMs = 1000, maxMs = 30_000): number {
  const n = Math.max(0, Math.floor(attempt));
  return Math.min(maxMs, baseMs * 2 ** Math.min(n, 30));
}

/**
 * A VIP whose ownership disagrees with the instance state: a MASTER that does not hold it, or a
 * BACKUP/FAULT/STOP instance that does. null when consistent or when the state is UNKNOWN.
 */
export function vipMismatch(state: Instance["state"], held: boolean): "missing" | "unexpected" | null {
  if (state === "UNKNOWN") return null;
  if (state === "MASTER") return held ? null : "missing";
  return held ? "unexpected" : null;
}
