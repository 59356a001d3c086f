import Link from "next/link";
import type { ClusterSummary } from "../../server/protocol";
import { ClusterStatusBadge } from "../ClusterStatusBadge";
import { CLUSTER_LOOK } from "../status";
import { NodeRow } from "./NodeRow";
import { nodesOnline, sortNodes } from "./transforms";

/** One cluster: health, open incidents, agents online, then one row per node. */
export function ClusterCard({ cluster, now }: { cluster: ClusterSummary; now: number }) {
  const { online, total } = nodesOnline(cluster);
  const headingId = `cluster-heading-${cluster.name}`;
  const nodes = sortNodes(cluster.nodes);
  const headerNode = nodes.find((n) => n.instances.length > 0);
  return (
    <section
      data-testid={`cluster-${cluster.name}`}
      data-status={cluster.status}
      aria-labelledby={headingId}
      className={`overflow-hidden rounded-lg border border-l-4 border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900 ${CLUSTER_LOOK[cluster.status].accent}`}
    >
      <header className="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <h2 id={headingId} className="text-lg font-semibold break-all">{cluster.name}</h2>
        <ClusterStatusBadge status={cluster.status} />
        <span
          data-testid={`incidents-${cluster.name}`}
          className={
            cluster.openIncidents > 0
              ? "text-sm font-semibold text-red-700 dark:text-red-300"
              : "text-sm text-slate-600 dark:text-slate-400"
          }
        >
          {cluster.openIncidents} open {cluster.openIncidents === 1 ? "incident" : "incidents"}
        </span>
        <span
          className={
            online < total
              ? "text-sm font-semibold text-amber-700 dark:text-amber-300"
              : "text-sm text-slate-600 dark:text-slate-400"
          }
        >
          nodes online {online}/{total}
        </span>
        <Link
          href={`/clusters/${encodeURIComponent(cluster.name)}`}
          data-testid={`timeline-link-${cluster.name}`}
          className="ml-auto text-sm font-semibold text-sky-700 hover:underline dark:text-sky-300"
        >
          Timeline →
        </Link>
      </header>
      {total === 0 ? (
        <p className="px-4 py-3 text-sm text-slate-500 dark:text-slate-400">No node has reported yet.</p>
      ) : (
        <ul className="divide-y divide-slate-200 dark:divide-slate-800">
          {nodes.map((node) => (
            <NodeRow key={node.name} node={node} now={now} first={node === headerNode} />
          ))}
        </ul>
      )}
    </section>
  );
}
