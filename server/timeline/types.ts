/**
 * Shapes of GET /api/clusters/:name/timeline and GET /api/clusters/:name/logs
 * (DESIGN.md), as zod schemas with their types: the server builds them, the
 * browser validates what it receives with the same schemas. Imports only zod/mini
 * (never zod classic: scripts/client-zod.mjs) and the wire contract, so it is safe
 * in the browser bundle.
 */
import * as z from "zod/mini";
import { IncidentMsg, InstanceState } from "../protocol";

/** A half-open time interval in epoch ms; `to` null = still going on at `now`. */
export interface Interval {
  from: number;
  to: number;
}

export const TimelineSegment = z.object({
  state: InstanceState,
  from: z.string(),
  /** null: the state still holds now */
  to: z.nullable(z.string()),
  /** several sub-pixel segments merged into one (see server/timeline/downsample.ts) */
  aggregated: z.optional(z.literal(true)),
  /** state changes inside an aggregated segment */
  transitions: z.optional(z.int()),
});
export type TimelineSegment = z.infer<typeof TimelineSegment>;

export const HeldInterval = z.object({ from: z.string(), to: z.nullable(z.string()) });
export type HeldInterval = z.infer<typeof HeldInterval>;

export const TimelineLane = z.object({
  node: z.string(),
  instance: z.string(),
  vrid: z.nullable(z.number()),
  segments: z.array(TimelineSegment),
  /** when the node held at least one of the instance's configured VIPs */
  vipHeld: z.array(HeldInterval),
  /** the instance's configured VIP addresses (newest config snapshot) */
  vips: z.array(z.string()),
  /** state changes of this lane inside the range (before aggregation) */
  transitions: z.int(),
});
export type TimelineLane = z.infer<typeof TimelineLane>;

/** Records a node's agent could not deliver: its history between `since` and `at` is incomplete. */
export const DataGap = z.object({
  node: z.string(),
  /** when the agent reported the loss */
  at: z.string(),
  /** the newest line the agent did deliver before the lost ones (null: none stored) */
  since: z.nullable(z.string()),
  fromSeq: z.number(),
  toSeq: z.number(),
  /** records lost */
  dropped: z.int(),
  /** the agent's words: "outbox full", a record the server refused, an unreadable source */
  reason: z.string(),
});
export type DataGap = z.infer<typeof DataGap>;

export const GapsResponse = z.object({
  from: z.string(),
  to: z.string(),
  gaps: z.array(DataGap),
  /** more gaps overlap the range than are sent (the newest are) */
  truncated: z.boolean(),
});
export type GapsResponse = z.infer<typeof GapsResponse>;

export const TimelineResponse = z.object({
  from: z.string(),
  to: z.string(),
  /** the server's clock when it answered */
  now: z.string(),
  /** pixels the segments were aggregated for */
  width: z.int(),
  lanes: z.array(TimelineLane),
  incidents: z.array(IncidentMsg),
  /** more incidents overlap the range than are sent (the newest TIMELINE_LIMITS.maxIncidents are) */
  incidentsTruncated: z.boolean(),
  /** data gaps overlapping the range (see GET /api/clusters/:name/gaps); absent from older servers */
  gaps: z.optional(z.array(DataGap)),
  /** "none" when asked with ?evidence=none: the incidents' cause.evidence are left empty (GET /api/incidents/:id has them) */
  evidence: z.optional(z.literal("none")),
});
export type TimelineResponse = z.infer<typeof TimelineResponse>;

export const LogLine = z.object({
  node: z.string(),
  at: z.string(),
  line: z.string(),
  source: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;
export const LogLines = z.array(LogLine);

/** Limits of the two endpoints. */
export const TIMELINE_LIMITS = {
  maxRangeMs: 31 * 24 * 3600_000,
  defaultRangeMs: 3600_000,
  defaultWidth: 1200,
  minWidth: 10,
  maxWidth: 10_000,
  maxIncidents: 2000,
  defaultLogLimit: 200,
  maxLogLimit: 2000,
} as const;
