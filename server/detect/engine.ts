/**
 * One detection engine per cluster: facts in (in the order the server stored them), incident changes out.
 * Pure: no I/O, no wall clock. Time comes only from the facts' `rx`/`ts` and from tick(now).
 *
 * Timing contract (why live and replay agree): the engine keeps a clock = the largest SERVER time it was
 * given (a fact's receive time `rx`, or tick(now)); a fact's node time `ts` is its event time only when it
 * is not after the receipt (event time = min(ts, rx)); a stamp more than futureSkewMs ahead is counted in
 * stats.skewed.
 * Timers (grace expiry, flapping quiet period, agent offline) fire when the clock moves strictly past
 * their deadline, in deadline order, and use the deadline as "now". push(f) first fires every timer due
 * before f's event time, applies f, then fires those due before f.rx. So whether the server ticks every second or a replay only pushes facts and
 * ticks once at the end, the same timers fire between the same facts, and every incident time comes from
 * a fact or a deadline. The one divergence is a fact arriving after the live clock already passed a
 * deadline that the fact would have cancelled: the server should tick with a small lag (e.g. now - 1 s).
 */
import type { DetectorSettings, Fact, Incident, IncidentChange, NodeStateView } from "./types";
import { DEFAULT_SETTINGS } from "./types";
import { logEv, type Ctx } from "./context";
import { Model, newCond, vipAddress, type Group, type InstRec, type KState, type LogEntry, type NodeRec } from "./model";
import { Registry } from "./registry";
import { TimerQueue } from "./timers";
import { evaluateDual } from "./dual";
import { evaluateNoMaster } from "./nomaster";
import { evaluateMismatch } from "./mismatch";
import { faultOnLog, faultOnState } from "./fault";
import { evaluateFlap } from "./flap";
import { evaluateDrift } from "./drift";
import { onDisconnected, onSeen, onServerStarted } from "./offline";
import { onProcess, onShutdownLogged, onStartLogged } from "./down";
import { stateChanges } from "./transitions";
import type { Evidence } from "./types";

/** how far before a configuration snapshot the lines of an instance it newly configures are read for its state */
export const RELOAD_LOOKBACK_MS = 30_000;

export function resolveSettings(s?: Partial<DetectorSettings>): DetectorSettings {
  const out: DetectorSettings = { ...DEFAULT_SETTINGS };
  for (const k of Object.keys(DEFAULT_SETTINGS) as (keyof DetectorSettings)[]) {
    const v = s?.[k];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) (out as unknown as Record<string, number>)[k] = v;
  }
  out.flapCount = Math.max(2, Math.round(out.flapCount));
  return out;
}

export class DetectionEngine {
  readonly settings: DetectorSettings;
  /** facts applied, facts rejected as malformed, and internal errors caught (never thrown to the caller) */
  readonly stats = { facts: 0, rejected: 0, errors: 0, skewed: 0, invariantViolations: 0 };
  lastError: unknown = null;
  /** errors caught per detector kind ("dual", "nomaster", "mismatch", "flap", "engine", ...) since the last drain */
  private errorLog: { kind: string; error: unknown }[] = [];
  /** invariant violations found since the last drain (an open incident whose condition no longer holds) */
  private violationLog: string[] = [];
  private ctx: Ctx;
  private clock = -Infinity;

  constructor(readonly cluster: string, settings?: Partial<DetectorSettings>) {
    this.settings = resolveSettings(settings);
    const model = new Model();
    this.ctx = {
      cluster, s: this.settings, model, reg: new Registry(cluster, this.settings.holdDownMs),
      timers: new TimerQueue({
        streamOf: (n) => model.nodes.get(n)?.streamAt ?? -Infinity,
        receivedOf: (n) => model.nodes.get(n)?.receivedAt ?? -Infinity,
        awaitedUntil: (n) => {
          // the server (re)started after the node's newest record: its agent, alive when the server stopped, may
          // bring a backlog once it reconnects (agents retry every 10 s at most): awaited until the allowance
          // after it is heard from again, or until it is offline (the offline limit from the start)
          const node = model.nodes.get(n);
          if (!node || !node.online || node.receivedAt >= model.serverStartedAt) return -Infinity;
          return node.backAt !== null ? node.backAt + this.settings.deliveryAllowanceMs : model.serverStartedAt + this.settings.offlineMs;
        },
        allowanceMs: this.settings.deliveryAllowanceMs,
      }),
    };
  }

