"use client";
/**
 * The one hook on the /live channel (socket.ts): subscribes to `clusters` while mounted, hands
 * `cluster`/`incident` pushes to the latest handlers, calls `onResync` after each accepted
 * subscription (see LiveSubscriber), and returns the connection status for the banner.
 * Listeners are added on mount and removed on unmount.
 */
import { useEffect, useReducer, useRef } from "react";
import { connectionReducer, initialConnection, type ConnectionState } from "./connection";
import { getLiveChannel } from "./socket";

export interface LiveHandlers {
  onCluster?: (raw: unknown) => void;
  onIncident?: (raw: unknown) => void;
  onResync?: (first: boolean) => void;
}

export function useLive(clusters: readonly string[], handlers: LiveHandlers): ConnectionState {
  const [connection, dispatch] = useReducer(connectionReducer, 0, initialConnection);
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });
  const key = clusters.join("\n");
  useEffect(() => {
    return getLiveChannel().add({
      clusters: key.split("\n"),
      onCluster: (raw) => latest.current.onCluster?.(raw),
      onIncident: (raw) => latest.current.onIncident?.(raw),
      onResync: (first) => latest.current.onResync?.(first),
      onConnection: dispatch,
    });
  }, [key]);
  return connection;
}
