/**
 * The scheduled pruning job: a first pass shortly after start (one minute,
 * or the interval when that is shorter), then one every interval. Passes
 * never overlap; stop() lets the running statement finish and skips the rest.
 * What each pass removed is logged and counted in
 * kam_retention_deleted_total{kind}.
 */
import type { Db } from "../db/database";
import type { Logger } from "../log";
import type { Counters } from "../metrics";
import { pruneOnce, RETENTION_KINDS, type PruneResult, type RetentionSettings } from "./prune";

export interface RetentionJobOptions {
  db: Db;
  dbKind: "postgres" | "pglite";
  log: Logger;
  counters: Counters;
  settings: RetentionSettings;
  intervalMs: number;
  /** first pass after this long (default: min(60 s, interval)) */
  firstDelayMs?: number;
}

export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PruneResult | null> | null = null;
  private stopped = false;

  constructor(private readonly o: RetentionJobOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.o.firstDelayMs ?? Math.min(60_000, this.o.intervalMs));
    const s = this.o.settings;
    this.o.log.info({ everySeconds: this.o.intervalMs / 1000, days: s }, "retention job scheduled (days 0 = kept for ever)");
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runNow().finally(() => this.schedule(this.o.intervalMs));
    }, ms);
    this.timer.unref();
  }

  /** Run one pass now (or join the running one); null when it failed (logged). */
  runNow(): Promise<PruneResult | null> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<PruneResult | null> {
    const t0 = Date.now();
    try {
      // the embedded database is one session: smaller statements leave more room to ingest in between
      const r = await pruneOnce(this.o.db, this.o.settings, {
        batchSize: this.o.dbKind === "pglite" ? 1000 : 5000,
        pauseMs: this.o.dbKind === "pglite" ? 100 : 50,
        stopped: () => this.stopped,
        // counted as it goes, so /metrics shows a long pass progressing
        onDeleted: (kind, n) => this.o.counters.inc("kam_retention_deleted_total", { kind }, n),
      });
      let total = 0;
      for (const k of RETENTION_KINDS) {
        this.o.counters.inc("kam_retention_deleted_total", { kind: k }, 0); // every kind has a series
        total += r[k];
      }
      this.o.counters.inc("kam_retention_runs_total", { result: "ok" });
      if (total > 0) this.o.log.info({ deleted: r, total, ms: Date.now() - t0 }, `retention: removed ${total} old rows`);
      else this.o.log.debug({ ms: Date.now() - t0 }, "retention: nothing to remove");
      return r;
    } catch (e) {
      this.o.counters.inc("kam_retention_runs_total", { result: "error" });
      this.o.log.warn({ err: e, ms: Date.now() - t0 }, "retention pass failed; it runs again at the next interval");
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }
}