  /** the engine's clock: the largest fact time or tick seen */
  now(): number {
    return this.clock;
  }

  push(fact: Fact): IncidentChange[] {
    const reg = this.ctx.reg;
    reg.out = [];
    if (!validFact(fact)) {
      this.stats.rejected++;
      return [];
    }
    try {
      if (fact.kind === "server_started") {
        // before the timers due meanwhile: a deadline that ran out while the server was down is moved first
        this.clock = Math.max(this.clock, fact.ts);
        onServerStarted(this.ctx, fact.ts, (gs, at) => this.evaluate(gs, at, []));
        this.stats.facts++;
        this.ctx.timers.fireDue(this.clock);
        return reg.out;
      }
      // the clock runs on the server's receive time; the node's stamp is the event time only where it is
      // plausible (not after the receipt), so no node stamp can push a timer past the server clock
      const rx = typeof fact.rx === "number" && Number.isFinite(fact.rx) ? fact.rx : fact.ts;
      if (fact.ts > rx + this.settings.futureSkewMs) this.stats.skewed++;
      const at = Math.min(fact.ts, rx);
      // a record of a node moves that node's stream: its timers parked until the stream passed their
      // deadline (timers.ts) may fire now, before the record is applied, like any timer due before it
      const streamNode = fact.kind === "seen" || fact.kind === "disconnected" ? null : this.ctx.model.node(fact.node);
      if (streamNode && at > streamNode.streamAt) streamNode.streamAt = at;
      if (streamNode && rx > streamNode.receivedAt) streamNode.receivedAt = rx;
      // timers due before the fact's event time fire first; those between it and the receipt fire right
      // after it (it may end their condition: a line delayed in transit is still judged at its time)
      this.ctx.timers.fireDue(at);
      if (streamNode) this.ctx.timers.release(streamNode.name, streamNode.streamAt);
      this.clock = Math.max(this.clock, rx);
      this.apply(at === fact.ts ? fact : { ...fact, ts: at });
      this.stats.facts++;
      this.ctx.timers.fireDue(this.clock);
    } catch (e) {
      this.caught("engine", e);
    }
    return reg.out;
  }

  tick(now: number): IncidentChange[] {
    return this.atTime(now, () => {
      this.clock = Math.max(this.clock, now);
      this.ctx.timers.fireDue(this.clock);
    }, true);
  }

  /** run `fn` for a time `now` (ignored unless finite), errors caught and counted; the changes it made */
  private atTime(now: number, fn: () => void, checkInvariants = false): IncidentChange[] {
    const reg = this.ctx.reg;
    reg.out = [];
    if (typeof now !== "number" || !Number.isFinite(now)) return [];
    try {
      fn();
    } catch (e) {
      this.caught("engine", e);
    }
    if (checkInvariants) this.checkInvariants();
    return reg.out;
  }

  private caught(kind: string, e: unknown): void {
    this.stats.errors++;
    this.lastError = e;
    if (this.errorLog.length < 100) this.errorLog.push({ kind, error: e });
  }

  /** errors caught since the last call (the host counts and logs them; replay() throws on them) */
  drainErrors(): { kind: string; error: unknown }[] {
    const out = this.errorLog;
    this.errorLog = [];
    return out;
  }

  /** throws DetectorFailure when a detector threw or an invariant was violated since the last check */
  assertHealthy(): void {
    const errors = this.drainErrors();
    const violations = this.drainViolations();
    if (errors.length || violations.length) {
      const e0 = errors[0];
      const first = e0 ? `${e0.kind}: ${e0.error instanceof Error ? e0.error.message : String(e0.error)}` : violations[0];
      throw new DetectorFailure(`detection of cluster ${this.cluster} failed (${errors.length} errors, ${violations.length} invariant violations): ${first}`, errors, violations);
    }
  }

