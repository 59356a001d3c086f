"use client";
/**
 * The incident review: filters (kept in the URL), availability statistics for the range, and the
 * filtered incident list, which new incidents join live.
 */
import { useEffect, useMemo, useState } from "react";
import type { IncidentMsg } from "../../server/protocol";
import type { StatsResponse } from "../../server/stats/types";
import { ConnectionBar } from "../overview/ConnectionBar";
import { FilterBar } from "./FilterBar";
import { filtersToSearch, parseFilters, reviewHref, sameFilters, type IncidentFilters } from "./filters";
import { IncidentList } from "./IncidentList";
import { StatsPanel } from "./StatsPanel";
import { useNow } from "../useNow";
import { useIncidentFeed } from "./useIncidentFeed";
import { useStats } from "./useStats";

/** GET /api/incidents answers at most this many without a `limit` */
const LIST_LIMIT = 500;

export interface IncidentReviewProps {
  filters: IncidentFilters;
  /** what the URL asked for that could not be used */
  problems: string[];
  incidents: IncidentMsg[] | null;
  stats: StatsResponse | null;
  clusters: string[];
  /** epoch ms of the server render */
  renderedAt: number;
}

export function IncidentReview(props: IncidentReviewProps) {
  const [filters, setFilters] = useState(props.filters);
  const [problems, setProblems] = useState(props.problems);
  const now = useNow(1000, props.renderedAt);
  const { feed, connection } = useIncidentFeed(filters, props.incidents, props.incidents ? props.renderedAt : null);
  const [version, setVersion] = useState(0);
  useEffect(() => setVersion((v) => v + 1), [feed.lastUpdate]);
  const { stats, error: statsError } = useStats(filters, props.stats, version);

  // the URL follows the filters; back/forward bring filters back from the URL
  useEffect(() => {
    if (filtersToSearch(filters) !== window.location.search.replace(/^\?/, "")) {
      window.history.replaceState(null, "", reviewHref(filters));
    }
  }, [filters]);
  useEffect(() => {
    const onPop = () => {
      const parsed = parseFilters(new URLSearchParams(window.location.search));
      setFilters((f) => (sameFilters(f, parsed.filters) ? f : parsed.filters));
      setProblems(parsed.problems);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const clusterNames = useMemo(() => {
    const set = new Set(props.clusters);
    for (const c of stats?.clusters ?? []) set.add(c.cluster);
    for (const i of feed.incidents) set.add(i.cluster);
    return [...set].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  }, [props.clusters, stats, feed.incidents]);

  const open = feed.incidents.filter((i) => i.closedAt === null).length;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-x-6 gap-y-2">
        <p data-testid="incident-count" className="text-sm">
          <span className="font-semibold">{feed.incidents.length}</span> {feed.incidents.length === 1 ? "incident" : "incidents"}
          {open > 0 && <span className="font-semibold text-red-700 dark:text-red-300"> · {open} open</span>}
        </p>
        <ConnectionBar connection={connection} lastUpdate={feed.lastUpdate} now={now} />
      </div>

      <FilterBar
        filters={filters}
        clusters={clusterNames}
        onChange={(f) => {
          setProblems([]);
          setFilters(f);
        }}
      />
      {problems.length > 0 && (
        <p role="status" data-testid="filter-problems" className="rounded-md border border-amber-400 bg-amber-50 px-3 py-2 text-sm text-amber-950 dark:border-amber-600 dark:bg-amber-950 dark:text-amber-100">
          Ignored in the address: {problems.join("; ")}.
        </p>
      )}

      <StatsPanel stats={stats} error={statsError} />

      {feed.fetchError && (
        <p role="alert" data-testid="fetch-error" className="rounded-lg border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
          cannot load incidents: {feed.fetchError.reason}; retrying in {Math.max(0, Math.ceil((feed.fetchError.retryAt - now) / 1000))} s
        </p>
      )}
      {!feed.loaded && !feed.fetchError && <p className="text-slate-500 dark:text-slate-400">Loading incidents…</p>}
      {feed.loaded && feed.incidents.length === 0 ? (
        <p data-testid="no-incidents" className="rounded-lg border border-dashed border-slate-300 bg-white px-4 py-6 text-center text-slate-600 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-400">
          No incident matches these filters.
        </p>
      ) : (
        <IncidentList incidents={feed.incidents} arrived={feed.arrived} now={now} />
      )}
      {feed.incidents.length >= LIST_LIMIT && (
        <p data-testid="list-limit" className="text-sm text-slate-600 dark:text-slate-400">
          Showing the newest {LIST_LIMIT} incidents: narrow the filters (cluster, kind, time range) to see older ones.
        </p>
      )}
      {feed.invalidPushes > 0 && (
        <p className="text-xs text-slate-500 dark:text-slate-400">Ignored {feed.invalidPushes} invalid live updates.</p>
      )}
    </div>
  );
}
