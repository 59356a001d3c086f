/**
 * The application context: what every part of the server is given rather
 * than reaching for (no locator): the database, the settings the parts read,
 * the logger, the counters behind /metrics and the event bus (server/bus.ts).
 * main.ts builds it once and passes it to ingest, liveness, the live picture,
 * the socket namespaces and the HTTP routes.
 */
import type { Db } from "./db/database";
import type { Logger } from "./log";
import type { Counters } from "./metrics";
import type { EventBus } from "./bus";
import type { StateCaps } from "./ingest/limits";
import type { LivePicture } from "./state/live-picture";
import type { SecretBox } from "./incidents/secret-box";

export interface AppSettings {
  /** an agent silent for longer is offline (--agent-offline-seconds) */
  offlineMs: number;
  /** what one token and one node may make the server remember (issue 19) */
  caps: StateCaps;
}

export interface AppContext {
  db: Db;
  dbKind: "postgres" | "pglite";
  /** this server process among the replicas on one database: host, pid and a random part (cluster_feed.origin) */
  replica: string;
  log: Logger;
  counters: Counters;
  bus: EventBus;
  settings: AppSettings;
}

/** open incidents by cluster and kind (detection's, for /metrics) */
export interface OpenIncidentCounts {
  openByKind(): { cluster: string; kind: string; count: number }[];
}

/** what the admin's channel routes need: the key of the channels' secrets and the dashboard's URL for links */
export interface ChannelParts {
  secrets: SecretBox;
  publicUrl: string | null;
}

/** what the HTTP routes and the pages are handed: the context, the live picture, detection's counts, the channels' key */
export interface ServerParts {
  app: AppContext;
  picture: LivePicture;
  detection: OpenIncidentCounts | null;
  channels: ChannelParts;
}