  /** invariant violations found since the last call */
  drainViolations(): string[] {
    const out = this.violationLog;
    this.violationLog = [];
    return out;
  }

  /**
   * Invariant: an incident is open only while its condition holds. Checked on every tick; a violation is
   * recorded (stats.invariantViolations, drainViolations()) and the incident is left as it is.
   */
  checkInvariants(): string[] {
    const found: string[] = [];
    const { model, timers } = this.ctx;
    const groupsByScope = new Map<string, Group>();
    for (const g of model.groups.values()) groupsByScope.set(g.scope, g);
    for (const inc of this.ctx.reg.openIncidents()) {
      const g = groupsByScope.get(inc.scope);
      const node = model.nodes.get(inc.nodes[0] ?? "");
      let holds = true;
      switch (inc.kind) {
        case "DUAL_MASTER": holds = !!g && g.dual.since !== null; break;
        case "NO_MASTER": holds = !!g && g.nomaster.since !== null; break;
        case "FLAPPING": holds = !!g && g.flap.slot !== null && timers.has(`flap:${g.key}`); break;
        case "FAULT": holds = !!g && [...g.members.values()].some((r) => r.node === node?.name && r.faultSlot !== null && r.state === "FAULT"); break;
        case "STATE_MISMATCH": holds = !!g && [...g.members.values()].some((r) => r.node === node?.name && r.mismatch.slot !== null && r.mismatch.since !== null); break;
        case "KEEPALIVED_DOWN": holds = !!node && node.keepalived === "down"; break;
        case "AGENT_OFFLINE": holds = !!node && !node.online; break;
        default: holds = true; // CONFIG_DRIFT is re-checked on every config snapshot
      }
      if (!holds) found.push(`${inc.key}: open but its condition no longer holds`);
    }
    this.stats.invariantViolations += found.length;
    for (const v of found) if (this.violationLog.length < 100) this.violationLog.push(v);
    return found;
  }

  /** the earliest pending deadline (a replay or a test may tick just past it), or null */
  nextDeadline(): number | null {
    return this.ctx.timers.next();
  }

  incidents(): Incident[] {
    return this.ctx.reg.incidents();
  }

  openIncidents(): Incident[] {
    return this.ctx.reg.openIncidents();
  }

