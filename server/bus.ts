/**
 * The server's typed in-process event bus: what happened, published once by
 * the part that made it happen, heard by every part that reacts to it.
 *
 *   ingest (agent namespace -> Ingest, Liveness)
 *     --factsCommitted / agentConnected / agentGone / agentOutbox--> detection
 *   detection --incidentChanged--> /live (browsers)        --openIncidents--> live picture
 *   live picture --summaryChanged--> /live (browsers)
 *   incident ack (HTTP) --incidentChanged--> /live
 *
 * `remote`: published here for another replica (carried between replicas by
 * socket.io's PostgreSQL adapter as server-side events: main.ts, live-namespace.ts).
 *
 * Delivery is synchronous, in subscription order, on the publisher's tick
 * (a subscriber that needs I/O queues it itself, as detection does). A
 * subscriber that throws does not stop the others or the publisher: the error
 * is logged with the event's name and counted in
 * kam_bus_listener_errors_total{event}.
 */
import type { Logger } from "./log";
import type { Counters } from "./metrics";
import type { ClusterSummary } from "./protocol";
import type { Fact, IncidentChange } from "./detect/types";
import type { ApiIncident } from "./incidents/incident-store";

export interface BusEvents {
  /** an agent's batch (or a liveness change) is committed: the facts it yields, in storage order */
  factsCommitted: { clusterId: number; cluster: string; facts: Fact[] };
  /** an agent's connection is authenticated (its backlog may follow) */
  agentConnected: { clusterId: number; nodeId: number; agentId: string; at: number; remote?: boolean };
  /** an agent's connection closed */
  agentGone: { agentId: string; remote?: boolean };
  /** an agent's heartbeat: how many records it still holds unsent */
  agentOutbox: { agentId: string; depth: number; remote?: boolean };
  /** an incident was stored (opened, updated, closed, acknowledged) */
  incidentChanged: { cluster: string; incident: ApiIncident; change: IncidentChange["type"] };
  /** a cluster's count of open incidents, after detection stored a change */
  openIncidents: { cluster: string; open: number; remote?: boolean };
  /** a cluster's live picture changed (coalesced per tick) */
  summaryChanged: ClusterSummary;
}

export type BusEvent = keyof BusEvents;
type Listener<K extends BusEvent> = (payload: BusEvents[K]) => void;

export class EventBus {
  private listeners: { [K in BusEvent]?: Listener<K>[] } = {};

  constructor(
    private log: Logger,
    private counters: Counters,
  ) {}

  /** subscribe; returns the unsubscribe function */
  on<K extends BusEvent>(event: K, fn: Listener<K>): () => void {
    const list = (this.listeners[event] ??= []) as Listener<K>[];
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends BusEvent>(event: K, payload: BusEvents[K]): void {
    const list = this.listeners[event] as Listener<K>[] | undefined;
    if (!list) return;
    for (const fn of [...list]) {
      try {
        fn(payload);
      } catch (e) {
        this.counters.inc("kam_bus_listener_errors_total", { event });
        this.log.error({ err: e, event }, `a subscriber of ${event} failed (the others still ran): kam_bus_listener_errors_total`);
      }
    }
  }

  /** how many subscribers an event has (tests, and the wiring's own checks) */
  count(event: BusEvent): number {
    return this.listeners[event]?.length ?? 0;
  }
}
