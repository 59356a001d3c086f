"use client";
/**
 * `incident` pushes of the shared /live socket (subscribed to every cluster), with the connection
 * status. Adds its listeners on mount and removes them on unmount. `onResync` runs after every
 * successful subscription, the first one included: pushes missed before it (while the page loaded,
 * or while disconnected) are not replayed by the server, so the caller reloads its snapshot then.
 */
import { useEffect, useReducer, useRef } from "react";
import { connectionReducer, initialConnection, type ConnectionState } from "../live/connection";
import { getLiveSocket } from "../live/socket";
import { backoffDelay } from "../overview/transforms";

export function useIncidentSocket(onIncident: (raw: unknown) => void, onResync: () => void): ConnectionState {
  const [connection, dispatch] = useReducer(connectionReducer, 0, initialConnection);
  const handlers = useRef({ onIncident, onResync });
  useEffect(() => {
    handlers.current = { onIncident, onResync };
  });

  useEffect(() => {
    const socket = getLiveSocket();
    let disposed = false;

    const subscribe = (): void => {
      socket.emit("subscribe", { clusters: ["*"] }, (reply) => {
        if (disposed) return;
        if (!reply.ok) dispatch({ type: "subscribeFailed", message: reply.message, at: Date.now() });
        else handlers.current.onResync();
      });
    };
    const onConnect = (): void => {
      dispatch({ type: "connected", at: Date.now() });
      subscribe();
    };
    const onDisconnect = (reason: string): void => {
      dispatch({ type: "disconnected", reason, at: Date.now() });
      if (reason === "io server disconnect") setTimeout(() => !disposed && socket.connect(), backoffDelay(1));
    };
    const onConnectError = (err: Error): void =>
      dispatch({ type: "connectError", message: err.message, willRetry: socket.active, at: Date.now() });
    const onPush = (raw: unknown): void => handlers.current.onIncident(raw);
    const onOffline = (): void => dispatch({ type: "browserOffline", at: Date.now() });
    const onOnline = (): void => dispatch({ type: "browserOnline", at: Date.now() });

    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("connect_error", onConnectError);
    socket.on("incident", onPush);
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
    if (socket.connected) onConnect();
    else if (!socket.active) socket.connect();

    return () => {
      disposed = true;
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("connect_error", onConnectError);
      socket.off("incident", onPush);
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
    };
  }, []);

  return connection;
}
