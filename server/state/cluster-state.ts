/**
 * The current picture of every cluster, kept in memory and fed by ingest:
 * node liveness, each instance's last known state, the newest config and the
 * addresses each node holds. Rebuilt from the database at start. Produces the
 * ClusterSummary that /api/clusters returns and /live pushes.
 */
import type { ClusterSummary, ConfigInstance, ConfigRecordMsg, DumpInstance, DumpRecordMsg, HeldAddress, InstanceState } from "../protocol";
import type { NodeView } from "./derive";
import { vridMap } from "./derive";
import { isOlderVersion } from "../version";

export interface InstanceView {
  state: Exclude<InstanceState, "UNKNOWN">;
  since: number;
  priority: number | null;
  order?: RecordOrder;
}

/**
 * Where a record stands in its node's own sequence: the agent's seq orders
 * the records of one agent installation, whatever the node's clock says.
 */
export interface RecordOrder {
  agentId: string;
  seq: number;
}

/**
 * Is the record at (`next`, `nextTs`) older than the one at (`cur`, `curTs`)?
 * Of one agent: by seq (a late batch is older; a clock jump is not). Of
 * another agent (a reinstall of the node's agent): the newer arrival wins.
 * Without an order (tests, callers that have none): by node time.
 */
export function olderThan(cur: RecordOrder | undefined, curTs: number, next: RecordOrder | undefined, nextTs: number): boolean {
  if (cur && next) return cur.agentId === next.agentId && next.seq < cur.seq;
  return nextTs < curTs;
}

export interface NodeState {
  id: number;
  name: string;
  lastSeen: number | null;
  connected: boolean;
  /** node clock minus server clock (ms), from the last heartbeat */
  skewMs: number | null;
  config: (Pick<ConfigRecordMsg, "instances" | "hash" | "ts"> & { order?: RecordOrder }) | null;
  held: Set<string>;
  heldAt?: { ts: number; order?: RecordOrder };
  instances: Map<string, InstanceView>;
  view: NodeView;
  /** keepalived's process as the agent's process watch last saw it; null: no watch (older agent, --pidfile none) */
  keepalived: { up: boolean; ts: number; order?: RecordOrder } | null;
  /** the version the node's agent announced in its handshake (the newest connection's); null: not known yet */
  agentVersion: string | null;
  /**
   * per instance, the MASTER transitions this process applied from the node's log since it started (ingest and
   * the cluster feed, not the history restored at start): `become` counts entries into MASTER, `release` the
   * changes from MASTER to BACKUP or FAULT; keepalived's become_master / release_master (/metrics)
   */
  transitions: Map<string, MasterTransitions>;
  /**
   * keepalived's newest data / stats dump of the node (agent --dumps-interval), every sample this replica
   * received, stored or not (server/ingest/batches.ts); null: none. Its instances are capped by the protocol.
   */
  dump: { ts: number; pid: number; source: DumpRecordMsg["source"]; instances: Map<string, DumpInstance>; order?: RecordOrder } | null;
}

export interface MasterTransitions {
  become: number;
  release: number;
}

export interface ClusterState {
  id: number;
  name: string;
  nodes: Map<string, NodeState>;
  openIncidents: number;
}

function countTransition(node: NodeState, instance: string, from: InstanceView["state"] | undefined, to: InstanceView["state"]) {
  const become = to === "MASTER" && from !== "MASTER";
  const release = from === "MASTER" && (to === "BACKUP" || to === "FAULT");
  if (!become && !release) return;
  let t = node.transitions.get(instance);
  if (!t) node.transitions.set(instance, (t = { become: 0, release: 0 }));
  if (become) t.become++;
  if (release) t.release++;
}

/** "192.0.2.100/24 dev eth0" -> "192.0.2.100" */
export function vipAddress(vip: string): string {
  return vip.trim().split(/\s+/)[0].split("/")[0].toLowerCase();
}

export class ClusterStore {
  readonly clusters = new Map<string, ClusterState>();

  constructor(private offlineMs: number) {}

