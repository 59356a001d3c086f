"use client";
import { useEffect } from "react";
import { useClusters } from "../live/useClusters";
import { useNow } from "../useNow";
import { ClusterCard } from "./ClusterCard";
import { ConnectionBar } from "./ConnectionBar";
import { EmptyState } from "./EmptyState";
import { FetchError } from "./FetchError";
import { OverviewSummary } from "./OverviewSummary";
import { StaleNotice } from "./StaleNotice";
import { pageTitle } from "./transforms";

const TITLE = "Clusters · keepalived monitor";

/** The live overview: every cluster, node and instance, updated as pushes arrive. */
export function LiveOverview() {
  const live = useClusters();
  const now = useNow(1000);
  const { clusters, loaded, connection } = live;

  useEffect(() => {
    document.title = pageTitle(clusters, TITLE);
  }, [clusters]);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-x-6 gap-y-2">
        {loaded ? <OverviewSummary clusters={clusters} /> : <span />}
        <ConnectionBar connection={connection} lastUpdate={live.lastUpdate} now={now} />
      </div>

      {live.fetchError && <FetchError reason={live.fetchError.reason} retryAt={live.fetchError.retryAt} now={now} />}
      {loaded && connection.status !== "live" && connection.status !== "connecting" && (
        <StaleNotice status={connection.status} />
      )}

      {!loaded && !live.fetchError && (
        <p data-testid="loading" className="text-slate-500 dark:text-slate-400">
          Loading clusters…
        </p>
      )}
      {loaded && clusters.length === 0 && <EmptyState />}

      <div className="grid grid-cols-[repeat(auto-fit,minmax(min(100%,52rem),1fr))] items-start gap-4">
        {clusters.map((c) => (
          <ClusterCard key={c.name} cluster={c} now={now} />
        ))}
      </div>

      {live.invalidPushes > 0 && (
        <p data-testid="invalid-pushes" className="text-xs text-slate-500 dark:text-slate-400">
          Ignored {live.invalidPushes} invalid live {live.invalidPushes === 1 ? "update" : "updates"}
          {live.lastInvalid ? ` (last: ${live.lastInvalid})` : ""}.
        </p>
      )}
    </div>
  );
}
