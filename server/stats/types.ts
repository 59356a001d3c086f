/**
 * Shape of GET /api/stats: per cluster, over a time range, how the virtual routers fared.
 * Imports only zod/mini (never zod classic: scripts/client-zod.mjs) and the protocol's kinds: safe to
 * import from the browser, which validates the response with `StatsResponse`.
 */
import * as z from "zod/mini";
import { IncidentKind } from "../protocol";

export const VridStats = z.object({
  /** "51", or the instance name when the VRID is unknown */
  group: z.string(),
  vrid: z.nullable(z.number()),
  failovers: z.int().check(z.nonnegative()),
  /** ms inside the range covered by a NO_MASTER incident of this virtual router */
  noMasterMs: z.number().check(z.nonnegative()),
  /** ms inside the range covered by a DUAL_MASTER incident of this virtual router */
  splitBrainMs: z.number().check(z.nonnegative()),
});
export type VridStats = z.infer<typeof VridStats>;

export const ClusterStats = z.object({
  cluster: z.string(),
  /** ms inside the range where at least one virtual router had no MASTER (union of NO_MASTER incidents) */
  noMasterMs: z.number().check(z.nonnegative()),
  /** ms inside the range with a split brain somewhere (union of DUAL_MASTER incidents) */
  splitBrainMs: z.number().check(z.nonnegative()),
  /** MASTER handovers (a new node entering MASTER for a VRID whose previous MASTER was another node) */
  failovers: z.int().check(z.nonnegative()),
  /** mean duration (openedAt -> closedAt) of the critical incidents closed inside the range; null when none */
  mttrMs: z.nullable(z.number().check(z.nonnegative())),
  /** critical incidents closed inside the range (the sample of mttrMs) */
  recovered: z.int().check(z.nonnegative()),
  /** incidents overlapping the range, by kind (kinds with none are left out) */
  incidents: z.partialRecord(IncidentKind, z.int().check(z.nonnegative())),
  vrids: z.array(VridStats),
});
export type ClusterStats = z.infer<typeof ClusterStats>;

export const StatsResponse = z.object({
  from: z.string(),
  to: z.string(),
  clusters: z.array(ClusterStats),
});
export type StatsResponse = z.infer<typeof StatsResponse>;
