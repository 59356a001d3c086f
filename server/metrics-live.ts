/**
 * The series of /metrics that describe the clusters now: computed from the live picture and detection's
 * open incidents at each scrape (prom-client `collect`), into the registry of `Counters`. One scrape reads
 * ONE sample of the picture (`samplePicture`, taken at one instant): every family of a scrape agrees with
 * the others (a node offline in kam_node_online has its instances UNKNOWN in kam_instance_state, and no
 * keepalived_* series), and the picture is walked once per scrape, not once per family.
 *
 * Besides our kam_* series, the ones the common keepalived exporters expose where we know the same thing
 * (docs/METRICS.md: the mapping, the labels, what is not provided and why): keepalived_up,
 * keepalived_vrrp_state and the become/release-master counters, labelled with cluster and node first; and,
 * from keepalived's own stats dump (agent --dumps-interval), its advert and error counters under both
 * exporters' names (EXPORTER_COUNTERS).
 */
import { isIP } from "node:net";
import client from "prom-client";
import type { AppContext, OpenIncidentCounts } from "./app-context";
import type { LivePicture } from "./state/live-picture";
import { vipAddress, type ClusterStore } from "./state/cluster-state";
import { DUMP_COUNTERS, type ClusterSummary, type DumpCounter, type DumpInstance, type InstanceState } from "./protocol";
import { HELP } from "./metrics";

const STATES = ["MASTER", "BACKUP", "FAULT", "STOP", "UNKNOWN"] as const;

/**
 * keepalived's stats dump counters under the exporters' names: mehdy/keepalived-exporter (labels iname, intf,
 * vrid) and gen2brain/keepalived_exporter (labels name, intf, vrid, state); null: not served from the dump
 * (become / release master come from the logs under both exporters' names already)
 */
export const EXPORTER_COUNTERS: Record<DumpCounter, { mehdy: string; gen2brain: string } | null> = {
  advert_rcvd: { mehdy: "keepalived_advertisements_received_total", gen2brain: "keepalived_vrrp_advert_rcvd" },
  advert_sent: { mehdy: "keepalived_advertisements_sent_total", gen2brain: "keepalived_vrrp_advert_sent" },
  become_master: null,
  release_master: null,
  packet_len_err: { mehdy: "keepalived_packet_length_errors_total", gen2brain: "keepalived_vrrp_packet_len_err" },
  advert_interval_err: { mehdy: "keepalived_advertisements_interval_errors_total", gen2brain: "keepalived_vrrp_advert_interval_err" },
  ip_ttl_err: { mehdy: "keepalived_ip_ttl_errors_total", gen2brain: "keepalived_vrrp_ip_ttl_err" },
  invalid_type_rcvd: { mehdy: "keepalived_invalid_type_received_total", gen2brain: "keepalived_vrrp_invalid_type_rcvd" },
  addr_list_err: { mehdy: "keepalived_address_list_errors_total", gen2brain: "keepalived_vrrp_addr_list_err" },
  invalid_authtype: { mehdy: "keepalived_authentication_invalid_total", gen2brain: "keepalived_vrrp_invalid_authtype" },
  authtype_mismatch: { mehdy: "keepalived_authentication_mismatch_total", gen2brain: "keepalived_vrrp_authtype_mismatch" },
  auth_failure: { mehdy: "keepalived_authentication_failure_total", gen2brain: "keepalived_vrrp_auth_failure" },
  pri_zero_rcvd: { mehdy: "keepalived_priority_zero_received_total", gen2brain: "keepalived_vrrp_pri_zero_rcvd" },
  pri_zero_sent: { mehdy: "keepalived_priority_zero_sent_total", gen2brain: "keepalived_vrrp_pri_zero_sent" },
};

/** keepalived's own numbering of a VRRP state (VRRP_STATE_INIT 0, _BACK 1, _MAST 2, _FAULT 3), the exporters' value */
const KEEPALIVED_STATE: Partial<Record<InstanceState, number>> = { BACKUP: 1, MASTER: 2, FAULT: 3 };

