/**
 * The cluster feed: every replica applies every committed batch of every
 * cluster, in the cluster's commit order, whichever replica stored it.
 *
 * A batch takes its cluster's next position in its own transaction
 * (store.ts: `cluster.feed_pos`, a `cluster_feed` row, `pg_notify`), so the
 * positions of a cluster commit in order. This replica's own batches are
 * applied from memory as they commit (the normal case costs no read); a
 * position this replica has not applied yet (another replica's batch, or one
 * of its own whose result is still on its way) is read back from storage and
 * applied first. It learns of other replicas' batches by LISTEN (the
 * coordination connection, server/incidents/leases.ts) and, should a
 * notification be lost, by a poll of `cluster.feed_pos` every second.
 * Applied = the live picture updated and the facts published
 * (`factsCommitted`) for detection, which the lease holder of the cluster
 * runs (server/incidents/detection-host.ts).
 */
import { z } from "zod";
import type { AppContext } from "../app-context";
import { queryRows } from "../db/rows";
import { ConfigInstance, DumpInstance, HeldAddress } from "../protocol";
import { parseLine } from "../parser";
import type { StoreResult } from "./store";
import type { Ingest } from "./batches";

/** how often every cluster's feed position is compared with what this replica applied */
export const FEED_POLL_MS = 1000;

interface ClusterCursor {
  /** last position applied */
  pos: bigint;
  /** this replica's own batches, committed but waiting for an earlier position */
  held: Map<bigint, () => void>;
  /** a read-back in progress */
  reading: Promise<void> | null;
  /** the highest position known to exist */
  known: bigint;
}

const FeedRow = z.object({
  pos: z.coerce.bigint(),
  node_id: z.number(),
  agent_id: z.string(),
  received_at: z.date(),
  seq_from: z.coerce.bigint(),
  seq_to: z.coerce.bigint(),
  origin: z.string(),
  node: z.string(),
  cluster: z.string(),
});
type FeedRow = z.infer<typeof FeedRow>;

const Rec = z.object({ id: z.coerce.bigint(), seq: z.coerce.bigint(), ts: z.date() });
const LogRow = Rec.extend({ line: z.string() });
const VipRow = Rec.extend({ addresses: z.array(HeldAddress) });
const ConfigRow = Rec.extend({ path: z.string(), hash: z.string(), instances: z.array(ConfigInstance), errors: z.array(z.string()).nullable() });
const GapRow = Rec.extend({ from_seq: z.coerce.bigint(), to_seq: z.coerce.bigint(), dropped: z.number(), reason: z.string() });
const ProcRow = Rec.extend({ running: z.boolean(), event: z.string(), pid: z.number().nullable(), vrrp_pid: z.number().nullable(), via: z.string().nullable(), exit: z.string().nullable() });
const DumpRow = Rec.extend({ source: z.enum(["json", "text"]), pid: z.number(), instances: z.array(DumpInstance) });
const PosRow = z.object({ id: z.number(), feed_pos: z.coerce.bigint() });

const recordsOf = (table: string, cols: string) =>
  `SELECT id, seq, ts, ${cols} FROM ${table}
    WHERE cluster_id = $1 AND agent_id = $2::uuid AND received_at = $3::timestamptz AND seq BETWEEN $4 AND $5
    ORDER BY seq`;

