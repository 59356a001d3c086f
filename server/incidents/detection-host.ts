/**
 * Runs one detection engine per cluster inside the server: feeds it the facts
 * of every committed batch and liveness change, ticks it for time-driven
 * transitions, and turns its changes into stored incidents, live pushes and
 * webhook notifications. Persisting is serialized per cluster and never
 * blocks ingest (ingest only queues the facts).
 */
import type { Db } from "../db/database";
import type { Logger } from "../log";
import type { Counters } from "../metrics";
import { DetectionEngine } from "../detect";
import { DEFAULT_SETTINGS, type DetectorSettings, type Fact, type IncidentChange } from "../detect/types";
import { apiFromEngine, FencedError, upsertIncident } from "./incident-store";
import { loadFacts, seenEveryMs } from "./facts";
import { LogThrottle } from "../ingest/limits";
import type { IncidentEvent, Notifier } from "./notifier";
import type { EventBus } from "../bus";
import { OwnAll, type ClusterLeases } from "./leases";

interface ClusterEngine {
  id: number;
  name: string;
  engine: DetectionEngine;
  /** the cluster's own settings the engine was made with (settingsOf, as JSON): refreshSettings compares */
  settingsKey: string;
  /** persistence of this cluster's changes, in order */
  chain: Promise<void>;
}

/**
 * Detection's clock trails the wall clock by this much (main.ts ticks it at now - DETECTION_LAG_MS), so that a
 * fact still on its way (read, sent, committed) is judged before a timer it could cancel fires.
 */
export const DETECTION_LAG_MS = 25;

/** longest time a cluster's wall-clock detection waits for a reconnected agent's backlog */
export const CATCH_UP_MAX_MS = 30_000;

/** How far back the engines are re-fed at start (covers grace, flap windows and hold-down). */
export const RESTORE_WINDOW_MS = 15 * 60_000;

/** what the notifier is told of each change of an incident */
const NOTIFY_EVENT: Record<IncidentChange["type"], IncidentEvent> = { opened: "opened", updated: "updated", closed: "resolved" };

export function settingsOf(json: unknown): Partial<DetectorSettings> {
  const out: Partial<DetectorSettings> = {};
  if (json && typeof json === "object") {
    const src = json as Record<string, unknown>;
    for (const k of Object.keys(DEFAULT_SETTINGS) as (keyof DetectorSettings)[]) {
      const v = src[k];
      if (typeof v === "number" && Number.isFinite(v) && v >= 0) (out as Record<string, number>)[k] = v;
    }
  }
  return out;
}

export class DetectionHost {
  private engines = new Map<number, ClusterEngine>();
  private quietSkew = new LogThrottle(60_000);
  /** the clusters this replica runs detection for (server/incidents/leases.ts); every one without replicas */
  leases: ClusterLeases = new OwnAll();
  /** clusters whose engine is being restored from storage: the live facts that arrive meanwhile wait here */
  private restoring = new Map<number, Fact[]>();

  constructor(
    private db: Db,
    private log: Logger,
    private counters: Counters,
    private notifier: Notifier,
    /** hears committed facts and agent connections; tells of stored incident changes (incidentChanged, openIncidents) */
    private bus: EventBus,
    /** the server's own settings under every cluster's (offlineMs from --agent-offline-seconds) */
    private defaults: Partial<DetectorSettings> = {},
  ) {
    bus.on("factsCommitted", ({ clusterId, cluster, facts }) => this.feed(clusterId, cluster, facts));
    bus.on("agentConnected", ({ clusterId, agentId, at }) => this.agentConnected(clusterId, agentId, at));
    bus.on("agentOutbox", ({ agentId, depth }) => this.agentOutbox(agentId, depth));
    bus.on("agentGone", ({ agentId }) => this.agentGone(agentId));
  }

  /** engines being created: every feed that arrives meanwhile chains on the same promise, in order */
  private creating = new Map<number, Promise<ClusterEngine>>();

  private engineFor(clusterId: number, name: string): Promise<ClusterEngine> {
    const ready = this.engines.get(clusterId);
    if (ready) return Promise.resolve(ready);
    let p = this.creating.get(clusterId);
    if (!p) {
      p = this.db.cluster.findUnique({ where: { id: clusterId } }).then((c) => {
        const own = settingsOf(c?.settings);
        const ce: ClusterEngine = { id: clusterId, name, engine: new DetectionEngine(name, { ...this.defaults, ...own }), settingsKey: JSON.stringify(own), chain: Promise.resolve() };
        this.engines.set(clusterId, ce);
        this.creating.delete(clusterId);
        return ce;
      });
      this.creating.set(clusterId, p);
    }
    return p;
  }