export interface InstanceSample {
  name: string;
  vrid: number | null;
  state: InstanceState;
  /** the instance's `interface` from the node's config ("" when not known) */
  intf: string;
  /** configured virtual IPs: our address (kam_vip_held), whether the node holds it, and keepalived's spelling */
  vips: { address: string; held: boolean; ipAddress: string }[];
  /** MASTER transitions counted since this process started (ClusterStore.applyState) */
  become: number;
  release: number;
  /** the instance in the node's newest keepalived dump (agent --dumps-interval); null: none */
  dump: DumpInstance | null;
}

export interface NodeSample {
  cluster: string;
  node: string;
  online: boolean;
  lastSeen: string | null;
  skewMs: number | null;
  keepalived: ClusterSummary["nodes"][number]["keepalived"];
  agentVersion: string | null;
  instances: InstanceSample[];
}

/** what one scrape reports: the picture at one instant, and detection's open incidents then */
export interface PictureSample {
  at: number;
  nodes: NodeSample[];
  open: { cluster: string; kind: string; count: number }[];
}

/**
 * A virtual IP as keepalived's data dump prints it, the exporters' `ip_address`: the address (IPv6 in its
 * compressed form), then `/prefix` unless it is the host prefix (/32, /128). `vip`: the config's
 * "address/prefix" (the agent's form), or a line such as "192.0.2.1/24 dev eth0".
 */
export function exporterAddress(vip: string): string {
  const [addr, prefix] = vip.trim().split(/\s+/)[0].split("/");
  const family = isIP(addr);
  // the WHATWG URL parser writes an IPv6 address as inet_ntop does, but for zone ids and embedded IPv4
  const a = family === 6 && !/[%.]/.test(addr) ? new URL(`http://[${addr}]/`).hostname.slice(1, -1) : addr.toLowerCase();
  const host = family === 6 ? 128 : 32;
  return prefix === undefined || Number(prefix) === host ? a : `${a}/${Number(prefix)}`;
}

/** the picture's nodes and instances as /metrics reports them at `now` */
export function samplePicture(store: ClusterStore, detection: OpenIncidentCounts | null, now = Date.now()): PictureSample {
  const nodes: NodeSample[] = [];
  for (const summary of store.summaries(now)) {
    const c = store.clusters.get(summary.name);
    for (const ns of summary.nodes) {
      const n = c?.nodes.get(ns.name);
      const configured = new Map((n?.config?.instances ?? []).map((i) => [i.name, i]));
      nodes.push({
        cluster: summary.name,
        node: ns.name,
        online: ns.online,
        lastSeen: ns.lastSeen,
        skewMs: ns.skewMs ?? null,
        keepalived: ns.keepalived,
        agentVersion: n?.agentVersion ?? null,
        instances: ns.instances.map((i) => {
          const cfg = configured.get(i.name);
          const t = n?.transitions.get(i.name);
          return {
            name: i.name,
            vrid: i.vrid,
            state: i.state,
            intf: cfg?.interface ?? "",
            // the summary lists the configured VIPs in the config's order
            vips: (cfg?.vips ?? []).map((v, k) => ({ address: vipAddress(v), held: i.vips[k]?.held ?? false, ipAddress: exporterAddress(v) })),
            become: t?.become ?? 0,
            release: t?.release ?? 0,
            // as /api/clusters shows it: not while the agent is offline or keepalived is down since
            dump: i.dump ? (n?.dump?.instances.get(i.name) ?? null) : null,
          };
        }),
      });
    }
  }
  return { at: now, nodes, open: detection?.openByKind() ?? [] };
}

type Labels = Record<string, string>;
/** a family's series of one sample: [labels, value] */
type Series = Iterable<[Labels, number]>;

/** The live series of one registry, and the sample each scrape shares. */
export class LiveMetrics {
  /** samples taken: one per scrape through metrics() (tests) */
  samples = 0;
  private current: PictureSample | null = null;

