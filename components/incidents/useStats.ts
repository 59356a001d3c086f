"use client";
/**
 * Per-cluster statistics for the filters' range (GET /api/stats), reloaded when the filters change
 * and, a little later, whenever `version` changes (an incident was pushed, or the socket resynced).
 */
import { useEffect, useRef, useState } from "react";
import { StatsResponse } from "../../server/stats/types";
import { getJson } from "../http";
import { statsApiUrl, type IncidentFilters } from "./filters";

/** coalesce a burst of pushes into one reload */
const SETTLE_MS = 1500;

export function useStats(filters: IncidentFilters, initial: StatsResponse | null, version: number) {
  const [stats, setStats] = useState<StatsResponse | null>(initial);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(filters);
  const skipFirst = useRef(initial !== null);
  const lastKey = useRef(key);

  useEffect(() => {
    if (skipFirst.current) {
      skipFirst.current = false;
      return;
    }
    const filtersChanged = lastKey.current !== key;
    lastKey.current = key;
    const controller = new AbortController();
    const timer = setTimeout(
      async () => {
        const r = await getJson(statsApiUrl(filters, Date.now()), StatsResponse, controller.signal);
        if (controller.signal.aborted) return;
        if (r.ok) {
          setStats(r.data);
          setError(null);
        } else {
          setError(r.error.message);
          if (r.error.status === 404) setStats(null);
        }
      },
      filtersChanged ? 0 : SETTLE_MS,
    );
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version]);

  return { stats, error };
}
