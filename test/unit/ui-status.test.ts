import assert from "node:assert/strict";
import { test } from "node:test";
import { ClusterStatus, InstanceState } from "../../server/protocol";
import { CLUSTER_LOOK, CLUSTER_STATUS_RANK, STATE_LOOK, STATE_RANK } from "../../components/status";

test("every instance state has its own word and its own icon", () => {
  const states = InstanceState.options;
  assert.deepEqual(Object.keys(STATE_LOOK).sort(), [...states].sort());
  for (const s of states) assert.equal(STATE_LOOK[s].label, s, "the badge word is the state itself");
  const icons = new Set(states.map((s) => STATE_LOOK[s].icon));
  assert.equal(icons.size, states.length, "shapes differ, so colour is never the only signal");
});

test("state colours follow the convention (MASTER green, FAULT red, UNKNOWN amber and hatched)", () => {
  assert.match(STATE_LOOK.MASTER.badge, /\bbg-emerald-/);
  assert.match(STATE_LOOK.BACKUP.badge, /\bbg-(sky|blue|slate)-/);
  assert.match(STATE_LOOK.FAULT.badge, /\bbg-red-/);
  assert.match(STATE_LOOK.STOP.badge, /\bbg-slate-/);
  assert.match(STATE_LOOK.UNKNOWN.badge, /\bbg-amber-/);
  assert.match(STATE_LOOK.UNKNOWN.badge, /\bhatched\b/);
});

test("cluster statuses have distinct words, icons and ranks (critical worst)", () => {
  const statuses = ClusterStatus.options;
  assert.equal(new Set(statuses.map((s) => CLUSTER_LOOK[s].label)).size, statuses.length);
  assert.equal(new Set(statuses.map((s) => CLUSTER_LOOK[s].icon)).size, statuses.length);
  assert.ok(CLUSTER_STATUS_RANK.critical < CLUSTER_STATUS_RANK.warning);
  assert.ok(CLUSTER_STATUS_RANK.warning < CLUSTER_STATUS_RANK.ok);
  assert.ok(STATE_RANK.FAULT < STATE_RANK.BACKUP && STATE_RANK.BACKUP < STATE_RANK.MASTER);
});
