/**
 * The incidents of one cluster: opening, updating, closing, hold-down and keys.
 *
 * A "slot" names what an incident is about without its time: `${kind}:${scope}` plus `:${node}` for
 * node-scoped kinds (FAULT, STATE_MISMATCH, AGENT_OFFLINE) or `:names` for the informational drift.
 * The key is `${cluster}:${slot}:${openedAt}`: deterministic, so a replay finds the same keys.
 *
 * Hold-down: when a slot's incident closed at most holdDownMs before a new occurrence begins WITH THE SAME
 * CAUSE, the old incident is re-opened (closedAt back to null, evidence appended) and reported as
 * "updated". With a different cause it is a new episode: a new incident whose `follows` is the old key.
 *
 * Memory: closed incidents are kept for hold-down and for incidents(); beyond MAX_CLOSED the oldest
 * closed ones are forgotten (the server has stored them; replay() collects its own list).
 */
import type { Cause, Evidence, Incident, IncidentChange, IncidentKind, Severity } from "./types";

export const MAX_EVIDENCE = 50;
export const MAX_CLOSED = 1000;
/** kinds about a node rather than a virtual router (vrid null is normal for them) */
const NODE_SCOPED = new Set<IncidentKind>(["AGENT_OFFLINE", "KEEPALIVED_DOWN"]);

export interface OpenSpec {
  kind: IncidentKind;
  slot: string;
  severity: Severity;
  scope: string;
  vrid: number | null;
  family: Incident["family"];
  instances: Record<string, string>;
  nodes: string[];
  openedAt: number;
  cause: Cause;
  evidence: Evidence[];
}

export function snapshot(i: Incident): Incident {
  return { ...i, instances: { ...i.instances }, nodes: [...i.nodes], cause: { ...i.cause }, evidence: i.evidence.map((e) => ({ ...e })) };
}

/** Append evidence (skipping duplicates), keeping at most MAX_EVIDENCE items, in time order. */
export function appendEvidence(target: Evidence[], add: Evidence[]): boolean {
  let changed = false;
  for (const e of add) {
    if (target.length >= MAX_EVIDENCE) break;
    if (target.some((x) => x.node === e.node && x.line === e.line && x.at === e.at && x.ref === e.ref)) continue;
    target.push(e);
    changed = true;
  }
  if (changed) target.sort(byTime);
  return changed;
}

export function byTime(a: Evidence, b: Evidence): number {
  return a.at - b.at || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

export class Registry {
  /** changes produced by the current push()/tick() */
  out: IncidentChange[] = [];
  private all = new Map<string, { inc: Incident; slot: string }>();
  private openBySlot = new Map<string, Incident>();
  private closedBySlot = new Map<string, Incident>();
  /** keys of closed incidents, oldest close first */
  private closedOrder = new Set<string>();

  constructor(private cluster: string, private holdDownMs: number) {}

  get(slot: string | null): Incident | undefined {
    return slot === null ? undefined : this.openBySlot.get(slot);
  }

  open(spec: OpenSpec): Incident {
    // a virtual router whose VRID is unknown (instance known by name only) never raises more than info
    if (spec.vrid === null && !NODE_SCOPED.has(spec.kind)) spec = { ...spec, severity: "info" };
    const already = this.openBySlot.get(spec.slot);
    if (already) return already;
    const prev = this.closedBySlot.get(spec.slot);
    const recent = prev && prev.closedAt !== null && spec.openedAt >= prev.openedAt && spec.openedAt - prev.closedAt <= this.holdDownMs;
    if (prev && recent && prev.cause.code === spec.cause.code) {
      prev.closedAt = null;
      prev.nodes = [...new Set([...prev.nodes, ...spec.nodes])].sort();
      prev.instances = { ...prev.instances, ...spec.instances };
      appendEvidence(prev.evidence, spec.evidence);
      this.closedBySlot.delete(spec.slot);
      this.closedOrder.delete(prev.key);
      this.openBySlot.set(spec.slot, prev);
      this.emit("updated", prev);
      return prev;
    }
    let key = `${this.cluster}:${spec.slot}:${spec.openedAt}`;
    for (let n = 2; this.all.has(key); n++) key = `${this.cluster}:${spec.slot}:${spec.openedAt}#${n}`;
    const evidence: Evidence[] = [];
    appendEvidence(evidence, spec.evidence);
    const inc: Incident = {
      key, kind: spec.kind, severity: spec.severity, cluster: this.cluster, vrid: spec.vrid, family: spec.family, scope: spec.scope,
      instances: { ...spec.instances }, nodes: [...new Set(spec.nodes)].sort(), openedAt: spec.openedAt, closedAt: null,
      cause: { ...spec.cause }, evidence, ...(prev && recent ? { follows: prev.key } : {}),
    };
    this.all.set(key, { inc, slot: spec.slot });
    this.openBySlot.set(spec.slot, inc);
    this.emit("opened", inc);
    return inc;
  }

  /** Mutate an open incident; reported as "updated" when `fn` returns true. */
  update(inc: Incident, fn: (i: Incident) => boolean): void {
    if (fn(inc)) this.emit("updated", inc);
  }

  close(slot: string | null, at: number, evidence: Evidence[] = []): Incident | undefined {
    if (slot === null) return undefined;
    const inc = this.openBySlot.get(slot);
    if (!inc) return undefined;
    inc.closedAt = Math.max(at, inc.openedAt);
    appendEvidence(inc.evidence, evidence);
    this.openBySlot.delete(slot);
    this.closedBySlot.set(slot, inc);
    this.closedOrder.add(inc.key);
    this.emit("closed", inc);
    this.prune();
    return inc;
  }

  /** an incident of the slot (open, or closed and still kept) covered part of [from, to] */
  reportedDuring(slot: string, from: number, to: number): boolean {
    for (const x of this.all.values()) {
      if (x.slot !== slot) continue;
      if (x.inc.openedAt <= to && (x.inc.closedAt ?? Infinity) >= from) return true;
    }
    return false;
  }

  incidents(): Incident[] {
    return [...this.all.values()].map((x) => snapshot(x.inc));
  }

  openIncidents(): Incident[] {
    return [...this.openBySlot.values()].map(snapshot);
  }

  private emit(type: IncidentChange["type"], inc: Incident): void {
    this.out.push({ type, incident: snapshot(inc) });
  }

  private prune(): void {
    while (this.closedOrder.size > MAX_CLOSED) {
      const key = this.closedOrder.values().next().value as string;
      this.closedOrder.delete(key);
      const x = this.all.get(key);
      if (!x) continue;
      this.all.delete(key);
      if (this.closedBySlot.get(x.slot) === x.inc) this.closedBySlot.delete(x.slot);
    }
  }
}
