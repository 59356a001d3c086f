"use client";
/**
 * Live cluster summaries: the GET /api/clusters snapshot, then `cluster` pushes on the shared /live
 * socket. Adds its listeners on mount and removes them on unmount. After a reconnect it reloads the
 * snapshot (pushes missed while disconnected are not replayed by the server).
 */
import { useEffect, useMemo, useReducer } from "react";
import type { ClusterSummary } from "../../server/protocol";
import { sortClusters, backoffDelay } from "../overview/transforms";
import { connectionReducer, initialConnection, type ConnectionState } from "./connection";
import { fetchClusters } from "./fetchClusters";
import { initialLiveState, liveReducer, type LiveState } from "./liveState";
import { getLiveSocket } from "./socket";

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
  const [connection, dispatchConn] = useReducer(connectionReducer, 0, initialConnection);

  useEffect(() => {
    const socket = getLiveSocket();
    let disposed = false;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    let wasDisconnected = false;

    const load = async (): Promise<void> => {
      clearTimeout(retryTimer);
      controller?.abort();
      const mine = new AbortController();
      controller = mine;
      dispatch({ type: "fetchStart" });
      const result = await fetchClusters(mine.signal);
      if (disposed || mine !== controller) return;
      if (result.ok) {
        attempt = 0;
        dispatch({ type: "fetchOk", clusters: result.clusters, at: Date.now() });
        return;
      }
      if (result.aborted) return;
      const delay = backoffDelay(attempt++);
      dispatch({ type: "fetchFail", reason: result.reason, retryAt: Date.now() + delay });
      retryTimer = setTimeout(() => void load(), delay);
    };

    const subscribe = (): void => {
      socket.emit("subscribe", { clusters: ["*"] }, (reply) => {
        if (!disposed && !reply.ok) dispatchConn({ type: "subscribeFailed", message: reply.message, at: Date.now() });
      });
    };
    const onConnect = (): void => {
      dispatchConn({ type: "connected", at: Date.now() });
      subscribe();
      if (wasDisconnected) void load();
      wasDisconnected = false;
    };
    const onDisconnect = (reason: string): void => {
      wasDisconnected = true;
      dispatchConn({ type: "disconnected", reason, at: Date.now() });
      // The server closed us on purpose: socket.io will not retry by itself.
      if (reason === "io server disconnect") setTimeout(() => !disposed && socket.connect(), backoffDelay(1));
    };
    const onConnectError = (err: Error): void => {
      wasDisconnected = true;
      dispatchConn({ type: "connectError", message: err.message, willRetry: socket.active, at: Date.now() });
    };
    const onCluster = (raw: unknown): void => dispatch({ type: "push", raw, at: Date.now() });
    const onOffline = (): void => dispatchConn({ type: "browserOffline", at: Date.now() });
    const onOnline = (): void => dispatchConn({ type: "browserOnline", at: Date.now() });

    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("connect_error", onConnectError);
    socket.on("cluster", onCluster);
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
    if (socket.connected) {
      dispatchConn({ type: "connected", at: Date.now() });
      subscribe();
    } else if (!socket.active) {
      socket.connect();
    }
    void load();

    return () => {
      disposed = true;
      clearTimeout(retryTimer);
      controller?.abort();
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("connect_error", onConnectError);
      socket.off("cluster", onCluster);
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
    };
  }, []);

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