  nodeStates(): NodeStateView[] {
    const out: NodeStateView[] = [];
    for (const n of [...this.ctx.model.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push({
        node: n.name, online: n.online, lastSeen: n.lastSeen,
        instances: [...n.insts.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => ({
          instance: r.name, vrid: r.group.vrid, family: r.group.family,
          state: n.online && r.state !== null ? r.state : "UNKNOWN",
          since: r.since, priority: r.priority,
          vips: [...new Set((r.cfg?.vips ?? []).map(vipAddress))].map((address) => ({ address, held: n.vipsKnown ? n.held.has(address) : null })),
        })),
      });
    }
    return out;
  }

  private apply(f: Fact): void {
    if (f.kind === "server_started") return; // handled in push, before the timers
    const model = this.ctx.model;
    const node = model.node(f.node);
    switch (f.kind) {
      case "log":
        return this.applyLog(node, { node: f.node, ts: f.ts, id: String(f.id), line: String(f.line ?? ""), event: f.event ?? null });
      case "vips":
        return this.applyVips(node, f.ts, String(f.id), f.addresses);
      case "config": {
        const known = new Set(node.insts.keys());
        const applied = model.applyConfig(node, Array.isArray(f.instances) ? f.instances : [], f.ts, String(f.id));
        if (applied === null) return;
        for (const r of applied.retired) this.retire(node, r, f.ts, String(f.id));
        for (const r of node.insts.values()) if (!known.has(r.name) && r.state === null) this.stateFromRecentLines(node, r, f.ts);
        for (const g of model.groups.values()) evaluateDrift(this.ctx, g, f.ts);
        this.evaluate(new Set(model.groups.values()), f.ts, []);
        model.pruneGroups();
        return;
      }
      case "seen":
        return onSeen(this.ctx, node, f.ts, (gs, at) => this.evaluate(gs, at, []));
      case "disconnected":
        return onDisconnected(this.ctx, node, f.ts, (gs, at) => this.evaluate(gs, at, []));
      case "gap":
        node.gapAt = node.gapAt === null ? f.ts : Math.max(node.gapAt, f.ts);
        return;
      case "process":
        return onProcess(this.ctx, node, f, (n, inst, st, e) => this.setState(n, inst, st, e, false), (gs, at) => this.evaluate(gs, at, []));
      case "dump":
        // evidence only (dual-cause.ts): kept, nothing evaluated
        node.dumps.push({ ts: f.ts, id: String(f.id), pid: Number(f.pid), auth: f.auth && typeof f.auth === "object" ? f.auth : {} });
        return;
    }
  }

  /**
   * An instance that a snapshot configures for the first time (a reload that renamed it) has no state yet when
   * its lines came before the snapshot: they were history then (not configured). Its latest state line, or
   * "(X) setting VIPs." (MASTER), logged within RELOAD_LOOKBACK_MS before the snapshot, is its state. Truth lab
   * (CI set, seed 1, session 27): the renamed MASTER's "(H1_R71_RN) setting VIPs." came 0.5 s before the new
   * snapshot, its state stayed unknown, and the split brain that followed was blamed on a VIP "held by a
   * non-MASTER" instead of on the adverts.
   */
  private stateFromRecentLines(node: NodeRec, r: InstRec, at: number): void {
    for (const e of node.events.reversed()) {
      if (e.ts < at - RELOAD_LOOKBACK_MS) return;
      const ev = e.event;
      if (!ev || !("instance" in ev) || ev.instance !== r.name) continue;
      if (ev.type === "state") return this.setState(node, r.name, ev.state, e, ev.init === true);
      if (ev.type === "vips" && ev.action === "set") return this.setState(node, r.name, "MASTER", e, false);
    }
  }

  /** an instance left the node's configuration: its own incidents end now (their subject is gone) */
  private retire(node: NodeRec, r: InstRec, at: number, ref: string): void {
    const ev: Evidence = { node: node.name, at, kind: "config", ref, line: `${r.name} is no longer in the configuration of ${node.name} (renamed or removed)` };
    if (r.faultSlot !== null) this.ctx.reg.close(r.faultSlot, at, [ev]);
    r.faultSlot = null;
    if (r.mismatch.slot !== null) this.ctx.reg.close(r.mismatch.slot, at, [ev]);
    this.ctx.timers.cancel(`mismatch:${r.node}\u0000${r.name}`);
    r.mismatch = newCond();
    node.pendingFaults = node.pendingFaults.filter((p) => p.rec !== r);
  }

  private applyLog(node: NodeRec, e: LogEntry): void {
    node.lines.push(e);
    const ev = e.event;
    if (!ev) return;
    node.events.push(e);
    node.eventsPushed++;
    faultOnLog(this.ctx, node, e);
    if (ev.type === "daemon") {
      if (ev.what === "stopping" || ev.what === "stopped") onShutdownLogged(this.ctx, node, e);
      if (ev.what === "starting" || ev.what === "started") onStartLogged(this.ctx, node, e);
    }
    if (ev.type === "priority") {
      const r = node.insts.get(ev.instance);
      if (r) r.priority = ev.to;
      return;
    }
    const views = [...node.insts.values()].map((r) => ({ name: r.name, state: r.state, syncGroup: r.cfg?.syncGroup ?? null }));
    for (const c of stateChanges(ev, views)) this.setState(node, c.instance, c.state, e, c.init);
  }

  private setState(node: NodeRec, instance: string, state: KState, e: LogEntry, init: boolean): void {
    if (typeof instance !== "string" || instance.length === 0) return;
    const r: InstRec | null = this.ctx.model.inst(node, instance);
    if (!r) return;
    const prev = r.state;
    if (prev === state) return; // 1.x logs "Transition to MASTER" then "Entering MASTER": one change
    // the state a keepalived run starts in: "(init)", or the first BACKUP/FAULT after a start or a stop (an
    // instance with a tracked script logs no "(init)": it waits in INIT for the script's first result, then
    // logs a plain "Entering BACKUP STATE"; truth lab seed 1314: its restart and preemption were counted as
    // role changes, and two planned failovers within a minute became FLAPPING)
    const runStart = init || ((prev === null || prev === "STOP") && (state === "BACKUP" || state === "FAULT"));
    r.afterInit = r.init && prev !== null && !runStart;
    if (prev === "MASTER") r.leftMaster = state;
    r.state = state;
    r.init = runStart;
    if (runStart) r.initAt = e.ts;
    r.since = e.ts;
    r.entry = e;
    faultOnState(this.ctx, node, r, prev, e);
    this.evaluate(new Set([r.group]), e.ts, [logEv(e)]);
  }

  private applyVips(node: NodeRec, ts: number, id: string, addresses: unknown): void {
    const list = Array.isArray(addresses) ? addresses.filter((a): a is string => typeof a === "string") : [];
    const next = new Set(list.map(vipAddress));
    const first = !node.vipsKnown;
    node.vipsKnown = true;
    node.lastVips = { ts, id };
    const changed: string[] = [];
    for (const a of [...node.held.keys()]) if (!next.has(a)) {
      node.held.delete(a);
      changed.push(a);
    }
    for (const a of next) if (!node.held.has(a)) {
      node.held.set(a, { ts, id });
      changed.push(a);
    }
    const groups = new Set<Group>();
    if (first) for (const r of node.insts.values()) groups.add(r.group);
    const trigger: Evidence[] = [];
    for (const a of changed) {
      const gs = this.ctx.model.vipGroups.get(a);
      if (!gs) continue;
      for (const g of gs) groups.add(g);
      trigger.push({ node: node.name, at: ts, kind: "vips", ref: id, line: `ip addr on ${node.name}: ${next.has(a) ? "holds" : "no longer holds"} ${a}` });
    }
    this.evaluate(groups, ts, trigger);
  }

  private evaluate(groups: Set<Group>, at: number, trigger: Evidence[]): void {
    const sorted = [...groups].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const g of sorted) {
      // FLAPPING first: a change that ends a DUAL_MASTER is judged while that incident is still open
      this.guard("FLAPPING", () => evaluateFlap(this.ctx, g, at));
      this.guard("DUAL_MASTER", () => evaluateDual(this.ctx, g, at, trigger));
      this.guard("NO_MASTER", () => evaluateNoMaster(this.ctx, g, at, trigger));
      this.guard("STATE_MISMATCH", () => evaluateMismatch(this.ctx, g, at, trigger));
    }
  }