  constructor(
    private registry: client.Registry,
    private picture: Pick<LivePicture, "store">,
    private detection: OpenIncidentCounts | null,
  ) {
    this.define();
  }

  /**
   * The registry's text, every live family from one sample. prom-client calls each family's `collect`
   * synchronously within `registry.metrics()` (before its first await), so the sample set here is the one
   * they all read; a collect called later would take a sample of its own (counted in `samples`).
   */
  metrics(): Promise<string> {
    this.current = this.take();
    try {
      return this.registry.metrics();
    } finally {
      this.current = null;
    }
  }

  private take(): PictureSample {
    this.samples++;
    return samplePicture(this.picture.store, this.detection);
  }

  private sample(): PictureSample {
    return this.current ?? this.take();
  }

  /** one family: its type and help from the catalogue, its series from the scrape's sample */
  private family(name: string, labelNames: string[], series: (s: PictureSample) => Series) {
    const [type, help] = HELP[name];
    const sample = () => this.sample();
    const registers = [this.registry];
    if (type === "counter") {
      new client.Counter({
        name, help, labelNames, registers,
        collect() {
          this.reset();
          for (const [labels, v] of series(sample())) this.inc(labels, v);
        },
      });
    } else {
      new client.Gauge({
        name, help, labelNames, registers,
        collect() {
          this.reset();
          for (const [labels, v] of series(sample())) this.set(labels, v);
        },
      });
    }
  }