  cluster(id: number, name: string): ClusterState {
    let c = this.clusters.get(name);
    if (!c) {
      c = { id, name, nodes: new Map(), openIncidents: 0 };
      this.clusters.set(name, c);
    }
    return c;
  }

  node(cluster: ClusterState, id: number, name: string): NodeState {
    let n = cluster.nodes.get(name);
    if (!n) {
      n = {
        id,
        name,
        lastSeen: null,
        connected: false,
        skewMs: null,
        config: null,
        held: new Set(),
        instances: new Map(),
        view: { vrids: new Map(), instances: new Set(), last: new Map() },
        keepalived: null,
        agentVersion: null,
        transitions: new Map(),
        dump: null,
      };
      cluster.nodes.set(name, n);
    }
    return n;
  }

  applyConfig(node: NodeState, cfg: Pick<ConfigRecordMsg, "instances" | "hash" | "ts"> & { order?: RecordOrder }) {
    if (node.config && olderThan(node.config.order, node.config.ts, cfg.order, cfg.ts)) return;
    node.config = cfg;
    node.view.vrids = vridMap(cfg);
    for (const i of cfg.instances) node.view.instances.add(i.name);
    // an instance the current configuration no longer names (renamed, removed) is retired now (as the
    // detectors do); an empty snapshot (the agent read no instances) says nothing about them
    if (cfg.instances.length > 0) {
      const names = new Set(cfg.instances.map((i) => i.name));
      for (const name of [...node.instances.keys()]) if (!names.has(name)) node.instances.delete(name);
      for (const name of [...node.view.instances]) if (!names.has(name)) node.view.instances.delete(name);
    }
  }

  /** configured by the node's current snapshot (true when it sent none, or an empty one) */
  private configured(node: NodeState, instance: string): boolean {
    const list = node.config?.instances;
    return !list || list.length === 0 || list.some((i) => i.name === instance);
  }

  applyVips(node: NodeState, addresses: HeldAddress[], ts?: number, order?: RecordOrder) {
    if (ts !== undefined && node.heldAt && olderThan(node.heldAt.order, node.heldAt.ts, order, ts)) return;
    if (ts !== undefined) node.heldAt = { ts, order };
    node.held = new Set(addresses.map((a) => a.address.toLowerCase()));
  }

  /**
   * `count`: a state line ingest committed now (not history restored at start): its MASTER transitions are
   * counted in `node.transitions`, as keepalived counts become_master (every entry into MASTER) and
   * release_master (MASTER to BACKUP or FAULT; a shutdown is neither).
   */
  applyState(node: NodeState, instance: string, state: string, ts: number, order?: RecordOrder, count = false) {
    const s = state as InstanceView["state"];
    const names = instance === "*" ? [...node.view.instances, ...node.instances.keys()] : [instance];
    for (const name of new Set(names)) {
      if (!this.configured(node, name)) continue; // a line of a retired instance is history
      const cur = node.instances.get(name);
      if (cur && olderThan(cur.order, cur.since, order, ts)) continue; // an older line arriving late does not overwrite a newer state
      if (count) countTransition(node, name, cur?.state, s);
      node.instances.set(name, { state: s, since: ts, priority: cur?.priority ?? null, order });
      node.view.instances.add(name);
    }
  }

  /**
   * A process record: keepalived (with its VRRP child) up or down. While it is down, the node's instances are
   * shown STOP (no VRRP runs there, whatever the last log line said: a SIGKILLed keepalived logs nothing),
   * until a state line newer than the record arrives.
   */
  applyProcess(node: NodeState, p: { running: boolean; event: string }, ts: number, order?: RecordOrder) {
    if (node.keepalived && olderThan(node.keepalived.order, node.keepalived.ts, order, ts)) return;
    node.keepalived = { up: p.running && p.event !== "child_vanished", ts, order };
  }

  /** a keepalived dump sample: the node's newest replaces the one before (older ones arriving late do not) */
  applyDump(node: NodeState, d: Pick<DumpRecordMsg, "ts" | "pid" | "source" | "instances">, order?: RecordOrder) {
    if (node.dump && olderThan(node.dump.order, node.dump.ts, order, d.ts)) return;
    node.dump = { ts: d.ts, pid: d.pid, source: d.source, instances: new Map(d.instances.map((i) => [i.name, i])), order };
  }

