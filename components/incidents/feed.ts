/**
 * The incident list of the review page as a pure reducer: the GET /api/incidents snapshot for the
 * current filters, plus `incident` pushes of /live (validated here; invalid ones are counted and
 * ignored). A push received while a snapshot request is in flight is re-applied on top of it.
 * Unit-tested in test/unit/incidents-ui-feed.test.ts.
 */
import * as z from "zod/mini";
import { IncidentMsg } from "../../server/protocol";
import { matchesFilters, type IncidentFilters } from "./filters";

/** How long an incident lasted, or has lasted so far when it is open. */
export function incidentDurationMs(inc: { openedAt: string; closedAt: string | null }, now: number): number {
  const end = inc.closedAt ? Date.parse(inc.closedAt) : now;
  return Math.max(0, end - Date.parse(inc.openedAt));
}

export const IncidentList = z.array(IncidentMsg);
export const IncidentPush = z.object({ change: z.enum(["opened", "updated", "closed"]), incident: IncidentMsg });
export type IncidentPush = z.infer<typeof IncidentPush>;

/** Newest first (by openedAt, then by id as a number). */
export function sortIncidents(list: readonly IncidentMsg[]): IncidentMsg[] {
  const idNum = (id: string) => (/^\d+$/.test(id) ? BigInt(id) : 0n);
  return [...list].sort((a, b) => {
    const d = Date.parse(b.openedAt) - Date.parse(a.openedAt);
    if (d !== 0) return d;
    const ia = idNum(a.id);
    const ib = idNum(b.id);
    return ia === ib ? 0 : ia < ib ? 1 : -1;
  });
}

/** The list after one push: replaced or added when it matches the filters, removed when it no longer does. */
export function applyIncidentPush(list: readonly IncidentMsg[], push: IncidentPush, f: IncidentFilters): IncidentMsg[] {
  const rest = list.filter((i) => i.id !== push.incident.id);
  if (!matchesFilters(push.incident, f)) return rest.length === list.length ? [...list] : rest;
  return sortIncidents([push.incident, ...rest]);
}

export interface FeedState {
  filters: IncidentFilters;
  incidents: IncidentMsg[];
  loaded: boolean;
  /** epoch ms of the last data applied (snapshot or push) */
  lastUpdate: number | null;
  /** ids that arrived by push, with when (to mark them "new") */
  arrived: Record<string, number>;
  /** pushes received since the pending snapshot request started; null when none is pending */
  pending: IncidentPush[] | null;
  fetchError: { reason: string; retryAt: number } | null;
  invalidPushes: number;
}

export type FeedAction =
  | { type: "filters"; filters: IncidentFilters }
  | { type: "fetchStart" }
  | { type: "fetchOk"; incidents: IncidentMsg[]; at: number }
  | { type: "fetchFail"; reason: string; retryAt: number }
  | { type: "push"; raw: unknown; at: number };

export function initialFeed(filters: IncidentFilters, incidents: IncidentMsg[] | null = null, at: number | null = null): FeedState {
  return {
    filters,
    incidents: incidents ? sortIncidents(incidents) : [],
    loaded: incidents !== null,
    lastUpdate: incidents ? at : null,
    arrived: {},
    pending: null,
    fetchError: null,
    invalidPushes: 0,
  };
}

export function feedReducer(state: FeedState, action: FeedAction): FeedState {
  switch (action.type) {
    case "filters":
      // the list on screen belongs to the old filters: keep it until the new snapshot lands, minus what no longer matches
      return { ...state, filters: action.filters, incidents: state.incidents.filter((i) => matchesFilters(i, action.filters)) };
    case "fetchStart":
      return { ...state, pending: state.pending ?? [] };
    case "fetchOk": {
      let incidents = sortIncidents(action.incidents);
      for (const p of state.pending ?? []) incidents = applyIncidentPush(incidents, p, state.filters);
      return { ...state, incidents, loaded: true, lastUpdate: action.at, pending: null, fetchError: null };
    }
    case "fetchFail":
      return { ...state, fetchError: { reason: action.reason, retryAt: action.retryAt } };
    case "push": {
      const parsed = IncidentPush.safeParse(action.raw);
      if (!parsed.success) return { ...state, invalidPushes: state.invalidPushes + 1 };
      const p = parsed.data;
      const known = state.incidents.some((i) => i.id === p.incident.id);
      const incidents = applyIncidentPush(state.incidents, p, state.filters);
      const shown = incidents.some((i) => i.id === p.incident.id);
      return {
        ...state,
        incidents,
        arrived: shown && !known ? { ...state.arrived, [p.incident.id]: action.at } : state.arrived,
        pending: state.pending ? [...state.pending, p] : null,
        lastUpdate: action.at,
      };
    }
  }
}
