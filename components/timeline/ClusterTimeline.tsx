"use client";
/**
 * The cluster timeline page's interactive part: range (in the URL), live data,
 * swimlanes, legend and the details of what was clicked. Time-dependent output
 * (local times, the moving right edge) is drawn after mount only, so the server
 * render never disagrees with the browser's clock or time zone.
 */
import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useId, useMemo, useState } from "react";
import type { ConnectionState } from "../live/connection";
import { ConnectionBar } from "../overview/ConnectionBar";
import { useNow } from "../useNow";
import { DetailsPanel } from "./DetailsPanel";
import { Legend } from "./Legend";
import { Patterns } from "./Patterns";
import { RangeControls } from "./RangeControls";
import { Swimlanes, type Selection } from "./Swimlanes";
import { clockTickMs, fixedRange, pan, parseRange, rangeQuery, windowOf, zoom, type RangeSpec } from "./range";
import { ChartCard, PlotSlot } from "./ChartFrame";
import { widthBucket } from "./prefetch";
import { laneKey } from "./transforms";
import { useElementWidth } from "./useElementWidth";
import { useTimeline } from "./useTimeline";


export function ClusterTimeline({ cluster }: { cluster: string }) {
  const params = useSearchParams();
  const query = params.toString();
  const spec = useMemo(() => parseRange(new URLSearchParams(query)), [query]);
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const plot = useElementWidth<HTMLDivElement>();
  const plotWidth = plot.width;
  const tl = useTimeline(cluster, spec, widthBucket(plotWidth));
  // the chart's clock moves a pixel at a time (clockTickMs); the connection bar keeps its own, by the second
  const now = useNow(clockTickMs(spec, plotWidth));
  const win = windowOf(spec, now);
  const prefix = `tl${useId().replace(/[^A-Za-z0-9_-]/g, "")}`;
  const [selection, setSelection] = useState<Selection | null>(null);

  const setSpec = useCallback(
    (next: RangeSpec) => {
      const q = rangeQuery(next, new URLSearchParams(window.location.search));
      window.history.pushState(null, "", `${window.location.pathname}?${q}`);
    },
    [],
  );
  const onZoom = useCallback((f: number, t: number) => setSpec(fixedRange(f, t, Date.now())), [setSpec]);

  useEffect(() => {
    document.title = `${cluster} timeline · keepalived monitor`;
  }, [cluster]);

  const lanesByKey = useMemo(() => new Map((tl.data?.lanes ?? []).map((l) => [laneKey(l), l])), [tl.data]);
  // drawn: data, a measured plot, and mounted (the prefetched answer may arrive before the mount's own render)
  const rendered = tl.data !== null && plotWidth > 0 && mounted;
  const current = rendered && tl.current;

  return (
    <div className="space-y-3" data-testid="timeline" data-range={spec.kind === "live" ? spec.preset : "fixed"} data-from={new Date(win.from).toISOString()} data-to={spec.kind === "fixed" ? new Date(win.to).toISOString() : "now"} data-rendered={current ? "true" : "false"} aria-busy={!current} data-fetches={tl.fetches}>
      <Patterns prefix={prefix} />
      <div className="flex flex-wrap items-center justify-between gap-x-6 gap-y-2">
        <h1 className="text-xl font-bold break-all">
          {cluster} <span className="font-normal text-slate-500 dark:text-slate-400">timeline</span>
        </h1>
        {mounted && <SecondsConnectionBar connection={tl.connection} lastUpdate={tl.lastUpdate} />}
      </div>
      {mounted && (
        <RangeControls
          spec={spec}
          from={win.from}
          to={win.to}
          onChange={setSpec}
          onPan={(f) => setSpec(pan(spec, f, Date.now()))}
          onZoomOut={() => setSpec(zoom(spec, 2, Date.now()))}
        />
      )}
      <Legend prefix={prefix} />
      {tl.error && (
        <p role="alert" data-testid="timeline-error" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 ring-1 ring-red-300 dark:bg-red-950 dark:text-red-200 dark:ring-red-800">
          Could not load the timeline: {tl.error}
        </p>
      )}
      <ChartCard>
        {rendered ? (
          tl.data!.lanes.length === 0 ? (
            <EmptyLanes plotRef={plot.ref} />
          ) : (
            <Swimlanes
              data={tl.data!}
              from={win.from}
              to={win.to}
              now={now}
              width={plotWidth}
              plotRef={plot.ref}
              plotEl={plot.el}
              prefix={prefix}
              selection={selection}
              onSelect={setSelection}
              onZoom={onZoom}
            />
          )
        ) : (
          <PlotSlot plotRef={plot.ref} testId="loading">
            {tl.error ? "No data." : "Loading the timeline…"}
          </PlotSlot>
        )}
      </ChartCard>
      {selection && tl.data && (
        <DetailsPanel
          cluster={cluster}
          selection={selection}
          lanes={lanesByKey}
          incidents={tl.data.incidents}
          evidenceOmitted={tl.data.evidence === "none"}
          now={now}
          onZoom={onZoom}
          onClose={() => setSelection(null)}
        />
      )}
    </div>
  );
}

/** the connection bar with a clock of its own, ticking every second without redrawing the chart */
function SecondsConnectionBar({ connection, lastUpdate }: { connection: ConnectionState; lastUpdate: number | null }) {
  const now = useNow(1000);
  return <ConnectionBar connection={connection} lastUpdate={lastUpdate} now={Math.max(now, lastUpdate ?? 0)} />;
}

function EmptyLanes({ plotRef }: { plotRef: (n: HTMLDivElement | null) => void }) {
  return (
    <PlotSlot plotRef={plotRef} testId="no-lanes">
      No node of this cluster has reported a VRRP instance yet.
    </PlotSlot>
  );
}
