/**
 * A browser's /live socket in tests (a real socket.io client): connect with a cookie, subscribe,
 * and record every cluster summary and incident pushed to it, by cluster.
 */
import { io, type Socket } from "socket.io-client";
import type { ClusterSummary, IncidentMsg } from "../../server/protocol";

export interface LiveClient {
  socket: Socket;
  /** cluster names of the `cluster` summaries received, in order */
  summaries: string[];
  /** cluster names of the `incident` messages received, in order */
  incidents: string[];
  /** subscribes and waits for the server's answer */
  subscribe(clusters: string[]): Promise<{ ok: boolean; code?: string; message?: string }>;
  /** what was received so far of `cluster` (summaries and incidents) */
  of(cluster: string): number;
  close(): void;
}

/** connects to `${url}/live` with these headers; rejects with the refusal's code */
export function connectLive(url: string, headers: Record<string, string>): Promise<LiveClient> {
  // forceNew: each socket its own connection, so it carries its own cookie (no multiplexing)
  const socket = io(`${url}/live`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { origin: url, ...headers } });
  const c: LiveClient = {
    socket,
    summaries: [],
    incidents: [],
    subscribe: (clusters) => socket.timeout(10_000).emitWithAck("subscribe", { clusters }) as Promise<{ ok: boolean; code?: string; message?: string }>,
    of: (cluster) => c.summaries.filter((n) => n === cluster).length + c.incidents.filter((n) => n === cluster).length,
    close: () => socket.close(),
  };
  socket.on("cluster", (s: ClusterSummary) => c.summaries.push(s.name));
  socket.on("incident", (m: { incident: IncidentMsg }) => c.incidents.push(m.incident.cluster));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(c));
    socket.once("connect_error", (e: Error & { data?: { code?: string } }) => {
      socket.close();
      reject(new Error(`/live refused: ${e.data?.code ?? e.message}`));
    });
  });
}