  /** one detector's failure is counted under its kind and does not stop the others */
  private guard(kind: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.caught(kind, e);
    }
  }
}

function validFact(f: unknown): f is Fact {
  if (!f || typeof f !== "object") return false;
  const x = f as { kind?: unknown; node?: unknown; ts?: unknown };
  if (typeof x.ts !== "number" || !Number.isFinite(x.ts)) return false;
  if (x.kind === "server_started") return x.node === "";
  if (typeof x.node !== "string" || x.node.length === 0) return false;
  return x.kind === "log" || x.kind === "vips" || x.kind === "config" || x.kind === "seen" || x.kind === "disconnected" || x.kind === "process" || x.kind === "gap" || x.kind === "dump";
}

/**
 * Replay stored facts through a fresh engine and return every incident (open and closed), in the order
 * they were first reported. push() fires each timer before the first fact past its deadline, and a last
 * tick(until) fires the rest, so this equals a live run that ticked at any rate up to `until`.
 */
export function replay(facts: Iterable<Fact>, until: number, settings?: Partial<DetectorSettings>, cluster = "replay"): Incident[] {
  const engine = new DetectionEngine(cluster, settings);
  const seen = new Map<string, Incident>();
  for (const f of facts) for (const ch of engine.push(f)) seen.set(ch.incident.key, ch.incident);
  for (const ch of engine.tick(until)) seen.set(ch.incident.key, ch.incident);
  engine.assertHealthy();
  return [...seen.values()];
}

/** A detector error or an invariant violation: replay() and the test helpers throw it (never silent). */
export class DetectorFailure extends Error {
  constructor(message: string, readonly errors: { kind: string; error: unknown }[], readonly violations: string[]) {
    super(message);
    this.name = "DetectorFailure";
  }
}
