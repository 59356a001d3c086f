/** GET /metrics: Prometheus text exposition (version 0.0.4) of the live picture, detection's open incidents and the counters. */
import type { AppContext, OpenIncidentCounts } from "./app-context";
import type { LivePicture } from "./state/live-picture";

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labels = (l: Record<string, string | number>) =>
  "{" + Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`).join(",") + "}";

const STATES = ["MASTER", "BACKUP", "FAULT", "STOP", "UNKNOWN"] as const;

/** every metric family this server exposes: its type and help text */
export const HELP: Record<string, [string, string]> = {
  kam_instance_state: ["gauge", "1 for the current state of a keepalived instance (one series per possible state)"],
  kam_vip_held: ["gauge", "1 if the node holds the VIP of the instance (from ip addr)"],
  kam_node_online: ["gauge", "1 if the node's agent was heard from within the offline limit"],
  kam_agent_last_seen_seconds: ["gauge", "unix time the node's agent was last heard from"],
  kam_agent_clock_skew_seconds: ["gauge", "node clock minus server clock, measured at the agent's last heartbeat"],
  kam_agent_disconnects_total: ["counter", "agent connections ended, by socket.io disconnect reason"],
  kam_retention_runs_total: ["counter", "retention pruning runs, by result"],
  kam_retention_deleted_total: ["counter", "rows deleted by retention pruning, by data kind"],
  kam_open_incidents: ["gauge", "open incidents by cluster and kind"],
  kam_ingest_batches_total: ["counter", "agent batches stored"],
  kam_ingest_records_total: ["counter", "agent records stored (new)"],
  kam_ingest_duplicates_total: ["counter", "redelivered agent records acknowledged without storing"],
  kam_ingest_commit_seconds_total: ["counter", "time spent committing batches"],
  kam_ingest_rejected_total: ["counter", "agent messages refused, by error code"],
  kam_agent_handshake_rejected_total: ["counter", "agent connections refused, by error code"],
  kam_live_rejected_total: ["counter", "browser messages refused, by error code"],
  kam_incidents_opened_total: ["counter", "incidents opened, by kind"],
  kam_detector_errors_total: ["counter", "errors thrown inside a detector (caught, logged with the cluster), by detector kind"],
  kam_detector_future_stamps_total: ["counter", "records a node stamped more than futureSkewMs after the server received them (the node clock runs ahead; judged at the receipt time), by cluster"],
  kam_detector_invariant_violations_total: ["counter", "open incidents found on a tick whose condition no longer holds (a detector bug), by cluster"],
  kam_notifications_total: ["counter", "webhook deliveries, by result"],
  kam_login_total: ["counter", "dashboard sign-in attempts, by result"],
  kam_access_denied_total: ["counter", "HTTP requests refused by access control, by code and where"],
  kam_live_handshake_rejected_total: ["counter", "browser (/live) connections refused, by code"],
  kam_ingest_vips_unchanged_total: ["counter", "VIP reports equal to the node's stored set, acknowledged without storing (also in duplicates)"],
  kam_ingest_configs_unchanged_total: ["counter", "config snapshots equal (by hash) to the node's current one, acknowledged without storing (also in duplicates)"],
  kam_ingest_instances_refused_total: ["counter", "instance names not kept: over the per-node cap or the name length limit"],
  kam_agent_cluster_token_total: ["counter", "agent connections accepted with a legacy cluster token (not bound to a node), by cluster"],
  kam_liveness_flushes_total: ["counter", "liveness writes (all agents seen in the last second, one statement each)"],
  kam_event_loop_lag_seconds: ["gauge", "event-loop delay of the server process since the previous scrape (quantile 1 = max)"],
  kam_storage_recoveries_total: ["counter", "database outages ended (batches had been answered unavailable): connected agents told to resume"],
  kam_bus_listener_errors_total: ["counter", "subscribers of the server's event bus that threw (the others still ran), by event"],
  kam_db_rows_rejected_total: ["counter", "stored rows that did not match what this version reads when the picture and detection were restored at start (left out), by query"],
};

export function renderMetrics(app: AppContext, picture: LivePicture, detection: OpenIncidentCounts | null): string {
  const series = new Map<string, string[]>();
  const add = (name: string, l: Record<string, string | number>, v: number) => {
    const list = series.get(name) ?? [];
    list.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
    series.set(name, list);
  };
  for (const c of picture.clusters()) {
    for (const n of c.nodes) {
      add("kam_node_online", { cluster: c.name, node: n.name }, n.online ? 1 : 0);
      if (n.lastSeen) add("kam_agent_last_seen_seconds", { cluster: c.name, node: n.name }, Date.parse(n.lastSeen) / 1000);
      if (typeof n.skewMs === "number") add("kam_agent_clock_skew_seconds", { cluster: c.name, node: n.name }, n.skewMs / 1000);
      for (const i of n.instances) {
        const base = { cluster: c.name, node: n.name, instance: i.name, vrid: i.vrid ?? "" };
        for (const s of STATES) add("kam_instance_state", { ...base, state: s }, i.state === s ? 1 : 0);
        for (const v of i.vips) add("kam_vip_held", { ...base, address: v.address }, v.held ? 1 : 0);
      }
    }
  }
  for (const { cluster, kind, count } of detection?.openByKind() ?? []) add("kam_open_incidents", { cluster, kind }, count);
  for (const e of app.counters.entries()) add(e.name, e.labels, e.value);
  const lag = app.loopLag.take();
  if (lag) {
    add("kam_event_loop_lag_seconds", { quantile: "0.5" }, lag.p50);
    add("kam_event_loop_lag_seconds", { quantile: "0.99" }, lag.p99);
    add("kam_event_loop_lag_seconds", { quantile: "1" }, lag.max);
  }
  const out: string[] = [];
  for (const [name, lines] of [...series].sort(([a], [b]) => a.localeCompare(b))) {
    const [type, help] = HELP[name] ?? ["untyped", name];
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  }
  return out.join("\n") + "\n";
}
