"use client";
import type { ConnectionState } from "../live/connection";
import { CONNECTION_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";
import { useHydrated } from "../useHydrated";
import { formatAgo, formatTimeOfDay, TIME_ZONE } from "../format";

/** Live / reconnecting / offline, and when data last arrived: a frozen view must look frozen. */
export function ConnectionBar({
  connection,
  lastUpdate,
  now,
}: {
  connection: ConnectionState;
  lastUpdate: number | null;
  now: number;
}) {
  // the time of day only once hydrated: the server render has no data yet, and its clock is not the browser's
  const hydrated = useHydrated();
  const look = CONNECTION_LOOK[connection.status];
  const notLive = connection.status !== "live";
  return (
    <div role="status" aria-live="polite" className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
      <span
        data-testid="connection"
        data-connection={connection.status}
        title={look.description}
        className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-0.5 text-xs font-bold tracking-wider uppercase ${look.badge}`}
      >
        <StatusIcon name={look.icon} className={`size-2.5 ${connection.status === "live" ? "motion-safe:animate-pulse" : ""}`} />
        {look.label}
      </span>
      <span data-testid="last-update" className="text-slate-600 dark:text-slate-400">
        last update{" "}
        {lastUpdate === null ? (
          "never"
        ) : (
          <time dateTime={new Date(lastUpdate).toISOString()} className="tabular-nums">
            {hydrated ? `${formatTimeOfDay(lastUpdate)} ${TIME_ZONE} (${formatAgo(lastUpdate, now)})` : formatAgo(lastUpdate, now)}
          </time>
        )}
      </span>
      {notLive && connection.detail && (
        <span className="w-full text-xs text-slate-500 sm:w-auto dark:text-slate-400">
          {connection.status === "connecting" ? "" : `since ${formatAgo(connection.since, now)}: `}
          {connection.detail}
        </span>
      )}
    </div>
  );
}
