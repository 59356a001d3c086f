"use client";
/**
 * The timeline data of one cluster for a range: fetched for the chart's pixel
 * width, then kept live on the shared /live socket. A `cluster` push whose
 * states differ from the lanes ends/starts segments at once (client side) and
 * schedules a refetch of the visible range, at most one per second; an
 * `incident` push updates the bands the same way. Live ranges also refetch
 * every 30 s to 5 min (range.liveRefreshMs: twice a pixel's time), and after a reconnect. The socket is the shared channel (../live/useLive.ts).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ClusterSummary, IncidentMsg } from "../../server/protocol";
import type { TimelineResponse } from "../../server/timeline/types";
import type { ConnectionState } from "../live/connection";
import { useLive } from "../live/useLive";
import { fetchTimeline, takePrefetchedTimeline } from "./api";
import { timelineKey } from "./prefetch";
import { liveRefreshMs, windowOf, type RangeSpec } from "./range";
import { applyLiveSummary, upsertIncident } from "./transforms";

export const REFETCH_MIN_GAP_MS = 1000;

export interface TimelineState {
  data: TimelineResponse | null;
  loading: boolean;
  error: string | null;
  lastUpdate: number | null;
  connection: ConnectionState;
  /** fetches done (for tests and the benchmark) */
  fetches: number;
  /** `data` was loaded for the current cluster, range and width (not a previous one still shown) */
  current: boolean;
}

const keyOf = timelineKey;

export function useTimeline(cluster: string, spec: RangeSpec, width: number): TimelineState {
  const [data, setData] = useState<TimelineResponse | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [lastUpdate, setLastUpdate] = useState<number | null>(null);
  const [fetches, setFetches] = useState(0);
  const [loadedKey, setLoadedKey] = useState<string | null>(null);

  const dataRef = useRef<TimelineResponse | null>(null);
  const req = useRef({ cluster, spec, width });
  req.current = { cluster, spec, width };
  const seq = useRef(0);
  const controller = useRef<AbortController | null>(null);
  const lastFetchAt = useRef(0);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const load = useCallback(async () => {
    const { cluster: c, spec: s, width: w } = req.current;
    if (w <= 0) return;
    clearTimeout(refetchTimer.current);
    refetchTimer.current = undefined;
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    const id = ++seq.current;
    lastFetchAt.current = Date.now();
    setLoading(true);
    const win = windowOf(s, Date.now());
    const r = (await takePrefetchedTimeline(keyOf(c, s, w))) ?? (await fetchTimeline(c, win.from, s.kind === "live" ? null : win.to, w, mine.signal));
    if (id !== seq.current) return;
    setLoading(false);
    setFetches((n) => n + 1);
    if (r.ok) {
      dataRef.current = r.data;
      setData(r.data);
      setLoadedKey(keyOf(c, s, w));
      setError(null);
      setLastUpdate(Date.now());
    } else if (r.error.kind !== "aborted") setError(r.error.message);
  }, []);

  const scheduleRefetch = useCallback(() => {
    if (refetchTimer.current !== undefined) return;
    const wait = Math.max(0, lastFetchAt.current + REFETCH_MIN_GAP_MS - Date.now());
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = undefined;
      void load();
    }, wait);
  }, [load]);

  // (re)load when the cluster, the range or the width changes; width changes come in bursts while resizing
  const specKey = spec.kind === "live" ? spec.preset : `${spec.from}-${spec.to}`;
  const firstLoad = useRef(true);
  useEffect(() => {
    if (width <= 0) return;
    if (firstLoad.current) {
      firstLoad.current = false;
      void load();
      return;
    }
    const t = setTimeout(() => void load(), 150);
    return () => clearTimeout(t);
  }, [cluster, specKey, width, load]);

  const refreshMs = liveRefreshMs(spec, width);
  useEffect(() => {
    if (spec.kind !== "live") return;
    const id = setInterval(() => void load(), refreshMs);
    return () => clearInterval(id);
  }, [spec.kind, refreshMs, load]);

  const isLive = () => req.current.spec.kind === "live";
  const clusters = useMemo(() => [cluster], [cluster]);
  const connection = useLive(clusters, {
    onCluster: (raw) => {
      const parsed = ClusterSummary.safeParse(raw);
      if (!parsed.success || parsed.data.name !== cluster || !isLive() || !dataRef.current) return;
      const next = applyLiveSummary(dataRef.current, parsed.data, Date.now());
      if (next === dataRef.current) return;
      dataRef.current = next;
      setData(next);
      setLastUpdate(Date.now());
      scheduleRefetch();
    },
    onIncident: (raw) => {
      const parsed = IncidentMsg.safeParse((raw as { incident?: unknown } | null)?.incident);
      if (!parsed.success || parsed.data.cluster !== cluster || !isLive() || !dataRef.current) return;
      const next = { ...dataRef.current, incidents: upsertIncident(dataRef.current.incidents, parsed.data) };
      dataRef.current = next;
      setData(next);
      setLastUpdate(Date.now());
      scheduleRefetch();
    },
    // the first load follows the width; after a reconnect, pushes missed meanwhile are not replayed
    onResync: (first) => {
      if (!first) void load();
    },
  });

  useEffect(
    () => () => {
      clearTimeout(refetchTimer.current);
      refetchTimer.current = undefined;
      controller.current?.abort();
    },
    [],
  );

  return { data, loading, error, lastUpdate, connection, fetches, current: loadedKey === keyOf(cluster, spec, width) };
}
