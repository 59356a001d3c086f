import type { ClusterSummary } from "../../server/protocol";
import { NodeBadge } from "../NodeBadge";
import { StatusIcon } from "../StatusIcon";
import { InstanceTable } from "./InstanceTable";
import { formatAgo } from "../format";
import { formatSkew } from "./transforms";
import { KEEPALIVED_DOWN_LOOK } from "../status";

type Node = ClusterSummary["nodes"][number];

/** One keepalived node: its agent status, when it was last heard from, and its instances. */
export function NodeRow({ node, now, first }: { node: Node; now: number; first: boolean }) {
  const skew = formatSkew(node.skewMs);
  return (
    <li data-testid={`node-${node.name}`} className="grid gap-x-6 gap-y-2 px-4 py-3 md:grid-cols-[11rem_1fr]">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 md:flex-col md:items-start">
        <h3 className="font-mono font-semibold break-all">{node.name}</h3>
        <NodeBadge online={node.online} />
        {node.online && node.keepalived === "down" && (
          <span
            data-testid="keepalived-down"
            title={KEEPALIVED_DOWN_LOOK.description}
            className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${KEEPALIVED_DOWN_LOOK.badge}`}
          >
            <StatusIcon name={KEEPALIVED_DOWN_LOOK.icon} className="size-2.5" />
            {KEEPALIVED_DOWN_LOOK.label}
          </span>
        )}
        <span className="text-xs text-slate-500 dark:text-slate-400" title={node.lastSeen ?? "never seen"}>
          seen {formatAgo(node.lastSeen, now)}
        </span>
        {skew && (
          <span
            data-testid="skew"
            title="this node's clock differs from the server's: its log times are shown as the node wrote them, history is ordered by arrival"
            className="inline-flex items-center gap-1 rounded-sm bg-amber-100 px-1.5 text-xs font-medium text-amber-900 ring-1 ring-amber-400 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-700"
          >
            <StatusIcon name="bang" className="size-2.5" />
            {skew}
          </span>
        )}
        {node.agent?.outdated && (
          <span
            data-testid="agent-outdated"
            title="this node's agent is older than the server: upgrade it (README, Upgrades); the server accepts agents of its protocol"
            className="inline-flex items-center gap-1 rounded-sm bg-amber-100 px-1.5 text-xs font-medium text-amber-900 ring-1 ring-amber-400 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-700"
          >
            <StatusIcon name="bang" className="size-2.5" />
            agent {node.agent.version}: older
          </span>
        )}
      </div>
      <InstanceTable node={node} showHeader={first} />
    </li>
  );
}
