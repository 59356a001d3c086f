/** Pattern element id of a state (plain or aggregated) inside one timeline; the paint itself is ../paint.ts. */
import type { InstanceState } from "../../server/protocol";

export const patternId = (prefix: string, state: InstanceState, aggregated = false) => `${prefix}-${aggregated ? "agg-" : ""}${state}`;
