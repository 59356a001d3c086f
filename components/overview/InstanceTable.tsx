import type { ClusterSummary } from "../../server/protocol";
import { StateBadge } from "../StateBadge";
import { sortInstances } from "./transforms";
import { VipList } from "./VipList";

type Node = ClusterSummary["nodes"][number];

/**
 * The VRRP instances of one node: name, VRID, state, priority, VIPs. Fixed column widths keep the
 * columns of all nodes in a card aligned, so only the first node shows the header row. Below the
 * `sm` breakpoint each row wraps into two lines (state, name, VRID, priority / VIPs).
 */
export function InstanceTable({ node, showHeader }: { node: Node; showHeader: boolean }) {
  if (node.instances.length === 0) {
    return (
      <p className="text-sm text-slate-500 dark:text-slate-400">
        No VRRP instances reported yet (the agent sends the keepalived configuration when it starts).
      </p>
    );
  }
  const label = "text-slate-500 sm:hidden dark:text-slate-400";
  return (
    <table className="w-full table-fixed text-left text-sm max-sm:block">
      <caption className="sr-only">VRRP instances on {node.name}</caption>
      <colgroup>
        <col className="w-36" />
        <col className="w-14" />
        <col className="w-32" />
        <col className="w-14" />
        <col />
      </colgroup>
      <thead className={`text-xs text-slate-500 max-sm:sr-only dark:text-slate-400 ${showHeader ? "" : "sr-only"}`}>
        <tr>
          <th scope="col" className="pb-1 pr-3 font-medium">Instance</th>
          <th scope="col" className="pb-1 pr-3 font-medium">VRID</th>
          <th scope="col" className="pb-1 pr-3 font-medium">State</th>
          <th scope="col" className="pb-1 pr-3 font-medium">Priority</th>
          <th scope="col" className="pb-1 font-medium">VIPs</th>
        </tr>
      </thead>
      <tbody className="align-top max-sm:block max-sm:space-y-2">
        {sortInstances(node.instances).map((inst) => (
          <tr
            key={inst.name}
            data-testid={`instance-${node.name}-${inst.name}`}
            className="max-sm:flex max-sm:flex-wrap max-sm:items-center max-sm:gap-x-3 max-sm:gap-y-1"
          >
            <th scope="row" className="py-1 pr-3 font-mono font-medium break-all max-sm:order-2 max-sm:p-0">
              {inst.name}
            </th>
            <td className="py-1 pr-3 tabular-nums max-sm:order-3 max-sm:p-0">
              <span className={label}>VRID </span>
              {inst.vrid ?? "?"}
            </td>
            <td className="py-1 pr-3 max-sm:order-1 max-sm:p-0">
              <StateBadge state={inst.state} testId={`state-${node.name}-${inst.name}`} />
            </td>
            <td className="py-1 pr-3 tabular-nums max-sm:order-4 max-sm:p-0">
              <span className={label}>prio </span>
              <Priority inst={inst} testId={`prio-${node.name}-${inst.name}`} />
            </td>
            <td className="py-1 max-sm:order-5 max-sm:basis-full max-sm:p-0 max-sm:pl-1">
              <VipList instance={inst} testIdPrefix={`vip-${node.name}-${inst.name}`} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The instance's priority: keepalived's effective one when the node's agent sends its dumps
 * (--dumps-interval), with the configured one below it when they differ (track weights moved it);
 * otherwise the priority from the logs or the config, as before.
 */
function Priority({ inst, testId }: { inst: Node["instances"][number]; testId: string }) {
  const eff = inst.dump?.effectivePriority ?? null;
  if (!inst.dump || eff === null) return <span data-testid={testId}>{inst.priority ?? "–"}</span>;
  const cfg = inst.configuredPriority ?? null;
  const at = new Date(inst.dump.at).toLocaleTimeString();
  return (
    <span data-testid={testId} title={`effective priority ${eff} in keepalived's dump of ${at}${cfg !== null ? `; configured ${cfg}` : ""}`}>
      {eff}
      {cfg !== null && cfg !== eff ? (
        <span className="block text-xs whitespace-nowrap text-slate-500 dark:text-slate-400" data-testid={`${testId}-configured`}>
          cfg {cfg}
        </span>
      ) : null}
    </span>
  );
}
