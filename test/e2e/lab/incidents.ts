/**
 * Assertions every split-brain scenario shares: the DUAL_MASTER must reach the
 * live socket (the time from the fault is recorded), name both nodes and the
 * VRID, carry evidence from both nodes and the expected cause; and it must be
 * closed (live and stored) once the fault is repaired.
 */
import assert from "node:assert/strict";
import type { IncidentMsg } from "../../../server/protocol";
import type { Lab } from "./lab";
import type { Stack } from "./stack";
import { secondsSince, type Timings } from "./timing";

/** wait for the cluster's DUAL_MASTER to open on the live socket, record the time, check what every split brain must show */
export async function dualOpened(stack: Stack, timings: Timings, lab: Lab, t: number, scenario: string, expectCode: string, vrids = [51]): Promise<IncidentMsg> {
  const p = await stack.waitPush("DUAL_MASTER opened", (m) => m.incident.cluster === lab.cluster && m.incident.kind === "DUAL_MASTER" && m.change === "opened", t, 40_000)
    .catch((e: Error) => { throw new Error(`${e.message}\n${lab.diagnostics()}`); });
  const inc = p.msg.incident;
  timings.add({ scenario, expected: `DUAL_MASTER ${expectCode}`, got: `${inc.kind} ${inc.cause.code}`, seconds: secondsSince(t, p.at) });
  assert.ok(inc.vrid !== null && vrids.includes(inc.vrid), `VRID ${inc.vrid}, expected one of ${vrids.join(", ")}`);
  assert.deepEqual([...inc.nodes].sort(), ["lb1", "lb2"]);
  assert.equal(inc.severity, "critical");
  const evNodes = new Set(inc.cause.evidence.map((e) => e.node));
  assert.ok(evNodes.has("lb1") && evNodes.has("lb2"), `evidence from both nodes: ${JSON.stringify(inc.cause.evidence.map((e) => `${e.node}: ${e.line}`))}`);
  assert.equal(inc.cause.code, expectCode, inc.cause.summary);
  return inc;
}

export async function closedAfterHeal(stack: Stack, timings: Timings, lab: Lab, inc: IncidentMsg, t: number, scenario: string): Promise<void> {
  const p = await stack.waitPush(`${inc.kind} closed`, (m) => m.incident.id === inc.id && m.change === "closed", t, 30_000);
  timings.add({ scenario, expected: `${inc.kind} closed`, got: p.msg.incident.closedAt ? "closed" : "closed without closedAt", seconds: secondsSince(t, p.at) });
  const stored = await stack.api<IncidentMsg>(`/api/incidents/${inc.id}`);
  assert.ok(stored.closedAt, "stored as closed");
}
