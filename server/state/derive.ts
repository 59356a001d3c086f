/**
 * Pure derivation of instance state changes from parsed log lines.
 * Used at ingest (live) and when history is re-parsed, so both agree.
 */
import type { ConfigRecordMsg } from "../protocol";
import type { StateChangeRow, StoredLog } from "../ingest/store";

export interface NodeView {
  /** instance name -> VRID, from the node's newest config snapshot */
  vrids: Map<string, number | null>;
  /** instances known on the node (config or seen in logs), for daemon-wide events */
  instances: Set<string>;
  /** last derived state per instance ("*" rows clear it), to drop repeats */
  last: Map<string, string>;
}

export function vridMap(config: Pick<ConfigRecordMsg, "instances"> | null): Map<string, number | null> {
  return new Map((config?.instances ?? []).map((i) => [i.name, i.vrid]));
}

/**
 * `view` is updated in place as configs and new instance names are met, so a
 * batch that carries a config and then lines is resolved in order.
 */
export function deriveStateChanges(view: NodeView, logs: StoredLog[], configs: ConfigRecordMsg[]): StateChangeRow[] {
  const newest = configs.reduce<ConfigRecordMsg | null>((a, c) => (!a || c.seq > a.seq ? c : a), null);
  if (newest) {
    view.vrids = vridMap(newest);
    for (const i of newest.instances) view.instances.add(i.name);
  }
  const out: StateChangeRow[] = [];
  const enter = (log: StoredLog, instance: string, state: string) => {
    view.instances.add(instance);
    // 1.x logs "Transition to MASTER" and then "Entering MASTER": one change
    if (view.last.get(instance) === state) return;
    view.last.set(instance, state);
    out.push({ instance, vrid: view.vrids.get(instance) ?? null, state, ts: log.ts, logRecordId: log.id });
  };
  for (const log of logs) {
    const ev = log.event;
    if (!ev) continue;
    if (ev.type === "state") enter(log, ev.instance, ev.state);
    // an instance already in FAULT at startup logs only the reason line
    else if (ev.type === "fault_reason") enter(log, ev.instance, "FAULT");
    else if (ev.type === "daemon" && ev.what === "stopping" && view.instances.size > 0) {
      // keepalived is shutting down: every instance of the node stops. One
      // node-wide row (instance "*"), since a row is keyed by its log line.
      for (const name of view.instances) view.last.set(name, "STOP");
      out.push({ instance: "*", vrid: null, state: "STOP", ts: log.ts, logRecordId: log.id });
    }
  }
  return out;
}
