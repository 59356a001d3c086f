/**
 * Connection status of the /live socket as a pure reducer, so the banner logic is testable:
 * connecting (never connected yet) -> live -> reconnecting -> offline (after repeated failures,
 * a refused subscription, or the browser itself being offline). socket.io keeps retrying throughout.
 */
export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "offline";

export interface ConnectionState {
  status: ConnectionStatus;
  /** why we are not live (last error), null when live */
  detail: string | null;
  /** epoch ms when `status` last changed */
  since: number;
  everConnected: boolean;
  /** consecutive failed connection attempts */
  failures: number;
}

export type ConnectionEvent =
  | { type: "connected"; at: number }
  | { type: "disconnected"; reason: string; at: number }
  | { type: "connectError"; message: string; willRetry: boolean; at: number }
  | { type: "subscribeFailed"; message: string; at: number }
  | { type: "browserOffline"; at: number }
  | { type: "browserOnline"; at: number };

/** Failed attempts in a row after which "reconnecting" turns into "offline". */
export const OFFLINE_AFTER_FAILURES = 3;

export function initialConnection(at: number): ConnectionState {
  return { status: "connecting", detail: null, since: at, everConnected: false, failures: 0 };
}

function to(state: ConnectionState, status: ConnectionStatus, at: number, patch: Partial<ConnectionState>): ConnectionState {
  return { ...state, ...patch, status, since: status === state.status ? state.since : at };
}

export function connectionReducer(state: ConnectionState, ev: ConnectionEvent): ConnectionState {
  switch (ev.type) {
    case "connected":
      return to(state, "live", ev.at, { detail: null, everConnected: true, failures: 0 });
    case "disconnected":
      return to(state, state.status === "offline" ? "offline" : "reconnecting", ev.at, { detail: ev.reason });
    case "connectError": {
      const failures = state.failures + 1;
      const next: ConnectionStatus =
        !ev.willRetry || failures >= OFFLINE_AFTER_FAILURES || state.status === "offline"
          ? "offline"
          : state.everConnected
            ? "reconnecting"
            : "connecting";
      return to(state, next, ev.at, { detail: ev.message, failures });
    }
    case "subscribeFailed":
      return to(state, "offline", ev.at, { detail: `subscription refused: ${ev.message}` });
    case "browserOffline":
      return to(state, "offline", ev.at, { detail: "this browser is offline" });
    case "browserOnline":
      return state.status === "offline" ? to(state, "reconnecting", ev.at, { detail: null, failures: 0 }) : state;
  }
}
