/**
 * State of the live overview as a pure reducer: the snapshot from GET /api/clusters plus the
 * `cluster` pushes of /live. Pushes are validated here (invalid ones are ignored and counted).
 *
 * Ordering: a push that arrives while a snapshot request is in flight is newer than (or as new as)
 * that snapshot, so it is re-applied on top of the snapshot when the snapshot lands.
 */
import * as z from "zod/mini";
import { ClusterSummary, describeZodError } from "../../server/protocol";

export const ClusterList = z.array(ClusterSummary);

export interface LiveState {
  clusters: Record<string, ClusterSummary>;
  /** a snapshot has been applied at least once */
  loaded: boolean;
  /** epoch ms of the last data applied (snapshot or push) */
  lastUpdate: number | null;
  /** pushes ignored because they failed validation */
  invalidPushes: number;
  lastInvalid: string | null;
  /** pushes received since the pending snapshot request started; null when none is pending */
  pushedDuringFetch: Record<string, ClusterSummary> | null;
  fetchError: { reason: string; retryAt: number } | null;
}

export type LiveAction =
  | { type: "fetchStart" }
  | { type: "fetchOk"; clusters: ClusterSummary[]; at: number }
  | { type: "fetchFail"; reason: string; retryAt: number }
  | { type: "push"; raw: unknown; at: number };

export function initialLiveState(): LiveState {
  return {
    clusters: {},
    loaded: false,
    lastUpdate: null,
    invalidPushes: 0,
    lastInvalid: null,
    pushedDuringFetch: null,
    fetchError: null,
  };
}

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.type) {
    case "fetchStart":
      return { ...state, pushedDuringFetch: state.pushedDuringFetch ?? {} };
    case "fetchOk": {
      const clusters: Record<string, ClusterSummary> = {};
      for (const c of action.clusters) clusters[c.name] = c;
      Object.assign(clusters, state.pushedDuringFetch ?? {});
      return { ...state, clusters, loaded: true, lastUpdate: action.at, pushedDuringFetch: null, fetchError: null };
    }
    case "fetchFail":
      return { ...state, fetchError: { reason: action.reason, retryAt: action.retryAt } };
    case "push": {
      const parsed = ClusterSummary.safeParse(action.raw);
      if (!parsed.success) {
        return { ...state, invalidPushes: state.invalidPushes + 1, lastInvalid: describeZodError(parsed.error) };
      }
      const c = parsed.data;
      return {
        ...state,
        clusters: { ...state.clusters, [c.name]: c },
        pushedDuringFetch: state.pushedDuringFetch ? { ...state.pushedDuringFetch, [c.name]: c } : null,
        lastUpdate: action.at,
      };
    }
  }
}
