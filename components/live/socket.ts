/**
 * The browser's single socket.io connection to the /live namespace, created on first use.
 * Hooks add and remove their own listeners on it; nothing else opens sockets.
 */
import { io, type Socket } from "socket.io-client";
import type { LiveClientToServer, LiveServerToClient } from "../../server/protocol";

export type LiveSocket = Socket<LiveServerToClient, LiveClientToServer>;

let socket: LiveSocket | null = null;

export function getLiveSocket(): LiveSocket {
  if (!socket) socket = io("/live", { transports: ["websocket"] });
  return socket;
}