  /** Feed facts that were just stored (in storage order). Another replica runs the clusters it holds the lease of. */
  feed(clusterId: number, name: string, facts: Fact[]) {
    if (facts.length === 0) return;
    if (!this.leases.owns(clusterId)) {
      this.leases.seen?.(clusterId);
      return;
    }
    const waiting = this.restoring.get(clusterId);
    if (waiting) {
      waiting.push(...facts);
      return;
    }
    const ce = this.engines.get(clusterId);
    if (ce) {
      this.futureStamps(ce, facts);
      this.apply(ce, facts.flatMap((f) => ce.engine.push(f)));
      this.arm();
      return;
    }
    // first facts of a cluster this process has not seen: every feed waits for the ONE engine being
    // created (a second engine would lose what went into the first), in arrival order
    void this.engineFor(clusterId, name).then(
      (e) => {
        this.futureStamps(e, facts);
        this.apply(e, facts.flatMap((f) => e.engine.push(f)));
        this.arm();
      },
      (err: unknown) => this.log.error({ err, cluster: name }, "could not start detection for the cluster"),
    );
  }

  tick(now = Date.now()) {
    if (!this.started) return;
    for (const ce of this.engines.values()) {
      if (this.restoring.has(ce.id)) continue;
      // a cluster whose agent is still replaying its backlog is judged by its facts alone: a wall-clock
      // tick now would see the first node's old MASTER line before the other node's lines arrive
      if (this.catchingUp(ce.id, now)) continue;
      this.apply(ce, ce.engine.tick(now));
    }
    this.arm();
  }

  /** agentId -> { cluster, until }: agents that (re)connected and have not yet reported an empty outbox */
  private backlog = new Map<string, { clusterId: number; until: number }>();

  /** an agent (re)connected: it may deliver a backlog first (at most CATCH_UP_MAX_MS is waited for) */
  agentConnected(clusterId: number, agentId: string, now = Date.now()) {
    this.backlog.set(agentId, { clusterId, until: now + CATCH_UP_MAX_MS });
  }

  /** the agent's heartbeat reported its outbox depth */
  agentOutbox(agentId: string, depth: number) {
    if (depth === 0 && this.backlog.delete(agentId)) this.arm();
  }

  agentGone(agentId: string) {
    if (this.backlog.delete(agentId)) this.arm();
  }

  private catchingUp(clusterId: number, now: number): boolean {
    for (const [id, b] of this.backlog) {
      if (b.until < now) this.backlog.delete(id);
      else if (b.clusterId === clusterId) return true;
    }
    return false;
  }

  private timer: NodeJS.Timeout | null = null;
  private armedAt = Infinity;
  /** wall-clock lag of detection behind the facts (DETECTION_LAG_MS: main.ts ticks detection at now - lag) */
  lagMs = 0;

