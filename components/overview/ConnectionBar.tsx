"use client";
import type { ConnectionState } from "../live/connection";
import { CONNECTION_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";
import { useHydrated } from "../useHydrated";
import { formatRelative } from "./transforms";

/** the browser's local time of day, 00:00:00-23:59:59 (hourCycle h23: `hour12: false` gives "24:05" after midnight in some ICU versions) */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

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
  // the local clock only once hydrated: the server knows neither the browser's time zone nor its locale
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
            {hydrated ? `${clock(lastUpdate)} (${formatRelative(lastUpdate, now)})` : formatRelative(lastUpdate, now)}
          </time>
        )}
      </span>
      {notLive && connection.detail && (
        <span className="w-full text-xs text-slate-500 sm:w-auto dark:text-slate-400">
          {connection.status === "connecting" ? "" : `since ${formatRelative(connection.since, now)}: `}
          {connection.detail}
        </span>
      )}
    </div>
  );
}
