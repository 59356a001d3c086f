/**
 * The server's metrics, through prom-client (issue 15): one registry per server process holding
 * - the counters the code increments (`Counters.inc`), created on first use with the help text and
 *   type of the catalogue below;
 * - the gauges and counters of the live picture and of detection's open incidents, computed at scrape
 *   time from one snapshot per scrape (server/metrics-live.ts), among them the series named as the common
 *   keepalived exporters name them (docs/METRICS.md: which, with which labels, and which not);
 * - `kam_build_info`, and prom-client's default process and Node.js metrics (CPU, memory, file
 *   descriptors, GC, event-loop delay `nodejs_eventloop_lag_p50_seconds` / `_p99_` / `_max_`: since the
 *   previous scrape) when asked for (the server process; not test instances).
 */
import client from "prom-client";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import path from "node:path";
import { ROOT } from "./paths";

/** how the series of the keepalived exporters are described (docs/METRICS.md has the mapping) */
const MEHDY = "keepalived exporter compatible (mehdy/keepalived-exporter)";
const GEN2BRAIN = "keepalived exporter compatible (gen2brain/keepalived_exporter; label state: the instance's state now)";

/**
 * every metric family this server exposes but prom-client's default ones: its type and help text (the one
 * catalogue; docs/METRICS.md explains each)
 */
