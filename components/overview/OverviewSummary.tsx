import type { ClusterSummary } from "../../server/protocol";
import { CLUSTER_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";
import { countByStatus } from "./transforms";

/** "3 clusters: 1 critical, 1 warning, 1 ok" with the same words and icons as the cards. */
export function OverviewSummary({ clusters }: { clusters: readonly ClusterSummary[] }) {
  const counts = countByStatus(clusters);
  return (
    <p data-testid="summary" className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
      <span className="font-medium">
        {clusters.length} {clusters.length === 1 ? "cluster" : "clusters"}
      </span>
      {(["critical", "warning", "ok"] as const)
        .filter((s) => counts[s] > 0)
        .map((s) => (
          <span key={s} className="inline-flex items-center gap-1 text-slate-700 dark:text-slate-300">
            <span className={`inline-flex rounded-full p-0.5 ${CLUSTER_LOOK[s].badge}`}>
              <StatusIcon name={CLUSTER_LOOK[s].icon} className="size-2.5" />
            </span>
            {counts[s]} {CLUSTER_LOOK[s].label.toLowerCase()}
          </span>
        ))}
    </p>
  );
}