  /**
   * A precise timer at the earliest engine deadline (grace expiry and the
   * like), so an incident opens right after its grace instead of at the next
   * periodic tick.
   */
  arm() {
    if (!this.started) return;
    let next = Infinity;
    const now = Date.now();
    // a cluster waiting for a backlog is ticked again once its agent reports an empty outbox (agentOutbox)
    for (const ce of this.engines.values()) {
      if (!this.catchingUp(ce.id, now) && !this.restoring.has(ce.id)) next = Math.min(next, ce.engine.nextDeadline() ?? Infinity);
    }
    if (next === Infinity || next >= this.armedAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = next;
    const wait = Math.max(0, next + 1 + this.lagMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.armedAt = Infinity;
      this.tick(Date.now() - this.lagMs);
    }, wait);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  openByKind(): { cluster: string; kind: string; count: number }[] {
    const out: { cluster: string; kind: string; count: number }[] = [];
    for (const ce of this.engines.values()) {
      const counts = new Map<string, number>();
      for (const i of ce.engine.openIncidents()) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
      for (const [kind, count] of counts) out.push({ cluster: ce.name, kind, count });
    }
    return out;
  }

  /** Rebuild the engines of the clusters this replica holds from recent stored history (at start). */
  async restore(now = Date.now()) {
    const clusters = await this.db.cluster.findMany();
    for (const c of clusters) if (this.leases.owns(c.id)) await this.adopt(c.id, c.name, now);
  }

  /**
   * This replica took the cluster's lease (at start, or from a replica that died): its engine is rebuilt from
   * the last RESTORE_WINDOW_MS of stored facts, then the live facts that arrived meanwhile follow (those the
   * stored ones already held are left out by id). Incidents are upserted by key and notifications by
   * (incident, webhook, event): taking over re-opens, duplicates and loses nothing.
   */
  adopt(clusterId: number, name: string, now = Date.now()): Promise<void> {
    const inFlight = this.adoptions.get(clusterId);
    if (inFlight) return inFlight;
    if (this.engines.has(clusterId) || this.creating.has(clusterId)) return Promise.resolve();
    const p = this.restoreEngine(clusterId, name, now).finally(() => this.adoptions.delete(clusterId));
    this.adoptions.set(clusterId, p);
    return p;
  }

  /** adopt() in progress, per cluster (a second call waits for the first) */
  private adoptions = new Map<number, Promise<void>>();

  private async restoreEngine(clusterId: number, name: string, now: number) {
    this.restoring.set(clusterId, []);
    try {
      const ce = await this.engineFor(clusterId, name);
      const facts = await loadFacts(this.db, clusterId, new Date(now - RESTORE_WINDOW_MS), new Date(now + 1), (e) => {
        this.counters.inc("kam_db_rows_rejected_total", { query: e.query });
        this.log.error({ cluster: name, query: e.query, row: e.row, path: e.path, issue: e.issue }, "a stored row does not match what this version reads: left out of the detection restore (kam_db_rows_rejected_total)");
      }, seenEveryMs(this.defaults.offlineMs ?? DEFAULT_SETTINGS.offlineMs));
      // the lease went while the facts loaded (release() dropped the engine): the new holder restores it
      if (!this.leases.owns(clusterId) || this.engines.get(clusterId) !== ce) return;
      // no tick here: the time this server was down does not count against the agents, and the engines learn
      // when it ended from the server_started fact that listening() stores and feeds
      this.apply(ce, facts.flatMap((f) => ce.engine.push(f)));
      const restored = new Set(facts.map((f) => ("id" in f ? f.id : undefined)).filter((id) => id !== undefined));
      const waiting = this.restoring.get(clusterId) ?? [];
      this.restoring.delete(clusterId);
      const fresh = waiting.filter((f) => !("id" in f) || f.id === undefined || !restored.has(f.id));
      this.apply(ce, fresh.flatMap((f) => ce.engine.push(f)));
      this.arm();
      await ce.chain;
    } catch (err) {
      this.restoring.delete(clusterId);
      this.engines.delete(clusterId);
      this.counters.inc("kam_detector_errors_total", { kind: "restore" });
      this.log.error({ err, cluster: name }, "could not restore the cluster's detection from storage (retried in 2 s while this replica holds its lease)");
      setTimeout(() => {
        if (this.leases.owns(clusterId)) void this.adopt(clusterId, name);
      }, 2000).unref();
    }
  }

  /**
   * Detector settings changed (the API or the CLI, on any replica: read from storage): the engine of each
   * cluster whose stored settings differ from those it runs with is rebuilt from storage with the new ones,
   * as when a replica takes a cluster over (adopt: the last RESTORE_WINDOW_MS of facts, incidents upserted by
   * key). Called every SETTINGS_POLL_MS by main.ts; returns the clusters rebuilt.
   */
  async refreshSettings(now = Date.now()): Promise<string[]> {
    if (this.engines.size === 0) return [];
    const rows = await this.db.cluster.findMany({ where: { id: { in: [...this.engines.keys()] } }, select: { id: true, name: true, settings: true } });
    const changed: string[] = [];
    for (const c of rows) {
      const ce = this.engines.get(c.id);
      if (!ce || this.restoring.has(c.id) || this.adoptions.has(c.id)) continue;
      const key = JSON.stringify(settingsOf(c.settings));
      if (key === ce.settingsKey) continue;
      // what the old engine decided is stored first; then the new engine takes over from storage
      await ce.chain;
      if (this.engines.get(c.id) !== ce) continue;
      this.log.info({ cluster: c.name, settings: JSON.parse(key) as unknown }, "detector settings changed: the cluster's detection is rebuilt with them");
      this.counters.inc("kam_detector_settings_applied_total", { cluster: c.name });
      this.release([c.id]);
      await this.adopt(c.id, c.name, now);
      changed.push(c.name);
    }
    return changed;
  }

  /** the lease is gone (the coordination connection was lost): another replica runs the cluster now */
  release(clusterIds: number[]) {
    for (const id of clusterIds) {
      this.engines.delete(id);
      this.restoring.delete(id);
    }
  }

  /** false until listening(): no wall-clock tick before the engines know this server's start */
  private started = false;

  /**
   * The server accepts agent connections from `now`: stored (server_start) and fed to every engine as a
   * server_started fact, so a replay of this history later sees the same start (agents alive when the
   * server stopped get the offline limit from now, docs/DETECTION.md). A failed write is logged and
   * counted; the live engines still get the fact.
   */
  async listening(now = Date.now()) {
    try {
      await this.db.serverStart.create({ data: { listeningAt: new Date(now) } });
    } catch (err) {
      this.counters.inc("kam_detector_errors_total", { kind: "server_start" });
      this.log.error({ err }, "could not store this server's start: a later replay may count the downtime against the agents (AGENT_OFFLINE)");
    }
    this.started = true;
    for (const ce of this.engines.values()) this.apply(ce, ce.engine.push({ kind: "server_started", node: "", ts: now }));
    this.arm();
  }

  async idle() {
    await Promise.all([...this.engines.values()].map((e) => e.chain));
  }

  /**
   * Records a node stamped more than futureSkewMs after the server received them (its clock runs ahead): the
   * engine judges them at the receipt time instead (docs/DETECTION.md); here they are counted in /metrics and
   * logged once a minute per node, so that the operator learns which node's clock to fix. Live facts only: a
   * restore replays stored facts and would count them again.
   */
  private futureStamps(ce: ClusterEngine, facts: Fact[]) {
    const limit = ce.engine.settings.futureSkewMs;
    const ahead = facts.filter((f) => typeof f.rx === "number" && f.ts > f.rx + limit);
    if (ahead.length === 0) return;
    this.counters.inc("kam_detector_future_stamps_total", { cluster: ce.name }, ahead.length);
    const worst = ahead.reduce((a, b) => (b.ts - (b.rx ?? b.ts) > a.ts - (a.rx ?? a.ts) ? b : a));
    const left = this.quietSkew.allow(`${ce.name}\u0000${worst.node}`);
    if (left !== null) {
      this.log.warn(
        { cluster: ce.name, node: worst.node, aheadMs: worst.ts - (worst.rx ?? worst.ts), records: ahead.length, suppressed: left },
        "records stamped in the future by the node's clock: judged at the server's receipt time; fix the node's clock (NTP)",
      );
    }
  }

  private apply(ce: ClusterEngine, changes: IncidentChange[]) {
    // errors are never silent: counted per detector kind and logged with the cluster
    for (const { kind, error } of ce.engine.drainErrors()) {
      this.counters.inc("kam_detector_errors_total", { kind });
      this.log.error({ err: error, cluster: ce.name, kind }, "a detector failed");
    }
    for (const v of ce.engine.drainViolations()) {
      this.counters.inc("kam_detector_invariant_violations_total", { cluster: ce.name });
      this.log.error({ cluster: ce.name, violation: v }, "detection invariant violated: an incident is open although its condition ended");
    }
    if (changes.length === 0) return;
    ce.chain = ce.chain
      .then(async () => {
        for (const ch of changes) await this.persist(ce, ch);
        this.bus.emit("openIncidents", { cluster: ce.name, open: ce.engine.openIncidents().length });
      })
      .catch((e: unknown) => {
        if (e instanceof FencedError) {
          // another replica holds the cluster now: it restored the engine from storage and decides from here
          this.counters.inc("kam_detector_errors_total", { kind: "fenced" });
          this.log.warn({ cluster: ce.name, epoch: String(e.epoch) }, "incident changes not stored: this replica's detection lease was taken over (kam_detector_errors_total{kind=fenced})");
          this.leases.forget?.(ce.id);
          this.release([ce.id]);
          return;
        }
        this.log.error({ err: e, cluster: ce.name }, "could not store incident changes");
      });
  }

  private async persist(ce: ClusterEngine, ch: IncidentChange) {
    const inc = ch.incident;
    const { id, created, silenced, follows } = await upsertIncident(this.db, ce.id, inc, new Date(), this.leases.epoch(ce.id));
    if (created) this.counters.inc("kam_incidents_opened_total", { kind: inc.kind });
    const api = apiFromEngine(inc, id, ce.name, silenced, follows);
    this.bus.emit("incidentChanged", { cluster: ce.name, incident: api, change: ch.type });
    if (silenced) return;
    // queued after the push; a hold-down re-open keeps its first "opened" (unique per incident, webhook, event),
    // and an Alertmanager alert follows every change, a re-open included (notifier.ts)
    await this.notifier.enqueue(ce.id, id, NOTIFY_EVENT[ch.type], api);
  }
}
