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

/** The incident of the notification payload tests: DUAL_MASTER 42 of "shop", VRID 51, lb1 and lb2, with one evidence line. */
export function notifiedIncident(): IncidentMsg {
  return {
    id: "42", cluster: "shop", kind: "DUAL_MASTER", severity: "critical", vrid: 51, instances: { lb1: "VI_1", lb2: "VI_1" },
    nodes: ["lb1", "lb2"], openedAt: "2026-11-23T19:09:30.588Z", closedAt: null, silenced: false,
    cause: {
      code: "adverts_not_received",
      summary: "lb2 became MASTER while lb1 was still MASTER: VRRP adverts are not getting through.",
      evidence: [{ node: "lb2", at: "2026-11-23T19:09:30.588Z", line: "(VI_1) Entering MASTER STATE", kind: "log" }],
    },
  };
}
