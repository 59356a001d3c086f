import Link from "next/link";
import type { IncidentMsg } from "../../server/protocol";
import { INCIDENT_KIND_LOOK, SEVERITY_LOOK } from "../status";
import { IncidentStateBadge, KindLabel, SeverityBadge } from "./IncidentBadges";
import { formatDuration, formatTime } from "../format";
import { incidentDurationMs } from "./feed";

/** How long a pushed incident keeps its "new" marker. */
const NEW_FOR_MS = 5 * 60_000;

function Row({ inc, now, isNew }: { inc: IncidentMsg; now: number; isNew: boolean }) {
  const open = inc.closedAt === null;
  const instances = [...new Set(Object.values(inc.instances))];
  return (
    <li
      data-testid={`incident-${inc.id}`}
      data-kind={inc.kind}
      data-cluster={inc.cluster}
      data-open={open}
      className={`border-l-4 ${open ? SEVERITY_LOOK[inc.severity].accent : "border-l-slate-300 dark:border-l-slate-700"} ${
        isNew ? "bg-amber-50 dark:bg-amber-950/40" : ""
      }`}
    >
      <Link
        href={`/incidents/${encodeURIComponent(inc.id)}`}
        className="grid gap-x-4 gap-y-1 px-3 py-2.5 hover:bg-slate-50 focus-visible:outline-2 md:grid-cols-[8.5rem_minmax(0,1fr)_auto] dark:hover:bg-slate-800/60"
      >
        <div className="flex flex-wrap items-center gap-1.5 md:flex-col md:items-start">
          <SeverityBadge severity={inc.severity} />
          <IncidentStateBadge open={open} />
          {isNew && (
            <span data-testid="new-marker" className="rounded bg-amber-300 px-1.5 text-xs font-bold text-amber-950">
              NEW
            </span>
          )}
        </div>
        <div className="min-w-0">
          <p className="flex flex-wrap items-baseline gap-x-2">
            <KindLabel kind={inc.kind} />
            <span className="text-sm text-slate-600 dark:text-slate-400">{INCIDENT_KIND_LOOK[inc.kind].short}</span>
            <span className="font-semibold break-all">{inc.cluster}</span>
            {inc.vrid !== null && <span className="text-sm tabular-nums">VRID {inc.vrid}</span>}
            {inc.follows && (
              <span data-testid="follows-marker" className="text-xs text-slate-600 dark:text-slate-300" title="a new episode of the same subject within the hold-down, with a different cause">
                follows #{inc.follows}
              </span>
            )}
            {inc.silenced && (
              <span className="rounded bg-slate-200 px-1.5 text-xs text-slate-700 dark:bg-slate-700 dark:text-slate-200" title="opened during a maintenance window: not notified">
                silenced
              </span>
            )}
          </p>
          <p className="mt-0.5 text-sm text-slate-700 dark:text-slate-300">{inc.cause.summary}</p>
          <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">
            nodes <span className="font-mono">{inc.nodes.join(", ") || "–"}</span>
            {instances.length > 0 && (
              <>
                {" "}· instance <span className="font-mono">{instances.join(", ")}</span>
              </>
            )}
          </p>
        </div>
        <div className="text-xs text-slate-600 tabular-nums md:text-right dark:text-slate-400">
          <p>
            <span className="md:hidden">opened </span>
            <time dateTime={inc.openedAt}>{formatTime(inc.openedAt)}</time>
          </p>
          <p className="font-medium text-slate-800 dark:text-slate-200">
            {open ? "open for " : "lasted "}
            {formatDuration(incidentDurationMs(inc, now))}
          </p>
        </div>
      </Link>
    </li>
  );
}

export function IncidentList({
  incidents,
  arrived,
  now,
}: {
  incidents: IncidentMsg[];
  arrived: Record<string, number>;
  now: number;
}) {
  return (
    <ul
      data-testid="incident-list"
      className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
    >
      {incidents.map((inc) => (
        <Row key={inc.id} inc={inc} now={now} isNew={arrived[inc.id] !== undefined && now - arrived[inc.id]! < NEW_FOR_MS} />
      ))}
    </ul>
  );
}
