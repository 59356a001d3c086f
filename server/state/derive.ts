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
  for (const log of logs) {
    const ev = log.event;
    if (!ev) continue;
    if (ev.type === "state") {
      view.instances.add(ev.instance);
      out.push({ instance: ev.instance, vrid: view.vrids.get(ev.instance) ?? null, state: ev.state, ts: log.ts, logRecordId: log.id });
    } else if (ev.type === "daemon" && ev.what === "stopping") {
      // keepalived is shutting down: every instance of the node stops (one row
      // per instance would need one log id each; the first instance carries it
      // and the others are implied by the node-wide STOP below)
      const names = [...view.instances].sort();
      if (names.length > 0) {
        out.push({ instance: "*", vrid: null, state: "STOP", ts: log.ts, logRecordId: log.id });
      }
    }
  }
  return out;
}