  private define() {
    const perNode = (value: (n: NodeSample) => number | null) =>
      function* (s: PictureSample): Series {
        for (const n of s.nodes) {
          const v = value(n);
          if (v !== null) yield [{ cluster: n.cluster, node: n.node }, v];
        }
      };
    /** every instance of the picture, with its node */
    const instances = function* (s: PictureSample) {
      for (const n of s.nodes) for (const i of n.instances) yield { n, i, vrid: String(i.vrid ?? "") };
    };
    /** the instances an exporter on the node would report: keepalived answers there (agent online, keepalived in a VRRP state) */
    const running = function* (s: PictureSample) {
      for (const x of instances(s)) {
        const value = KEEPALIVED_STATE[x.i.state];
        if (value !== undefined) yield { ...x, value };
      }
    };

    this.family("kam_node_online", ["cluster", "node"], perNode((n) => (n.online ? 1 : 0)));
    const lastSeen = perNode((n) => (n.lastSeen ? Date.parse(n.lastSeen) / 1000 : null));
    this.family("kam_agent_last_seen_timestamp_seconds", ["cluster", "node"], lastSeen);
    this.family("kam_agent_last_seen_seconds", ["cluster", "node"], lastSeen);
    this.family("kam_agent_clock_skew_seconds", ["cluster", "node"], perNode((n) => (n.skewMs === null ? null : n.skewMs / 1000)));
    this.family("kam_agent_info", ["cluster", "node", "version"], function* (s) {
      for (const n of s.nodes) if (n.agentVersion !== null) yield [{ cluster: n.cluster, node: n.node, version: n.agentVersion || "unknown" }, 1];
    });
    this.family("kam_instance_state", ["cluster", "node", "instance", "vrid", "state"], function* (s) {
      for (const { n, i, vrid } of instances(s)) {
        for (const st of STATES) yield [{ cluster: n.cluster, node: n.node, instance: i.name, vrid, state: st }, i.state === st ? 1 : 0];
      }
    });
    this.family("kam_vip_held", ["cluster", "node", "instance", "vrid", "address"], function* (s) {
      for (const { n, i, vrid } of instances(s)) {
        for (const v of i.vips) yield [{ cluster: n.cluster, node: n.node, instance: i.name, vrid, address: v.address }, v.held ? 1 : 0];
      }
    });
    this.family("kam_open_incidents", ["cluster", "kind"], function* (s) {
      for (const { cluster, kind, count } of s.open) yield [{ cluster, kind }, count];
    });
    const masterCounts = (which: "become" | "release") =>
      function* (s: PictureSample): Series {
        for (const { n, i, vrid } of instances(s)) yield [{ cluster: n.cluster, node: n.node, instance: i.name, vrid }, i[which]];
      };
    this.family("kam_instance_become_master_total", ["cluster", "node", "instance", "vrid"], masterCounts("become"));
    this.family("kam_instance_release_master_total", ["cluster", "node", "instance", "vrid"], masterCounts("release"));

    // the exporters' series (docs/METRICS.md)
    this.family("keepalived_up", ["cluster", "node"], perNode((n) => (!n.online || n.keepalived === null ? null : n.keepalived === "running" ? 1 : 0)));
    this.family("keepalived_vrrp_state", ["cluster", "node", "iname", "intf", "vrid", "ip_address"], function* (s) {
      for (const { n, i, vrid, value } of running(s)) {
        const base = { cluster: n.cluster, node: n.node, iname: i.name, intf: i.intf, vrid };
        // one series per virtual IP; an instance without any has one, ip_address ""
        if (i.vips.length === 0) yield [{ ...base, ip_address: "" }, value];
        for (const v of i.vips) yield [{ ...base, ip_address: v.ipAddress }, value];
      }
    });
    const mehdy = (which: "become" | "release") =>
      function* (s: PictureSample): Series {
        for (const { n, i, vrid } of running(s)) yield [{ cluster: n.cluster, node: n.node, iname: i.name, intf: i.intf, vrid }, i[which]];
      };
    this.family("keepalived_become_master_total", ["cluster", "node", "iname", "intf", "vrid"], mehdy("become"));
    this.family("keepalived_release_master_total", ["cluster", "node", "iname", "intf", "vrid"], mehdy("release"));
    const gen2brain = (which: "become" | "release") =>
      function* (s: PictureSample): Series {
        for (const { n, i, vrid } of running(s)) yield [{ cluster: n.cluster, node: n.node, name: i.name, intf: i.intf, vrid, state: i.state }, i[which]];
      };
    this.family("keepalived_vrrp_become_master", ["cluster", "node", "name", "intf", "vrid", "state"], gen2brain("become"));
    this.family("keepalived_vrrp_release_master", ["cluster", "node", "name", "intf", "vrid", "state"], gen2brain("release"));

    // keepalived's own stats dump counters (agent --dumps-interval): only for instances with a dump sample
    const dumped = function* (s: PictureSample) {
      for (const x of running(s)) if (x.i.dump) yield { ...x, dump: x.i.dump };
    };
    for (const k of DUMP_COUNTERS) {
      const names = EXPORTER_COUNTERS[k];
      if (names) {
        this.family(names.mehdy, ["cluster", "node", "iname", "intf", "vrid"], function* (s) {
          for (const { n, i, vrid, dump } of dumped(s)) yield [{ cluster: n.cluster, node: n.node, iname: i.name, intf: i.intf, vrid }, dump.stats[k]];
        });
        this.family(names.gen2brain, ["cluster", "node", "name", "intf", "vrid", "state"], function* (s) {
          for (const { n, i, vrid, dump } of dumped(s)) yield [{ cluster: n.cluster, node: n.node, name: i.name, intf: i.intf, vrid, state: i.state }, dump.stats[k]];
        });
      }
    }
    this.family("kam_instance_effective_priority", ["cluster", "node", "instance", "vrid"], function* (s) {
      for (const { n, i, vrid, dump } of dumped(s)) if (dump.effectivePriority !== null) yield [{ cluster: n.cluster, node: n.node, instance: i.name, vrid }, dump.effectivePriority];
    });
  }
}

const registered = new WeakMap<client.Registry, LiveMetrics>();

/** The live series of the app's registry (defined on first use); `metrics()` renders a scrape. */
export function registerLiveMetrics(app: Pick<AppContext, "counters">, picture: Pick<LivePicture, "store">, detection: OpenIncidentCounts | null): LiveMetrics {
  const registry = app.counters.registry;
  let live = registered.get(registry);
  if (!live) {
    live = new LiveMetrics(registry, picture, detection);
    registered.set(registry, live);
  }
  return live;
}
