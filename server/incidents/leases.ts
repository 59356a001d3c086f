/**
 * Which replica runs detection for which cluster: exactly one, through a
 * lease in PostgreSQL (issue 13). A lease is a session-level advisory lock
 * (`pg_try_advisory_lock(LEASE_LOCK_CLASS, cluster id)`) held on this
 * replica's coordination connection: it lives exactly as long as that
 * connection. A replica that dies (even by SIGKILL) or loses the database
 * loses its leases at once, and another replica's next poll (every
 * LEASE_POLL_MS) takes them, restores the cluster's engine from storage and
 * goes on (detection-host.ts adopt()). Its fencing token is the cluster's
 * `detection_lease.epoch`, bumped by each new holder; every incident write
 * carries the holder's epoch and is refused once it changed
 * (incident-store.ts), so a replica that lost its lease (its connection cut,
 * its process paused) cannot overwrite the new holder's decisions. The same
 * connection LISTENs to the
 * cluster feed's channel (feed.ts). No home-made protocol: PostgreSQL's lock
 * manager is the arbiter.
 *
 * The embedded PGlite is one process by design: it owns every cluster
 * (OwnAll).
 */
import pg from "pg";
import type { Logger } from "../log";
import type { Counters } from "../metrics";
import { FEED_CHANNEL } from "../ingest/store";

/** the advisory lock class of detection leases ("kam" in ASCII); the object id is the cluster id */
export const LEASE_LOCK_CLASS = 0x6b616d;
/** how often a replica tries to take the leases no one holds (and reconnects after losing its connection) */
export const LEASE_POLL_MS = 1000;

export interface ClusterLeases {
  owns(clusterId: number): boolean;
  /** the fencing token every incident write carries (incident-store.ts); null: no leases (one process) */
  epoch(clusterId: number): bigint | null;
  /** a write was fenced: the lease is another replica's (the next poll takes it again only if it is free) */
  forget?(clusterId: number): void;
  /** facts of a cluster: a cluster the last poll did not know yet (just created) is polled for at once */
  seen?(clusterId: number): void;
  /** every cluster this replica runs detection for */
  owned(): number[];
}

/** one process on its own database: every cluster is its own */
export class OwnAll implements ClusterLeases {
  owns() {
    return true;
  }
  epoch(): bigint | null {
    return null;
  }
  owned(): number[] {
    return [];
  }
}

export interface LeaseEvents {
  /** leases taken (the clusters' engines are to be restored from storage) */
  acquired(clusters: { id: number; name: string }[]): void;
  /** leases lost with the connection (the engines are to be dropped) */
  lost(clusterIds: number[]): void;
  /** a feed notification ("clusterId:pos:origin") */
  notified(payload: string): void;
}

export class Coordination implements ClusterLeases {
  private client: pg.Client | null = null;
  /** cluster -> the epoch this replica set when it took the lease */
  private held = new Map<number, bigint>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private stopped = false;
  /** every cluster the last poll saw (held here or elsewhere) */
  private known = new Set<number>();

  constructor(
    private url: string,
    /** this replica's name (detection_lease.holder) */
    private replica: string,
    private log: Logger,
    private counters: Counters,
    private events: LeaseEvents,
  ) {}

  owns(clusterId: number) {
    return this.held.has(clusterId);
  }

  owned(): number[] {
    return [...this.held.keys()];
  }

  epoch(clusterId: number): bigint | null {
    // a cluster not held: an epoch no lease row has, so the write is refused
    return this.held.get(clusterId) ?? -1n;
  }

  forget(clusterId: number) {
    this.held.delete(clusterId);
  }

  seen(clusterId: number) {
    if (!this.known.has(clusterId)) void this.poll();
  }

  /** connects, LISTENs and takes the free leases once before returning (start-up restores those) */
  async start(): Promise<void> {
    await this.connect();
    await this.poll();
    this.timer = setInterval(() => void this.poll(), LEASE_POLL_MS);
    this.timer.unref();
  }

  /** closing the connection releases every lease at once: another replica takes them on its next poll */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    this.held.clear();
    if (c) await c.end().catch((err: unknown) => this.log.warn({ err }, "coordination connection: close failed"));
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, application_name: "kam-coordination" });
    c.on("error", (err) => this.drop(c, err));
    c.on("end", () => this.drop(c, null));
    c.on("notification", (n) => {
      if (n.channel === FEED_CHANNEL && n.payload) this.events.notified(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${FEED_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined); // the connect error below says what went wrong
      throw err;
    }
    this.client = c;
  }

  /** the connection is gone: so are the leases */
  private drop(c: pg.Client, err: Error | null) {
    if (this.client !== c) return;
    this.client = null;
    c.end().catch(() => undefined); // already broken: its own error was reported below
    const lost = [...this.held.keys()];
    this.held.clear();
    if (this.stopped) return;
    this.counters.inc("kam_lease_connection_lost_total");
    this.log.warn({ err, clusters: lost.length }, "coordination connection lost: detection leases released (reconnecting; kam_lease_connection_lost_total)");
    if (lost.length) this.events.lost(lost);
  }

  /** take every lease no replica holds (one statement); reconnect first when the connection is gone */
  async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      if (!this.client) await this.connect();
      const c = this.client!;
      // OFFSET 0 keeps the subquery apart, so the lock is tried only on clusters not held yet
      // the lock is tried only on clusters not held yet (CASE: evaluated row by row, in this order)
      const r = await c.query<{ id: number; name: string; got: boolean }>(
        `SELECT id, name, CASE WHEN id = ANY($1::int[]) THEN false ELSE pg_try_advisory_lock($2, id) END AS got
           FROM cluster ORDER BY id`,
        [[...this.held.keys()], LEASE_LOCK_CLASS],
      );
      if (this.client !== c) return; // lost meanwhile: those locks went with it
      this.known = new Set(r.rows.map((x) => x.id));
      const taken = r.rows.filter((x) => x.got);
      if (taken.length) {
        // the fencing token: bumped only once the lock is ours; the bump waits for an old holder's write in flight
        const e = await c.query<{ cluster_id: number; epoch: string }>(
          `INSERT INTO detection_lease (cluster_id, epoch, holder, taken_at) SELECT id, 1, $2, now() FROM unnest($1::int[]) AS id
           ON CONFLICT (cluster_id) DO UPDATE SET epoch = detection_lease.epoch + 1, holder = EXCLUDED.holder, taken_at = EXCLUDED.taken_at
           RETURNING cluster_id, epoch`,
          [taken.map((x) => x.id), this.replica],
        );
        if (this.client !== c) return;
        for (const row of e.rows) this.held.set(row.cluster_id, BigInt(row.epoch));
      }
      if (taken.length) {
        this.counters.inc("kam_leases_acquired_total", {}, taken.length);
        this.log.info({ clusters: taken.map((x) => x.name) }, "detection leases taken: this replica runs detection for these clusters");
        this.events.acquired(taken.map(({ id, name }) => ({ id, name })));
      }
    } catch (err) {
      this.counters.inc("kam_lease_poll_errors_total");
      this.log.warn({ err }, "detection leases: poll failed (retried in 1 s; kam_lease_poll_errors_total)");
    } finally {
      this.polling = false;
    }
  }
}
