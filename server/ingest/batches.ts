/**
 * Ingest of an agent's batches: store them (one transaction, server/ingest/store.ts), update the live
 * picture, and publish the facts they yield (`factsCommitted`) for detection.
 */
import type { AppContext } from "../app-context";
import { DUMP_COUNTERS, type AgentRecord, type DumpRecordMsg } from "../protocol";
import type { AgentSocketData } from "./agent-namespace";
import { storeBatch, type StateChangeRow, type StoredLog, type StoreResult } from "./store";
import type { ConfigRecordMsg } from "../protocol";
import type { ClusterState, NodeState } from "../state/cluster-state";
import type { FeedFollower } from "./feed";
import { capInstances } from "./limits";
import { deriveStateChanges } from "../state/derive";
import type { LivePicture } from "../state/live-picture";
import { MonotonicClock } from "../clock";
import { factsFromStored } from "../incidents/facts";

/**
 * An agent reports its VIP set when it changes and every 10 s. A report equal
 * to the set this server process last stored for the node (same agent, newer
 * seq) is acknowledged but not stored (counted as a duplicate), unless the
 * stored one is older than this: storage keeps every change plus an hourly
 * confirmation, not 8,640 rows a day per node. The first report of every
 * connection (and after a server start) is stored.
 */
export const VIP_CONFIRM_MS = 3600_000;

/**
 * keepalived dump samples (agent --dumps-interval) are stored as change points: a sample whose instances'
 * state, priorities, master transitions and error counters equal those of the last one this server process
 * stored for the node (same agent and keepalived pid) is acknowledged, not stored, unless that one is older
 * than this. The advert counters, which rise with every sample, are not part of the comparison; every sample,
 * stored or not, is the node's newest in memory (/metrics, /api/clusters).
 */
export const DUMP_CONFIRM_MS = 3600_000;

/** what of a dump sample makes it a change point (see DUMP_CONFIRM_MS) */
export function dumpKey(d: Pick<DumpRecordMsg, "pid" | "source" | "instances">): string {
  return `${d.pid}:${d.source}:` + d.instances
    .map((i) => [i.name, i.vrid, i.state, i.basePriority, i.effectivePriority, ...DUMP_COUNTERS.filter((k) => k !== "advert_rcvd" && k !== "advert_sent").map((k) => i.stats[k])].join(","))
    .sort()
    .join(" ");
}

/** a node's VIP set as this server process last stored it */
interface VipMemo {
  key: string;
  agentId: string;
  seq: number;
  at: number;
}

const vipKey = (addresses: readonly { address: string; prefixlen?: number | null; iface?: string | null }[]) =>
  addresses
    .map((a) => `${a.address.toLowerCase()}/${a.prefixlen ?? ""}%${a.iface ?? ""}`)
    .sort()
    .join(" ");

export class Ingest {
  /** server receive times, strictly increasing */
  readonly clock = new MonotonicClock();
  /** node id -> VIP set last stored (see VIP_CONFIRM_MS) */
  private vipMemo = new Map<number, VipMemo>();
  /** node id -> dump sample last stored (see DUMP_CONFIRM_MS) */
  private dumpMemo = new Map<number, VipMemo>();

  /** the cluster feed this replica follows (server/ingest/feed.ts); without it batches apply as they commit */
  feed: FeedFollower | null = null;

  constructor(
    private app: AppContext,
    private picture: LivePicture,
  ) {
    // the first VIP report of a connection is stored even when unchanged
    app.bus.on("agentConnected", ({ nodeId }) => {
      this.vipMemo.delete(nodeId);
      this.dumpMemo.delete(nodeId);
    });
  }

