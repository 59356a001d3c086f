/**
 * Pure transforms behind the overview: ordering, worst status, counts and time wording.
 * No React, no I/O: unit-tested in test/unit/ui-transforms.test.ts.
 */
import type { ClusterStatus, ClusterSummary } from "../../server/protocol";
import { formatDuration } from "../format";
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

/** Skew below this is network delay and NTP noise, not worth a word. */
export const SKEW_SHOWN_MS = 2000;

/**
 * "clock 3 min 20 s ahead" / "clock 45 s behind" for a node whose clock is off
 * the server's by at least SKEW_SHOWN_MS; null otherwise (or when unknown).
 */
export function formatSkew(skewMs: number | null | undefined): string | null {
  if (skewMs === null || skewMs === undefined || !Number.isFinite(skewMs) || Math.abs(skewMs) < SKEW_SHOWN_MS) return null;
  return `clock ${formatDuration(Math.abs(skewMs))} ${skewMs > 0 ? "ahead" : "behind"}`;
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
