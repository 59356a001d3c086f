/**
 * After a database outage, agents should not wait out their retry delay (up
 * to 30 s) to deliver what they collected meanwhile. When a batch could not be
 * stored for a transient reason (`unavailable`), this probes the database
 * (`SELECT 1`) every PROBE_MS; at the first answer it tells every connected
 * agent to `resume` (protocol.ts), logs it and counts it
 * (kam_storage_recoveries_total). The agents' sockets stay up through the
 * outage; agents that had to reconnect meanwhile reconnect by their own
 * backoff (at most 10 s).
 */
import type { AppContext } from "../app-context";

export const PROBE_MS = 250;

export class StorageRecovery {
  private timer: NodeJS.Timeout | null = null;
  private since = 0;
  private failedProbes = 0;
  private stopped = false;

  constructor(
    private app: AppContext,
    /** tells every connected agent to resume */
    private resumeAgents: () => void,
    private probeMs = PROBE_MS,
  ) {}

  /** a batch was answered `unavailable` (storage failed, not the data): watch for the database's return */
  failed(): void {
    if (this.timer || this.stopped) return;
    this.since = Date.now();
    this.failedProbes = 0;
    this.schedule();
  }

  get watching(): boolean {
    return this.timer !== null;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.probe(), this.probeMs);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    try {
      await this.app.db.$queryRawUnsafe("SELECT 1");
    } catch (e) {
      if (this.failedProbes++ === 0) this.app.log.warn({ err: e }, "database unavailable: batches are answered `unavailable` until it answers again");
      if (!this.stopped) this.schedule();
      return;
    }
    this.timer = null;
    if (this.stopped) return;
    this.app.counters.inc("kam_storage_recoveries_total");
    this.app.log.info({ outageMs: Date.now() - this.since }, "database answers again: agents told to resume sending");
    this.resumeAgents();
  }
}
