import type { ClusterStatus } from "../server/protocol";
import { CLUSTER_LOOK } from "./status";
import { StatusIcon } from "./StatusIcon";

/** Cluster health: colour + icon + word (OK / WARNING / CRITICAL). */
export function ClusterStatusBadge({ status }: { status: ClusterStatus }) {
  const look = CLUSTER_LOOK[status];
  return (
    <span
      data-status={status}
      title={look.description}
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-0.5 text-xs font-bold tracking-wider ${look.badge}`}
    >
      <StatusIcon name={look.icon} />
      {look.label}
    </span>
  );
}
