import type { ClusterSummary } from "../../server/protocol";
import { vipMismatch } from "./transforms";

type Instance = ClusterSummary["nodes"][number]["instances"][number];

const MISMATCH_TEXT = {
  missing: "MASTER but not holding it",
  unexpected: "held but not MASTER",
} as const;

/** The instance's VIPs; held ones get a filled marker and the word "holds", others a hollow marker. */
export function VipList({ instance, testIdPrefix }: { instance: Instance; testIdPrefix: string }) {
  if (instance.vips.length === 0) return <span className="text-slate-500 dark:text-slate-400">none configured</span>;
  return (
    <ul className="flex flex-col gap-0.5">
      {instance.vips.map((vip) => {
        const mismatch = vipMismatch(instance.state, vip.held);
        return (
          <li
            key={vip.address}
            data-testid={`${testIdPrefix}-${vip.address}`}
            data-held={vip.held}
            className="flex flex-wrap items-center gap-x-1.5"
          >
            <span
              aria-hidden="true"
              className={`inline-block size-2.5 shrink-0 rounded-full border-2 ${
                vip.held ? "border-emerald-600 bg-emerald-600 dark:border-emerald-400 dark:bg-emerald-400" : "border-slate-400"
              }`}
            />
            <span className={`font-mono ${vip.held ? "" : "text-slate-500 dark:text-slate-400"}`}>{vip.address}</span>
            <span
              className={
                vip.held
                  ? "text-xs font-semibold text-emerald-700 dark:text-emerald-300"
                  : "text-xs text-slate-500 dark:text-slate-400"
              }
            >
              {vip.held ? "holds" : "not held"}
            </span>
            {mismatch && (
              <span className="text-xs font-medium text-amber-700 dark:text-amber-300">
                <span aria-hidden="true">⚠ </span>
                {MISMATCH_TEXT[mismatch]}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}