  /** Store a validated batch, then update the picture and publish its facts. */
  async ingest(d: AgentSocketData, records: AgentRecord[]): Promise<StoreResult> {
    const { db, counters } = this.app;
    const { cluster, node } = this.picture.where(d);
    // derive against a copy of the node's view: if the transaction fails, nothing changed
    // (storeBatch may derive twice; each time from the view before the batch, the last one counts)
    let view = node.view;
    let refused = 0;
    const t0 = performance.now();
    // unchanged VIP reports are acknowledged, not stored (see VIP_CONFIRM_MS)
    const wall = Date.now();
    let ref = this.vipMemo.get(d.nodeId);
    const unchanged = new Set<AgentRecord>();
    for (const v of records.filter((x) => x.kind === "vips").sort((a, b) => a.seq - b.seq)) {
      if (v.kind !== "vips") continue;
      const key = vipKey(v.addresses);
      if (ref && ref.agentId === d.agentId && v.seq > ref.seq && ref.key === key && wall - ref.at < VIP_CONFIRM_MS) unchanged.add(v);
      else ref = { key, agentId: d.agentId, seq: v.seq, at: wall };
    }
    // dump samples that change nothing but the advert counters are acknowledged, not stored (DUMP_CONFIRM_MS)
    let dref = this.dumpMemo.get(d.nodeId);
    const dumps = records.filter((x): x is DumpRecordMsg & { seq: number } => x.kind === "dumps").sort((a, b) => a.seq - b.seq);
    for (const k of dumps) {
      const key = dumpKey(k);
      if (dref && dref.agentId === d.agentId && k.seq > dref.seq && dref.key === key && wall - dref.at < DUMP_CONFIRM_MS) unchanged.add(k);
      else dref = { key, agentId: d.agentId, seq: k.seq, at: wall };
    }
    const receivedAt = this.clock.nextIso();
    // a config snapshot is stored once per content hash and node (issue 19): a repeat of the node's
    // current one (every reconnect, or a flood of 4 MiB copies) is acknowledged, not stored again
    let cfgHash = node.config?.hash;
    for (const c of records.filter((x) => x.kind === "config").sort((a, b) => a.seq - b.seq)) {
      if (c.kind !== "config") continue;
      if (c.hash === cfgHash) unchanged.add(c);
      else cfgHash = c.hash;
    }
    const r = await storeBatch(
      db,
      d,
      unchanged.size ? records.filter((x) => !unchanged.has(x)) : records,
      (logs, configs) => {
        const x = this.derive(node, logs, configs);
        view = x.view;
        refused = x.refused;
        return x.changes;
      },
      receivedAt,
      this.app.replica,
    );
    r.duplicates += unchanged.size;
    const newestVip = r.vips.reduce<(typeof r.vips)[number] | null>((a, v) => (!a || v.seq > a.seq ? v : a), null);
    const memo = this.vipMemo.get(d.nodeId);
    if (newestVip && (!memo || memo.agentId !== d.agentId || newestVip.seq > memo.seq)) {
      this.vipMemo.set(d.nodeId, { key: vipKey(newestVip.addresses), agentId: d.agentId, seq: newestVip.seq, at: wall });
    }
    const newestDump = r.dumps.reduce<(typeof r.dumps)[number] | null>((a, k) => (!a || k.seq > a.seq ? k : a), null);
    const dmemo = this.dumpMemo.get(d.nodeId);
    if (newestDump && (!dmemo || dmemo.agentId !== d.agentId || newestDump.seq > dmemo.seq)) {
      this.dumpMemo.set(d.nodeId, { key: dumpKey(newestDump), agentId: d.agentId, seq: newestDump.seq, at: wall });
    }
    // every sample is the node's newest in memory, stored or not (stored ones are applied again, in feed order)
    for (const k of dumps) this.picture.store.applyDump(node, k, { agentId: d.agentId, seq: k.seq });
    if (dumps.length) counters.inc("kam_ingest_dump_samples_total", {}, dumps.length);
    const unchangedConfigs = [...unchanged].filter((x) => x.kind === "config").length;
    const unchangedDumps = [...unchanged].filter((x) => x.kind === "dumps").length;
    counters.inc("kam_ingest_dumps_unchanged_total", {}, unchangedDumps);
    counters.inc("kam_ingest_vips_unchanged_total", {}, unchanged.size - unchangedConfigs - unchangedDumps);
    counters.inc("kam_ingest_configs_unchanged_total", {}, unchangedConfigs);
    counters.inc("kam_ingest_batches_total");
    // once per committed batch, from the derivation that was stored (storeBatch may derive twice)
    counters.inc("kam_ingest_instances_refused_total", {}, refused);
    counters.inc("kam_ingest_records_total", {}, r.stored);
    counters.inc("kam_ingest_duplicates_total", {}, r.duplicates);
    counters.inc("kam_ingest_commit_seconds_total", {}, (performance.now() - t0) / 1000);
    this.picture.store.touch(node, Date.now());
    const derived = view;
    // applied in the cluster's commit order (the feed): at once, unless another batch of the cluster,
    // stored by another replica or still settling here, comes first (then that one is read back first)
    this.feed?.local(cluster.id, r.pos, () => this.apply(d, cluster, node, r, derived));
    if (!this.feed) this.apply(d, cluster, node, r, derived);
    return r;
  }

