import Link from "next/link";
import type { ReactNode } from "react";
import type { StatsResponse } from "../../server/stats/types";
import { formatDuration, formatTime } from "../format";

const th = "px-3 py-2 text-left text-xs font-medium text-slate-500 dark:text-slate-400";
const td = "px-3 py-2 tabular-nums whitespace-nowrap max-md:py-0.5";
/** below `md` a row becomes a small card: each cell shows its own label */
const cellLabel = "text-slate-500 md:hidden dark:text-slate-400";

/** A value that should draw the eye when it is not zero: bold + a marker, not only colour. */
function Alarm({ on, children }: { on: boolean; children: ReactNode }) {
  return on ? (
    <span className="font-semibold text-red-700 dark:text-red-300">
      <span aria-hidden="true">▲ </span>
      {children}
    </span>
  ) : (
    <span>{children}</span>
  );
}

/** Per cluster over the range: time without MASTER, in split brain, failovers, MTTR. */
export function StatsPanel({ stats, error }: { stats: StatsResponse | null; error: string | null }) {
  return (
    <section
      aria-labelledby="stats-heading"
      data-testid="stats"
      className="rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"
    >
      <header className="flex flex-wrap items-baseline gap-x-3 gap-y-1 border-b border-slate-200 px-3 py-2 dark:border-slate-800">
        <h2 id="stats-heading" className="font-semibold">
          Availability
        </h2>
        {stats && (
          <span data-testid="stats-range" className="text-xs text-slate-500 dark:text-slate-400">
            {formatTime(stats.from)} – {formatTime(stats.to)}
          </span>
        )}
        {error && (
          <span role="alert" className="text-xs font-medium text-red-700 dark:text-red-300">
            could not load: {error}
          </span>
        )}
      </header>
      {!stats || stats.clusters.length === 0 ? (
        <p className="px-3 py-3 text-sm text-slate-500 dark:text-slate-400">{stats ? "No cluster in this range." : "Loading…"}</p>
      ) : (
        <table className="w-full text-sm max-md:block">
          <thead className="max-md:sr-only">
            <tr>
              <th scope="col" className={th}>Cluster</th>
              <th scope="col" className={th}>Without MASTER</th>
              <th scope="col" className={th}>Split brain</th>
              <th scope="col" className={th}>Failovers</th>
              <th scope="col" className={th}>Mean time to recover</th>
              <th scope="col" className={th}>Incidents</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-200 max-md:block dark:divide-slate-800">
            {stats.clusters.map((c) => {
              const count = Object.values(c.incidents).reduce((a, b) => a + (b ?? 0), 0);
              const range = `from=${encodeURIComponent(stats.from)}&to=${encodeURIComponent(stats.to)}`;
              return (
                <tr
                  key={c.cluster}
                  data-testid={`stats-${c.cluster}`}
                  data-failovers={c.failovers}
                  data-no-master-ms={c.noMasterMs}
                  data-split-brain-ms={c.splitBrainMs}
                  className="max-md:grid max-md:grid-cols-2 max-md:gap-x-3 max-md:py-2"
                >
                  <th scope="row" className="px-3 py-2 text-left font-medium break-all max-md:col-span-2 max-md:py-0.5">
                    <Link href={`/clusters/${encodeURIComponent(c.cluster)}?${range}`} prefetch={false} className="hover:underline">
                      {c.cluster}
                    </Link>
                  </th>
                  <td className={td}>
                    <span className={cellLabel}>no MASTER </span>
                    <Alarm on={c.noMasterMs > 0}>{c.noMasterMs > 0 ? formatDuration(c.noMasterMs) : "none"}</Alarm>
                  </td>
                  <td className={td}>
                    <span className={cellLabel}>split brain </span>
                    <Alarm on={c.splitBrainMs > 0}>{c.splitBrainMs > 0 ? formatDuration(c.splitBrainMs) : "none"}</Alarm>
                  </td>
                  <td className={td}>
                    <span className={cellLabel}>failovers </span>
                    {c.failovers}
                  </td>
                  <td className={td} title={`${c.recovered} critical ${c.recovered === 1 ? "incident" : "incidents"} recovered in the range`}>
                    <span className={cellLabel}>MTTR </span>
                    {c.mttrMs === null ? "–" : `${formatDuration(c.mttrMs)} (${c.recovered})`}
                  </td>
                  <td className={td}>
                    <span className={cellLabel}>incidents </span>
                    {count}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