  applyPriority(node: NodeState, instance: string, priority: number) {
    const cur = node.instances.get(instance);
    if (cur) cur.priority = priority;
  }

  touch(node: NodeState, at: number) {
    if (!node.lastSeen || at > node.lastSeen) node.lastSeen = at;
  }

  isOnline(node: NodeState, now: number): boolean {
    return node.lastSeen != null && now - node.lastSeen <= this.offlineMs;
  }

  summary(c: ClusterState, now = Date.now()): ClusterSummary {
    const nodes = [...c.nodes.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => {
        const online = this.isOnline(n, now);
        const cfgByName = new Map<string, ConfigInstance>((n.config?.instances ?? []).map((i) => [i.name, i]));
        const names = new Set([...cfgByName.keys(), ...n.instances.keys()]);
        return {
          name: n.name,
          online,
          lastSeen: n.lastSeen ? new Date(n.lastSeen).toISOString() : null,
          skewMs: n.skewMs,
          keepalived: n.keepalived === null ? null : n.keepalived.up ? ("running" as const) : ("down" as const),
          agent: n.agentVersion === null ? null : { version: n.agentVersion, outdated: isOlderVersion(n.agentVersion) },
          instances: [...names].sort().map((name) => {
            const cfg = cfgByName.get(name);
            const st = n.instances.get(name);
            const ka = n.keepalived;
            // keepalived down and no state line since: nothing runs VRRP on the node
            const stopped = ka !== null && !ka.up && (!st || olderThan(ka.order, ka.ts, st.order, st.since));
            // a dump of a keepalived that is down since says nothing of now
            const dumped = online && !(ka !== null && !ka.up) ? n.dump?.instances.get(name) : undefined;
            return {
              name,
              vrid: cfg?.vrid ?? n.view.vrids.get(name) ?? null,
              state: (!online ? "UNKNOWN" : stopped ? "STOP" : st ? st.state : "UNKNOWN") as InstanceState,
              priority: st?.priority ?? cfg?.priority ?? null,
              configuredPriority: cfg?.priority ?? null,
              ...(dumped ? { dump: { effectivePriority: dumped.effectivePriority, at: new Date(n.dump!.ts).toISOString() } } : {}),
              vips: (cfg?.vips ?? []).map((v) => {
                const address = vipAddress(v);
                return { address, held: n.held.has(address) };
              }),
            };
          }),
        };
      });
    return { name: c.name, status: clusterStatus(nodes, c.openIncidents), nodes, openIncidents: c.openIncidents };
  }

  summaries(now = Date.now()): ClusterSummary[] {
    return [...this.clusters.values()].map((c) => this.summary(c, now)).sort((a, b) => a.name.localeCompare(b.name));
  }
}

/**
 * Worst status of a cluster from its current picture: critical for FAULT, for
 * one VRID MASTER on several nodes, or for a VRID with no MASTER; warning for
 * an offline node, a node whose keepalived is down, or open incidents. (Detectors with grace periods refine this
 * through incidents.)
 */
export function clusterStatus(nodes: ClusterSummary["nodes"], openIncidents: number): ClusterSummary["status"] {
  let status: ClusterSummary["status"] = openIncidents > 0 ? "warning" : "ok";
  const masters = new Map<number, number>();
  const known = new Map<number, boolean>();
  for (const n of nodes) {
    if (!n.online || n.keepalived === "down") status = "warning";
    for (const i of n.instances) {
      if (i.state === "FAULT") return "critical";
      if (i.vrid == null) continue;
      if (i.state === "MASTER") masters.set(i.vrid, (masters.get(i.vrid) ?? 0) + 1);
      if (i.state === "MASTER" || i.state === "BACKUP") known.set(i.vrid, true);
    }
  }
  for (const count of masters.values()) if (count > 1) return "critical";
  for (const vrid of known.keys()) if (!masters.has(vrid)) return "critical";
  return status;
}