  /**
   * State changes of a node's new log lines and configs, derived against a copy of the node's view (the node
   * itself is changed only by apply(), after the commit).
   */
  derive(node: NodeState, logs: StoredLog[], configs: ConfigRecordMsg[]): { view: NodeState["view"]; changes: StateChangeRow[]; refused: number } {
    const view = { vrids: new Map(node.view.vrids), instances: new Set(node.view.instances), last: new Map(node.view.last) };
    const known = new Set([...node.view.instances, ...node.instances.keys()]);
    let refused = 0;
    const changes = capInstances(view, known, deriveStateChanges(view, logs, configs), this.app.settings.caps, (n) => (refused = n));
    return { view, changes, refused };
  }

  /**
   * A committed batch of another replica (or one of this replica's read back to keep the commit order):
   * its records were read from storage (feed.ts); the node's view derives its state changes as this
   * replica's own ingest would have, then it is applied like a local batch.
   */
  applyStored(d: Pick<AgentSocketData, "agentId" | "clusterId" | "cluster" | "nodeId" | "node">, r: StoreResult) {
    const { cluster, node } = this.picture.where(d);
    // refusals are counted by the replica that stored the batch, once (ingest), not again on a read-back
    const { view, changes } = this.derive(node, r.logs, r.configs);
    this.apply(d, cluster, node, { ...r, stateChanges: changes }, view);
  }

  /** a committed batch into the live picture, then its facts to detection (factsCommitted) */
  private apply(d: Pick<AgentSocketData, "agentId">, cluster: ClusterState, node: NodeState, r: StoreResult, view: NodeState["view"]) {
    const store = this.picture.store;
    node.view = view;
    // newest by the agent's own order (seq), not by the node's clock, which may jump
    const order = (seq: number) => ({ agentId: d.agentId, seq });
    for (const c of r.configs) store.applyConfig(node, { ...c, order: order(c.seq) });
    for (const v of [...r.vips].sort((a, b) => a.seq - b.seq)) store.applyVips(node, v.addresses, v.ts, order(v.seq));
    for (const p of [...r.processes].sort((a, b) => a.seq - b.seq)) store.applyProcess(node, p, p.ts, order(p.seq));
    for (const k of r.dumps) store.applyDump(node, k, order(k.seq));
    const seqOf = new Map(r.logs.map((l) => [l.id, l.seq]));
    for (const s of r.stateChanges) store.applyState(node, s.instance, s.state, s.ts.getTime(), order(seqOf.get(s.logRecordId) ?? 0), true);
    for (const l of r.logs) {
      if (l.event?.type === "priority") store.applyPriority(node, l.event.instance, l.event.to);
    }
    if (r.stored > 0) {
      this.picture.markDirty(cluster.name);
      this.app.bus.emit("factsCommitted", { clusterId: cluster.id, cluster: cluster.name, facts: factsFromStored(node.name, r, Number(r.rxUs / 1000n)) });
    }
    return r;
  }
}
