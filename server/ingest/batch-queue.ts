/**
 * The batches of one agent connection, stored one commit at a time in arrival
 * order, with group commit: batches that arrive while one is being stored
 * wait, and are then stored together in ONE statement and commit (up to
 * `maxRecords` records). Behind a slow commit, k waiting batches cost one more
 * commit instead of k in a row: that serial wait was the file path's p99
 * (docs/PERFORMANCE.md, "Latency").
 *
 * Every batch is still answered on its own (its own seqs), and only after the
 * commit that stored it: nothing is acknowledged that is not committed. A
 * permanent refusal of a merged group (the data itself) is retried batch by
 * batch, so one bad batch cannot take the others down with it; a transient
 * failure (database away) is answered to every batch of the group, which the
 * agents resend.
 */
import type { AgentRecord, BatchAck } from "../protocol";

export interface QueuedBatch {
  records: AgentRecord[];
  reply: (r: BatchAck) => void;
}

/** what a store of records reports: counts, and the seqs stored by this commit (new rows) */
export interface StoredOutcome {
  stored: number;
  duplicates: number;
  /** records written by this commit (anything with a seq) */
  logs: { seq: number }[];
  vips: { seq: number }[];
  configs: { seq: number }[];
  gaps: { seq: number }[];
  /** keepalived process records (optional for stores that never see them) */
  processes?: { seq: number }[];
}

export interface BatchQueueOptions {
  store: (records: AgentRecord[]) => Promise<StoredOutcome>;
  /** the answer to a batch whose store failed; "permanent" failures of a group are retried batch by batch */
  failure: (e: unknown, batches: number) => { permanent: boolean; reply: BatchAck };
  maxRecords: number;
}

export class BatchQueue {
  private waiting: QueuedBatch[] = [];
  private storing = false;
  private count = 0;
  /** commits made (a merged group is one) */
  commits = 0;

  constructor(private readonly o: BatchQueueOptions) {}

  /** batches waiting or being stored */
  get size(): number {
    return this.count;
  }

  push(b: QueuedBatch): void {
    this.count++;
    this.waiting.push(b);
    if (!this.storing) void this.drain();
  }

  private async drain(): Promise<void> {
    this.storing = true;
    try {
      while (this.waiting.length > 0) {
        const group = [this.waiting.shift()!];
        let n = group[0].records.length;
        while (this.waiting.length > 0 && n + this.waiting[0].records.length <= this.o.maxRecords) {
          n += this.waiting[0].records.length;
          group.push(this.waiting.shift()!);
        }
        try {
          await this.storeGroup(group);
        } finally {
          this.count -= group.length;
        }
      }
    } finally {
      this.storing = false;
    }
  }

  private async storeGroup(group: QueuedBatch[]): Promise<void> {
    let r: StoredOutcome;
    try {
      this.commits++;
      r = await this.o.store(group.length === 1 ? group[0].records : group.flatMap((g) => g.records));
    } catch (e) {
      const f = this.o.failure(e, group.length);
      if (f.permanent && group.length > 1) {
        for (const g of group) await this.storeGroup([g]);
        return;
      }
      for (const g of group) this.answer(g, f.reply);
      return;
    }
    if (group.length === 1) {
      this.answer(group[0], { ok: true, acked: group[0].records.map((x) => x.seq), stored: r.stored, duplicates: r.duplicates });
      return;
    }
    // per batch: a seq written by this commit counts as stored once, for the first batch naming it
    const fresh = new Set<number>([...r.logs, ...r.vips, ...r.configs, ...r.gaps, ...(r.processes ?? [])].map((x) => x.seq));
    for (const g of group) {
      let stored = 0;
      for (const x of g.records) if (fresh.delete(x.seq)) stored++;
      this.answer(g, { ok: true, acked: g.records.map((x) => x.seq), stored, duplicates: g.records.length - stored });
    }
  }

  private answer(g: QueuedBatch, reply: BatchAck): void {
    try {
      g.reply(reply);
    } catch {
      // a socket gone meanwhile: the agent resends what it did not see acknowledged
    }
  }
}
