import assert from "node:assert/strict";
import { test } from "node:test";
import { IncidentKind, IncidentMsg } from "../../server/protocol";
import { CLUSTER_LOOK, INCIDENT_KIND_LOOK, INCIDENT_STATE_LOOK, SEVERITY_LOOK, SEVERITY_RANK } from "../../components/status";

test("every incident kind has its own word, close to the API's kind, and an explanation", () => {
  const kinds = IncidentKind.options;
  assert.deepEqual(Object.keys(INCIDENT_KIND_LOOK).sort(), [...kinds].sort());
  for (const k of kinds) {
    assert.equal(INCIDENT_KIND_LOOK[k].label.replace(/ /g, "_"), k, "the word is the kind, with spaces");
    assert.ok(INCIDENT_KIND_LOOK[k].short.length > 0 && INCIDENT_KIND_LOOK[k].description.length > 0);
  }
  assert.equal(new Set(kinds.map((k) => INCIDENT_KIND_LOOK[k].short)).size, kinds.length);
});

test("severities read like the cluster statuses they cause, and never by colour alone", () => {
  const severities = IncidentMsg.shape.severity.options;
  assert.deepEqual(Object.keys(SEVERITY_LOOK).sort(), [...severities].sort());
  assert.equal(SEVERITY_LOOK.critical.label, CLUSTER_LOOK.critical.label);
  assert.equal(SEVERITY_LOOK.critical.badge, CLUSTER_LOOK.critical.badge);
  assert.equal(SEVERITY_LOOK.warning.label, CLUSTER_LOOK.warning.label);
  assert.equal(new Set(severities.map((s) => SEVERITY_LOOK[s].icon)).size, severities.length, "each has its own icon");
  assert.ok(SEVERITY_RANK.critical < SEVERITY_RANK.warning && SEVERITY_RANK.warning < SEVERITY_RANK.info);
  assert.notEqual(INCIDENT_STATE_LOOK.open.label, INCIDENT_STATE_LOOK.resolved.label);
  assert.notEqual(INCIDENT_STATE_LOOK.open.icon, INCIDENT_STATE_LOOK.resolved.icon);
});