export const HELP: Record<string, ["gauge" | "counter", string]> = {
  kam_build_info: ["gauge", "always 1: the server's version, git commit and the Node.js version it runs on (label node: the Node.js version, deprecated, use node_version)"],
  kam_agent_info: ["gauge", "always 1: the version the node's agent announced at its newest connection (unknown: it sent none)"],
  kam_instance_state: ["gauge", "1 for the current state of a keepalived instance (one series per possible state)"],
  kam_vip_held: ["gauge", "1 if the node holds the VIP of the instance (from ip addr)"],
  kam_node_online: ["gauge", "1 if the node's agent was heard from within the offline limit"],
  kam_agent_last_seen_timestamp_seconds: ["gauge", "unix time the node's agent was last heard from"],
  kam_agent_last_seen_seconds: ["gauge", "DEPRECATED, removed in the next release: kam_agent_last_seen_timestamp_seconds"],
  kam_event_loop_lag_seconds: ["gauge", "DEPRECATED, removed in the next release: nodejs_eventloop_lag_p50_seconds, _p99_ and _max_ (quantile 0.5, 0.99, 1; since the previous scrape)"],
  kam_instance_become_master_total: ["counter", "entries of the instance into MASTER, from the node's log, since this server process started (keepalived's become_master)"],
  kam_instance_release_master_total: ["counter", "changes of the instance from MASTER to BACKUP or FAULT, from the node's log, since this server process started (keepalived's release_master)"],
  keepalived_up: ["gauge", `${MEHDY}: 1 if keepalived runs on the node, 0 if not (the agent's process watch); absent while the agent is offline or watches no process`],
  keepalived_vrrp_state: ["gauge", `${MEHDY}: the instance's state, 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, one series per virtual IP; absent while keepalived does not run there or the agent is offline`],
  keepalived_become_master_total: ["counter", `${MEHDY}: kam_instance_become_master_total`],
  keepalived_release_master_total: ["counter", `${MEHDY}: kam_instance_release_master_total`],
  keepalived_vrrp_become_master: ["counter", `${GEN2BRAIN}: kam_instance_become_master_total`],
  keepalived_vrrp_release_master: ["counter", `${GEN2BRAIN}: kam_instance_release_master_total`],
  kam_instance_effective_priority: ["gauge", "the instance's effective priority (configured plus track weights) in keepalived's newest dump (agent --dumps-interval)"],
  kam_ingest_dump_samples_total: ["counter", "keepalived dump samples received from agents (stored or not)"],
  kam_ingest_dumps_unchanged_total: ["counter", "keepalived dump samples that changed only advert counters since the node's stored one, acknowledged without storing (also in duplicates)"],
  keepalived_advertisements_received_total: ["counter", `${MEHDY}: adverts received, keepalived's advert_rcvd from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_advert_rcvd: ["counter", `${GEN2BRAIN}: adverts received, keepalived's advert_rcvd from its stats dump (agent --dumps-interval)`],
  keepalived_advertisements_sent_total: ["counter", `${MEHDY}: adverts sent, keepalived's advert_sent from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_advert_sent: ["counter", `${GEN2BRAIN}: adverts sent, keepalived's advert_sent from its stats dump (agent --dumps-interval)`],
  keepalived_packet_length_errors_total: ["counter", `${MEHDY}: adverts with a bad length, keepalived's packet_len_err from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_packet_len_err: ["counter", `${GEN2BRAIN}: adverts with a bad length, keepalived's packet_len_err from its stats dump (agent --dumps-interval)`],
  keepalived_advertisements_interval_errors_total: ["counter", `${MEHDY}: adverts with another advert interval, keepalived's advert_interval_err from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_advert_interval_err: ["counter", `${GEN2BRAIN}: adverts with another advert interval, keepalived's advert_interval_err from its stats dump (agent --dumps-interval)`],
  keepalived_ip_ttl_errors_total: ["counter", `${MEHDY}: adverts with a TTL other than 255, keepalived's ip_ttl_err from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_ip_ttl_err: ["counter", `${GEN2BRAIN}: adverts with a TTL other than 255, keepalived's ip_ttl_err from its stats dump (agent --dumps-interval)`],
  keepalived_invalid_type_received_total: ["counter", `${MEHDY}: packets of an invalid VRRP type, keepalived's invalid_type_rcvd from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_invalid_type_rcvd: ["counter", `${GEN2BRAIN}: packets of an invalid VRRP type, keepalived's invalid_type_rcvd from its stats dump (agent --dumps-interval)`],
  keepalived_address_list_errors_total: ["counter", `${MEHDY}: adverts whose address list does not match, keepalived's addr_list_err from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_addr_list_err: ["counter", `${GEN2BRAIN}: adverts whose address list does not match, keepalived's addr_list_err from its stats dump (agent --dumps-interval)`],
  keepalived_authentication_invalid_total: ["counter", `${MEHDY}: adverts with an unknown authentication type, keepalived's invalid_authtype from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_invalid_authtype: ["counter", `${GEN2BRAIN}: adverts with an unknown authentication type, keepalived's invalid_authtype from its stats dump (agent --dumps-interval)`],
  keepalived_authentication_mismatch_total: ["counter", `${MEHDY}: adverts with another authentication type, keepalived's authtype_mismatch from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_authtype_mismatch: ["counter", `${GEN2BRAIN}: adverts with another authentication type, keepalived's authtype_mismatch from its stats dump (agent --dumps-interval)`],
  keepalived_authentication_failure_total: ["counter", `${MEHDY}: adverts failing authentication (another password), keepalived's auth_failure from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_auth_failure: ["counter", `${GEN2BRAIN}: adverts failing authentication (another password), keepalived's auth_failure from its stats dump (agent --dumps-interval)`],
  keepalived_priority_zero_received_total: ["counter", `${MEHDY}: priority-0 adverts received (a MASTER stepping down), keepalived's pri_zero_rcvd from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_pri_zero_rcvd: ["counter", `${GEN2BRAIN}: priority-0 adverts received (a MASTER stepping down), keepalived's pri_zero_rcvd from its stats dump (agent --dumps-interval)`],
  keepalived_priority_zero_sent_total: ["counter", `${MEHDY}: priority-0 adverts sent, keepalived's pri_zero_sent from its stats dump (agent --dumps-interval)`],
  keepalived_vrrp_pri_zero_sent: ["counter", `${GEN2BRAIN}: priority-0 adverts sent, keepalived's pri_zero_sent from its stats dump (agent --dumps-interval)`],
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
  kam_detector_settings_applied_total: ["counter", "detector settings changes applied to a running cluster's detection (its engine rebuilt with them), by cluster"],
  kam_detector_invariant_violations_total: ["counter", "open incidents found on a tick whose condition no longer holds (a detector bug), by cluster"],
  kam_notifications_total: ["counter", "alert channel deliveries, by result (delivered, retry, failed) and format (json, slack, alertmanager, pagerduty, email)"],
  kam_login_total: ["counter", "dashboard sign-in attempts, by result"],
  kam_oidc_login_total: ["counter", "sign-ins through the identity provider (OIDC), by result: ok, or the refusal's code (unavailable, state, provider_refused, token_refused, invalid_response, no_role, name_taken, rate_limited)"],
  kam_enrolments_total: ["counter", "enrolment code exchanges (POST /api/enrol), by result: ok, or the refusal's code (unauthorized, enrolment_used, enrolment_expired, enrolment_revoked, forbidden, rate_limited)"],
  kam_http_invalid_requests_total: ["counter", "HTTP API requests whose path parameters or body failed their schema (answered 400, 413 or 415), by route and code"],
  kam_access_denied_total: ["counter", "HTTP requests refused by access control, by code and where"],
  kam_live_disconnects_total: ["counter", "browser (/live) connections ended, by socket.io disconnect reason (a message over 256 KiB: transport error)"],
  kam_live_handshake_rejected_total: ["counter", "browser (/live) connections refused, by code"],
  kam_ingest_vips_unchanged_total: ["counter", "VIP reports equal to the node's stored set, acknowledged without storing (also in duplicates)"],
  kam_ingest_configs_unchanged_total: ["counter", "config snapshots equal (by hash) to the node's current one, acknowledged without storing (also in duplicates)"],
  kam_ingest_instances_refused_total: ["counter", "instance names not kept: over the per-node cap or the name length limit"],
  kam_socket_main_namespace_refused_total: ["counter", "socket.io connections to the main namespace \"/\" (nothing is served there) refused, by socket.io path"],
  kam_agent_legacy_path_total: ["counter", "agent connections accepted on the legacy path (/agent on /socket.io/, 256 KiB messages) from agents older than the agent path /agent.io/, by cluster"],
  kam_agent_cluster_token_total: ["counter", "agent connections accepted with a legacy cluster token (not bound to a node), by cluster"],
  kam_liveness_flushes_total: ["counter", "liveness writes (all agents seen in the last second, one statement each)"],
  kam_storage_recoveries_total: ["counter", "database outages ended (batches had been answered unavailable): connected agents told to resume"],
  kam_bus_listener_errors_total: ["counter", "subscribers of the server's event bus that threw (the others still ran), by event"],
  kam_db_rows_rejected_total: ["counter", "stored rows that did not match what this version reads when the picture and detection were restored at start (left out), by query"],
  kam_feed_read_backs_total: ["counter", "committed batches this replica read back from storage to apply them in the cluster's commit order (another replica's, or its own still settling)"],
  kam_feed_read_errors_total: ["counter", "failed reads of the cluster feed (retried by the next poll)"],
  kam_feed_apply_errors_total: ["counter", "committed batches that could not be applied to the live picture (a server bug)"],
  kam_feed_positions_skipped_total: ["counter", "feed positions no longer stored when this replica reached them (pruned by retention)"],
  kam_feed_bad_notifications_total: ["counter", "feed notifications that were not clusterId:pos:origin"],
  kam_leases_acquired_total: ["counter", "detection leases this replica took (at start, and from a replica that died)"],
  kam_lease_connection_lost_total: ["counter", "coordination connections lost (the replica's detection leases went with each)"],
  kam_lease_poll_errors_total: ["counter", "failed lease polls (retried every second)"],
  kam_adapter_errors_total: ["counter", "errors of the socket.io PostgreSQL adapter (the fan-out across replicas)"],
  kam_metrics_invalid_increments_total: ["counter", "counter increments refused (not a finite, non-negative number, or labels other than the counter's), by metric: a server bug"],
};

export { VERSION } from "./version";
import { VERSION } from "./version";

export interface BuildInfo {
  version: string;
  /** the git commit the server runs from: KAM_BUILD_COMMIT, else the checkout's HEAD; "unknown" when neither */
  commit: string;
  /** why the commit is "unknown" (logged at start) */
  commitUnknown?: string;
  nodeVersion: string;
}

/** the build the server runs (`kam_build_info`): version, commit (see BuildInfo.commit), Node.js version */
export function buildInfo(env: Record<string, string | undefined> = process.env, root = ROOT): BuildInfo {
  const base = { version: VERSION, nodeVersion: process.version };
  const given = env.KAM_BUILD_COMMIT?.trim();
  if (given) return { ...base, commit: given };
  if (!existsSync(path.join(root, ".git"))) {
    return { ...base, commit: "unknown", commitUnknown: "not a git checkout and KAM_BUILD_COMMIT is not set" };
  }
  try {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "pipe"] }).trim();
    if (/^[0-9a-f]{40,64}$/.test(head)) return { ...base, commit: head };
    return { ...base, commit: "unknown", commitUnknown: `git rev-parse HEAD answered ${JSON.stringify(head.slice(0, 80))}` };
  } catch (e) {
    return { ...base, commit: "unknown", commitUnknown: `git rev-parse HEAD failed: ${(e as Error).message.split("\n")[0]}` };
  }
}

/** Process-wide counters and the registry /metrics renders. */
export class Counters {
  readonly registry = new client.Registry();
  readonly build: BuildInfo;
  private made = new Map<string, { c: client.Counter<string>; labels: string }>();

  /** `defaults`: also prom-client's process and Node.js metrics (the server process) */
  constructor(opts: { defaults?: boolean; build?: BuildInfo } = {}) {
    this.build = opts.build ?? buildInfo();
    const b = this.build;
    new client.Gauge({ name: "kam_build_info", help: HELP.kam_build_info[1], labelNames: ["version", "commit", "node_version", "node"], registers: [this.registry] })
      .set({ version: b.version, commit: b.commit, node_version: b.nodeVersion, node: b.nodeVersion }, 1);
    if (opts.defaults) {
      client.collectDefaultMetrics({ register: this.registry });
      deprecatedLoopLag(this.registry);
    }
  }

  inc(name: string, labels: Record<string, string> = {}, by = 1) {
    const keys = Object.keys(labels).sort().join(",");
    let m = this.made.get(name);
    if (!m) {
      const c = new client.Counter({ name, help: HELP[name]?.[1] ?? name, labelNames: Object.keys(labels), registers: [this.registry] });
      m = { c, labels: keys };
      this.made.set(name, m);
    }
    // a bad increment is a bug of the caller: counted, never thrown into ingest or detection
    if (!Number.isFinite(by) || by < 0 || keys !== m.labels) {
      if (name !== "kam_metrics_invalid_increments_total") this.inc("kam_metrics_invalid_increments_total", { metric: name });
      return;
    }
    m.c.inc(labels, by);
  }

  /** the current value of one series (0 when it never counted) */
  async get(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.made.get(name);
    if (!m) return 0;
    const want = JSON.stringify(labels);
    return (await m.c.get()).values.find((v) => JSON.stringify(v.labels) === want)?.value ?? 0;
  }
}

/**
 * `kam_event_loop_lag_seconds{quantile}`, kept one release after its replacement by prom-client's
 * nodejs_eventloop_lag_p50/p99/max_seconds (a gauge with a quantile label is a naming error): its own
 * delay histogram, reset at each scrape as before.
 */
function deprecatedLoopLag(registry: client.Registry) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  new client.Gauge({
    name: "kam_event_loop_lag_seconds", help: HELP.kam_event_loop_lag_seconds[1], labelNames: ["quantile"], registers: [registry],
    collect() {
      const seconds = (ns: number) => (h.count > 0 ? ns / 1e9 : 0);
      this.set({ quantile: "0.5" }, seconds(h.percentile(50)));
      this.set({ quantile: "0.99" }, seconds(h.percentile(99)));
      this.set({ quantile: "1" }, seconds(h.max));
      h.reset();
    },
  });
}
