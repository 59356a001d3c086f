/**
 * Detectors: pure functions from the stored fact stream (+ the clock) to incidents.
 * See engine.ts for the timing contract and types.ts for the data.
 */
export { DetectionEngine, replay, resolveSettings } from "./engine";
export { compareConfigs, type DriftItem, type MemberCfg } from "./drift";
export * from "./types";
