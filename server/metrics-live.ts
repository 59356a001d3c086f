/**
 * The gauges of /metrics that describe the clusters now: computed from the live picture and detection's
 * open incidents at each scrape (prom-client `collect`), into the registry of `Counters`.
 */
import client from "prom-client";
import type { AppContext, OpenIncidentCounts } from "./app-context";
import type { LivePicture } from "./state/live-picture";
import { HELP } from "./metrics";

const STATES = ["MASTER", "BACKUP", "FAULT", "STOP", "UNKNOWN"] as const;

const registered = new WeakSet<client.Registry>();

/** Registers the live gauges once per registry; each scrape reads the picture and detection as they are then. */
export function registerLiveMetrics(app: AppContext, picture: LivePicture, detection: OpenIncidentCounts | null): void {
  const registers = [app.counters.registry];
  if (registered.has(registers[0])) return;
  registered.add(registers[0]);
  const gauge = (name: string, labelNames: string[], fill: (g: client.Gauge<string>) => void) =>
    new client.Gauge({
      name, help: HELP[name][1], labelNames, registers,
      collect() {
        this.reset();
        fill(this);
      },
    });
  const nodes = () => picture.clusters().flatMap((c) => c.nodes.map((n) => ({ cluster: c.name, n })));
  gauge("kam_node_online", ["cluster", "node"], (g) => {
    for (const { cluster, n } of nodes()) g.set({ cluster, node: n.name }, n.online ? 1 : 0);
  });
  gauge("kam_agent_last_seen_timestamp_seconds", ["cluster", "node"], (g) => {
    for (const { cluster, n } of nodes()) if (n.lastSeen) g.set({ cluster, node: n.name }, Date.parse(n.lastSeen) / 1000);
  });
  gauge("kam_agent_clock_skew_seconds", ["cluster", "node"], (g) => {
    for (const { cluster, n } of nodes()) if (typeof n.skewMs === "number") g.set({ cluster, node: n.name }, n.skewMs / 1000);
  });
  gauge("kam_instance_state", ["cluster", "node", "instance", "vrid", "state"], (g) => {
    for (const { cluster, n } of nodes()) {
      for (const i of n.instances) {
        for (const s of STATES) g.set({ cluster, node: n.name, instance: i.name, vrid: String(i.vrid ?? ""), state: s }, i.state === s ? 1 : 0);
      }
    }
  });
  gauge("kam_vip_held", ["cluster", "node", "instance", "vrid", "address"], (g) => {
    for (const { cluster, n } of nodes()) {
      for (const i of n.instances) for (const v of i.vips) g.set({ cluster, node: n.name, instance: i.name, vrid: String(i.vrid ?? ""), address: v.address }, v.held ? 1 : 0);
    }
  });
  gauge("kam_open_incidents", ["cluster", "kind"], (g) => {
    for (const { cluster, kind, count } of detection?.openByKind() ?? []) g.set({ cluster, kind }, count);
  });
}
