"use client";
/**
 * The filtered incident list: a snapshot of GET /api/incidents for the filters (retried with
 * backoff), kept current by `incident` pushes, reloaded when the filters change and after every
 * (re)subscription. Starts from the server-rendered snapshot when there is one.
 */
import { useCallback, useEffect, useReducer, useRef } from "react";
import type { IncidentMsg } from "../../server/protocol";
import { backoffDelay } from "../overview/transforms";
import { getJson } from "../http";
import { feedReducer, IncidentList, initialFeed, type FeedState } from "./feed";
import { incidentsApiUrl, type IncidentFilters } from "./filters";
import { useLive } from "../live/useLive";

const EVERY_CLUSTER = ["*"];

export function useIncidentFeed(filters: IncidentFilters, initial: IncidentMsg[] | null, initialAt: number | null) {
  const [feed, dispatch] = useReducer(feedReducer, null, () => initialFeed(filters, initial, initialAt));
  const ctl = useRef<{ controller?: AbortController; retry?: ReturnType<typeof setTimeout>; attempt: number; filters: IncidentFilters }>({
    attempt: 0,
    filters,
  });

  const load = useCallback(async (): Promise<void> => {
    const c = ctl.current;
    clearTimeout(c.retry);
    c.controller?.abort();
    const mine = new AbortController();
    c.controller = mine;
    dispatch({ type: "fetchStart" });
    const r = await getJson(incidentsApiUrl(c.filters), IncidentList, mine.signal);
    if (mine !== c.controller) return;
    if (r.ok) {
      c.attempt = 0;
      dispatch({ type: "fetchOk", incidents: r.data, at: Date.now() });
      return;
    }
    if (r.error.kind === "aborted") return;
    const delay = backoffDelay(c.attempt++);
    dispatch({ type: "fetchFail", reason: r.error.message, retryAt: Date.now() + delay });
    c.retry = setTimeout(() => void load(), delay);
  }, []);

  const key = JSON.stringify(filters);
  const first = useRef(true);
  useEffect(() => {
    ctl.current.filters = filters;
    if (first.current) {
      first.current = false;
      if (initial !== null) return; // the server rendered this snapshot; the subscription reloads it
    }
    dispatch({ type: "filters", filters });
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(
    () => () => {
      clearTimeout(ctl.current.retry);
      ctl.current.controller?.abort();
    },
    [],
  );

  // pushes missed before a (re)subscription are not replayed: reload after each one, the first included
  const connection = useLive(EVERY_CLUSTER, {
    onIncident: (raw) => dispatch({ type: "push", raw, at: Date.now() }),
    onResync: () => void load(),
  });
  return { feed: feed as FeedState, connection, reload: load };
}