export class FeedFollower {
  private cursors = new Map<number, ClusterCursor>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private app: AppContext,
    private ingest: Ingest,
  ) {}

  /** every cluster's position now: what the picture restored from storage already holds */
  async start(poll: boolean): Promise<void> {
    for (const r of await this.positions()) this.cursor(r.id, r.feed_pos);
    if (!poll) return;
    this.timer = setInterval(() => void this.poll(), FEED_POLL_MS);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** reads in progress have settled (tests, shutdown) */
  async idle(): Promise<void> {
    await Promise.all([...this.cursors.values()].map((c) => c.reading));
  }

  private cursor(clusterId: number, pos = 0n): ClusterCursor {
    let c = this.cursors.get(clusterId);
    if (!c) this.cursors.set(clusterId, (c = { pos, held: new Map(), reading: null, known: pos }));
    return c;
  }

  private positions() {
    return queryRows(this.app.db, "feed.positions", PosRow, `SELECT id, feed_pos FROM cluster`);
  }

  /** one of this replica's batches committed at `pos`: applied now, or once the positions before it are */
  local(clusterId: number, pos: bigint, apply: () => void) {
    const c = this.cursor(clusterId);
    if (pos <= c.pos) return; // already read back and applied
    if (pos > c.known) c.known = pos;
    if (pos === c.pos + 1n && !c.reading) {
      c.pos = pos;
      this.run(apply);
      this.drain(clusterId, c);
      return;
    }
    c.held.set(pos, apply);
    this.readBack(clusterId, c);
  }

  /** a replica committed `pos` of the cluster (NOTIFY "clusterId:pos:origin"); this replica's own come through local() */
  notified(payload: string) {
    const m = /^(\d+):(\d+):(.*)$/.exec(payload);
    if (!m) {
      this.app.counters.inc("kam_feed_bad_notifications_total");
      this.app.log.warn({ payload }, "cluster feed: a notification that is not clusterId:pos:origin (kam_feed_bad_notifications_total)");
      return;
    }
    if (m[3] === this.app.replica) return;
    this.behind(Number(m[1]), BigInt(m[2]));
  }

  private behind(clusterId: number, pos: bigint) {
    const c = this.cursor(clusterId);
    if (pos <= c.known) return;
    c.known = pos;
    this.readBack(clusterId, c);
  }

  /** a missed notification is found within FEED_POLL_MS */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const r of await this.positions()) this.behind(r.id, r.feed_pos);
    } catch (err) {
      this.app.log.warn({ err }, "cluster feed: could not read the clusters' positions (retried in 1 s)");
    } finally {
      this.polling = false;
    }
  }

  private run(apply: () => void) {
    try {
      apply();
    } catch (err) {
      this.app.counters.inc("kam_feed_apply_errors_total");
      this.app.log.error({ err }, "cluster feed: a batch could not be applied to the live picture (kam_feed_apply_errors_total)");
    }
  }

  /** the held batches that are next in order */
  private drain(clusterId: number, c: ClusterCursor) {
    for (let next = c.held.get(c.pos + 1n); next; next = c.held.get(c.pos + 1n)) {
      c.held.delete(c.pos + 1n);
      c.pos += 1n;
      this.run(next);
    }
    if (c.held.size > 0 || c.known > c.pos) this.readBack(clusterId, c);
  }

  /** read the positions after c.pos from storage and apply them in order (one read at a time per cluster) */
  private readBack(clusterId: number, c: ClusterCursor) {
    if (c.reading) return;
    const upTo = [...c.held.keys()].reduce((m, p) => (p - 1n > m ? p - 1n : m), c.known);
    if (upTo <= c.pos) return;
    let failed = false;
    c.reading = this.read(clusterId, c, upTo)
      .catch((err: unknown) => {
        failed = true;
        this.app.counters.inc("kam_feed_read_errors_total");
        this.app.log.warn({ err, clusterId }, `cluster feed: could not read committed batches back (retried in ${FEED_POLL_MS} ms)`);
      })
      .finally(() => {
        c.reading = null;
        if (!failed) this.drain(clusterId, c);
        else setTimeout(() => this.drain(clusterId, c), FEED_POLL_MS).unref();
      });
  }

  private async read(clusterId: number, c: ClusterCursor, upTo: bigint) {
    const rows = await queryRows(
      this.app.db,
      "feed.rows",
      FeedRow,
      `SELECT f.pos, f.node_id, f.agent_id::text AS agent_id, f.received_at,
              f.seq_from, f.seq_to, f.origin, n.name AS node, c.name AS cluster
         FROM cluster_feed f JOIN node n ON n.id = f.node_id JOIN cluster c ON c.id = f.cluster_id
        WHERE f.cluster_id = $1 AND f.pos > $2 AND f.pos <= $3 ORDER BY f.pos`,
      [clusterId, c.pos.toString(), upTo.toString()],
    );
    for (const row of rows) {
      if (row.pos <= c.pos) continue;
      if (row.pos > c.pos + 1n) {
        // retention pruned them (older than an hour): nothing left to apply
        this.app.counters.inc("kam_feed_positions_skipped_total", {}, Number(row.pos - c.pos - 1n));
        this.app.log.warn({ clusterId, from: String(c.pos + 1n), to: String(row.pos - 1n) }, "cluster feed: positions no longer stored were skipped");
      }
      const own = c.held.get(row.pos);
      c.held.delete(row.pos);
      c.pos = row.pos;
      if (own) this.run(own);
      else {
        this.app.counters.inc("kam_feed_read_backs_total");
        const r = await this.batch(clusterId, row);
        this.run(() => this.ingest.applyStored({ agentId: row.agent_id, clusterId, cluster: row.cluster, nodeId: row.node_id, node: row.node }, r));
      }
    }
    // every position up to upTo is committed (a notification, a poll or a later batch of this replica named
    // it): one that is not stored any more was pruned by retention
    if (c.pos < upTo) {
      this.app.counters.inc("kam_feed_positions_skipped_total", {}, Number(upTo - c.pos));
      this.app.log.warn({ clusterId, from: String(c.pos + 1n), to: String(upTo) }, "cluster feed: positions no longer stored were skipped");
      c.pos = upTo;
    }
  }

  /** the records of one committed batch, as storeBatch returned them to the replica that stored it */
  private async batch(clusterId: number, f: FeedRow): Promise<StoreResult> {
    const db = this.app.db;
    const args = [clusterId, f.agent_id, f.received_at.toISOString(), f.seq_from.toString(), f.seq_to.toString()];
    const [logs, vips, configs, gaps, procs, dumps] = await Promise.all([
      queryRows(db, "feed.logs", LogRow, recordsOf("log_record", "line"), args),
      queryRows(db, "feed.vips", VipRow, recordsOf("vip_observation", "addresses"), args),
      queryRows(db, "feed.configs", ConfigRow, recordsOf("config_snapshot", "path, hash, instances, errors"), args),
      queryRows(db, "feed.gaps", GapRow, recordsOf("agent_gap", "from_seq, to_seq, dropped, reason"), args),
      queryRows(db, "feed.processes", ProcRow, recordsOf("keepalived_process", "running, event, pid, vrrp_pid, via, exit"), args),
      queryRows(db, "feed.dumps", DumpRow, recordsOf("keepalived_dump", "source, pid, instances"), args),
    ]);
    const base = (r: z.infer<typeof Rec>) => ({ id: r.id, seq: Number(r.seq), ts: r.ts.getTime() });
    const stored = logs.length + vips.length + configs.length + gaps.length + procs.length + dumps.length;
    return {
      logs: logs.map((l) => ({ id: l.id, seq: Number(l.seq), ts: l.ts, line: l.line, event: parseLine(l.line, { now: l.ts.getTime() }).event })),
      vips: vips.map((v) => ({ ...base(v), kind: "vips" as const, addresses: v.addresses })),
      configs: configs.map((x) => ({ ...base(x), kind: "config" as const, path: x.path, hash: x.hash, routerId: null, netNamespace: null, instances: x.instances, errors: x.errors ?? [] })),
      gaps: gaps.map((g) => ({ ...base(g), kind: "gap" as const, fromSeq: Number(g.from_seq), toSeq: Number(g.to_seq), dropped: g.dropped, reason: g.reason })),
      processes: procs.map((p) => ({
        ...base(p), kind: "process" as const, running: p.running, event: p.event, pid: p.pid, vrrpPid: p.vrrp_pid, via: p.via, exit: p.exit,
      })) as StoreResult["processes"],
      dumps: dumps.map((k) => ({ ...base(k), kind: "dumps" as const, source: k.source, pid: k.pid, instances: k.instances })),
      stateChanges: [],
      stored,
      duplicates: 0,
      pos: f.pos,
      rxUs: BigInt(f.received_at.getTime()) * 1000n,
    };
  }
}
