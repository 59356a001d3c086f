import type { IncidentMsg } from "../../server/protocol";
import { configDiff } from "./configDiff";

/** The configuration items among the evidence, one column per node; differing settings are marked. */
export function ConfigDiffTable({ incident }: { incident: IncidentMsg }) {
  const diff = configDiff(incident.cause.evidence);
  if (!diff) return null;
  return (
    <section aria-labelledby="config-heading" data-testid="config-diff" className="space-y-2">
      <h2 id="config-heading" className="text-lg font-semibold">
        Configuration differences
      </h2>
      <div className="overflow-x-auto rounded-lg border border-slate-200 dark:border-slate-800">
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-xs text-slate-600 dark:bg-slate-800/60 dark:text-slate-300">
            <tr>
              <th scope="col" className="px-3 py-2 font-medium">Setting</th>
              {diff.nodes.map((n) => (
                <th key={n} scope="col" className="px-3 py-2 font-mono font-semibold">
                  {n}
                  {diff.instances[n] && <span className="ml-1 font-normal text-slate-500 dark:text-slate-400">({diff.instances[n]})</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
            {diff.rows.map((r) => (
              <tr
                key={r.setting}
                data-differs={r.differs}
                className={r.differs ? "bg-amber-50 dark:bg-amber-950/40" : ""}
              >
                <th scope="row" className="px-3 py-1.5 font-mono font-medium whitespace-nowrap">
                  {r.differs && (
                    <span className="mr-1 text-amber-700 dark:text-amber-300" title="differs between nodes">
                      ≠
                    </span>
                  )}
                  {r.setting}
                  {r.differs && <span className="sr-only"> (differs)</span>}
                </th>
                {diff.nodes.map((n) => (
                  <td key={n} className="px-3 py-1.5 font-mono break-all">
                    {r.values[n] || <span className="text-slate-400">–</span>}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
