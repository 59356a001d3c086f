import type { IncidentMsg } from "../../server/protocol";

/** A DUAL_MASTER incident of cluster "shop" (VRID 51, nodes a and b), with overrides. */
export function incident(over: Partial<IncidentMsg> & { id: string }): IncidentMsg {
  return {
    cluster: "shop",
    kind: "DUAL_MASTER",
    severity: "critical",
    vrid: 51,
    instances: { a: "VI_1", b: "VI_1" },
    nodes: ["a", "b"],
    openedAt: "2024-05-01T12:00:00.000Z",
    closedAt: null,
    silenced: false,
    cause: { code: "adverts_not_received", summary: "Both nodes stopped hearing each other's adverts", evidence: [] },
    ...over,
  };
}
