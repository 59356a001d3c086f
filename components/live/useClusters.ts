"use client";
/**
 * Live cluster summaries: the GET /api/clusters snapshot, then `cluster` pushes on the shared /live
 * channel (useLive). After a reconnect it reloads the snapshot (pushes missed while disconnected
 * are not replayed by the server).
 */
import { useEffect, useMemo, useReducer, useRef } from "react";
import type { ClusterSummary } from "../../server/protocol";
import { sortClusters, backoffDelay } from "../overview/transforms";
import { getJson } from "../http";
import type { ConnectionState } from "./connection";
import { ClusterList, initialLiveState, liveReducer, type LiveState } from "./liveState";
import { useLive } from "./useLive";

const EVERY_CLUSTER = ["*"];

export interface LiveClusters {
  /** sorted worst first, then by name */
  clusters: ClusterSummary[];
  loaded: boolean;
  lastUpdate: number | null;
  fetchError: LiveState["fetchError"];
  invalidPushes: number;
  lastInvalid: string | null;
  connection: ConnectionState;
}

export function useClusters(): LiveClusters {
  const [live, dispatch] = useReducer(liveReducer, undefined, initialLiveState);
  const loader = useRef<(() => void) | null>(null);

  useEffect(() => {
    let disposed = false;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;

    const load = async (): Promise<void> => {
      clearTimeout(retryTimer);
      controller?.abort();
      const mine = new AbortController();
      controller = mine;
      dispatch({ type: "fetchStart" });
      const result = await getJson("/api/clusters", ClusterList, mine.signal);
      if (disposed || mine !== controller) return;
      if (result.ok) {
        attempt = 0;
        dispatch({ type: "fetchOk", clusters: result.data, at: Date.now() });
        return;
      }
      if (result.error.kind === "aborted") return;
      const delay = backoffDelay(attempt++);
      dispatch({ type: "fetchFail", reason: result.error.message, retryAt: Date.now() + delay });
      retryTimer = setTimeout(() => void load(), delay);
    };
    loader.current = () => void load();
    void load();
    return () => {
      disposed = true;
      loader.current = null;
      clearTimeout(retryTimer);
      controller?.abort();
    };
  }, []);

  const connection = useLive(EVERY_CLUSTER, {
    onCluster: (raw) => dispatch({ type: "push", raw, at: Date.now() }),
    // the mount already loads the snapshot; after a reconnect, pushes missed meanwhile are not replayed
    onResync: (first) => {
      if (!first) loader.current?.();
    },
  });

  const clusters = useMemo(() => sortClusters(Object.values(live.clusters)), [live.clusters]);
  return {
    clusters,
    loaded: live.loaded,
    lastUpdate: live.lastUpdate,
    fetchError: live.fetchError,
    invalidPushes: live.invalidPushes,
    lastInvalid: live.lastInvalid,
    connection,
  };
}
