/**
 * Deadlines of the detectors (grace expiry, flapping quiet period, agent offline), in one min-heap.
 *
 * A timer fires when the engine's clock moves strictly PAST its deadline, and its handler receives the
 * deadline (not the clock), so incident times never depend on when or how often tick() ran. Ties fire in
 * key order, so the live engine and a replay fire them identically. Re-setting or cancelling a key leaves
 * a stale heap entry that is skipped when popped; the heap is compacted when stale entries pile up.
 *
 * A timer may be gated on one node's stream (`set(..., { node })`): it judges a condition made only of
 * that node's reports, so it fires at its deadline only once the node's stream (the event time of the
 * latest record received from it, `streamOf`) has reached the deadline, i.e. a report of that node which
 * would have ended the condition in time can no longer be on its way. Until then it is parked: released
 * by release(node) when a later record of the node arrives, or fired by the clock once the node has been
 * quiet for `allowanceMs`: the clock is past both the deadline and the receipt of the node's newest record
 * by that much (a quiet node). Either way its handler receives the deadline.
 *
 * "Quiet" is measured from the receipt, on the server's clock, not from the deadline: a backlog (an agent
 * back after an outage, its records hours old) has every deadline far behind the clock, and measured from
 * the deadline a parked timer fired at once, before the next record of the same batch (the VIP report
 * that ended the condition) was applied: a zero-length STATE_MISMATCH per state change of the backlog.
 *
 * A timer of a condition made of several nodes' reports (DUAL_MASTER, NO_MASTER) and learnt late (the engine's
 * clock past its start by more than the allowance; the detectors decide, a live one is not gated) may be gated on
 * its members' streams (`set(..., { nodes, streamAt })`): at its deadline it waits only for the members that are
 * CATCHING UP (`catchingUp`: the newest record received from the node was already older than the allowance
 * when it arrived, and it arrived less than the allowance ago: a backlog is being delivered; or the server
 * started after the node's newest record and the node's agent is not back, or back for less than the
 * allowance, with nothing sent yet: its backlog may be on its way, `awaitedUntil`) and whose
 * stream has not reached `streamAt` (the event time up to which the condition must be known). A live member
 * (its records arrive as they are written) or a quiet one is never waited for, so live detection is not
 * delayed. The timer is released when the last such member's stream reaches `streamAt`, or fires once they
 * have all been quiet for the allowance. Why: agents' backlogs arrive node by node, so one member's stream
 * may be hours behind another's, and its current state is not its state at the other's time (session 34:
 * 1,783 false DUAL_MASTER in the 7-day history the timeline benchmark seeds, its three nodes' records
 * delivered in turns).
 */
export type TimerFn = (at: number) => void;

interface Entry {
  at: number;
  key: string;
}

interface Live {
  /** the deadline the handler receives */
  at: number;
  /** when the heap fires it: the deadline, or deadline + allowance once parked */
  due: number;
  fn: TimerFn;
  node?: string;
  /** cross-node gate: the members, and the event time up to which their streams must be known */
  nodes?: string[];
  streamAt?: number;
  parked?: boolean;
}

/** a single node's stream (STATE_MISMATCH), or a condition's members that may be catching up (DUAL_MASTER, NO_MASTER) */
export type GateOpts = { node: string } | { nodes: Iterable<string>; streamAt: number };

export interface TimerGate {
  /** event time of the latest record received from the node (-Infinity: none) */
  streamOf: (node: string) => number;
  /** server receive time of the latest record received from the node (-Infinity: none) */
  receivedOf: (node: string) => number;
  /**
   * until when (engine clock) a node is awaited whatever its stream says, -Infinity if not: the server started
   * after its newest record, and its agent may bring a backlog (cross-node timers only)
   */
  awaitedUntil?: (node: string) => number;
  /** a parked timer fires once the clock is this far past both its deadline and the node's newest receipt */
  allowanceMs: number;
}

export class TimerQueue {
  private heap: Entry[] = [];
  private live = new Map<string, Live>();
  /** keys of the parked timers (each also in live) */
  private parkedKeys = new Set<string>();
  /** the largest limit fireDue was called with: how far the engine's clock has gone */
  reached = -Infinity;

  /** without a gate, node-gated timers fire at their deadline like any other */
  constructor(private readonly gate: TimerGate | null = null) {}

  get size(): number {
    return this.live.size;
  }

  set(key: string, at: number, fn: TimerFn, opts?: GateOpts): void {
    const gated = !opts || !this.gate ? {} : "node" in opts ? { node: opts.node } : { nodes: [...opts.nodes].sort(), streamAt: opts.streamAt };
    this.live.set(key, { at, due: at, fn, ...gated });
    this.parkedKeys.delete(key);
    this.insert({ at, key });
    if (this.heap.length > 64 + 4 * this.live.size) this.compact();
  }

  cancel(key: string): void {
    this.live.delete(key);
    this.parkedKeys.delete(key);
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  deadline(key: string): number | null {
    return this.live.get(key)?.at ?? null;
  }

  /** the node a pending timer is gated on, or null (not gated, or no such timer) */
  gatedOn(key: string): string | null {
    return this.live.get(key)?.node ?? null;
  }

  /**
   * Is a backlog of the node being delivered? Its newest record was already older than the allowance when it
   * arrived, and it arrived less than the allowance ago (on the engine's clock). A live node's records arrive
   * as they are written; a node that sent its whole backlog is quiet once the allowance has passed.
   */
  catchingUp(node: string): boolean {
    return this.catchingUpUntil(node) > this.reached;
  }

  /** until when (engine clock) the node counts as catching up, if nothing more arrives from it */
  private catchingUpUntil(node: string): number {
    if (!this.gate) return -Infinity;
    const rx = this.gate.receivedOf(node);
    const awaited = this.gate.awaitedUntil?.(node) ?? -Infinity;
    return Math.max(awaited, rx - this.gate.streamOf(node) > this.gate.allowanceMs ? rx + this.gate.allowanceMs : -Infinity);
  }

  /** is the node's state known as of `at`: its stream reached it, or no backlog of it is on its way */
  knownAt(node: string, at: number): boolean {
    return !this.gate || this.gate.streamOf(node) >= at || !this.catchingUp(node);
  }

  /** the members of a cross-node timer it still waits for */
  private blockers(t: Live): string[] {
    return (t.nodes ?? []).filter((n) => !this.knownAt(n, t.streamAt!));
  }

  /** keys of the timers parked waiting for a node's stream (tests, invariants) */
  parked(): string[] {
    return [...this.parkedKeys].sort();
  }

  /** earliest pending deadline, or null */
  next(): number | null {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (this.live.get(top.key)?.due === top.at) return top.at;
      this.pop();
    }
    return null;
  }

  /** Fire, in deadline order, every timer whose deadline is < limit (handlers may set new timers). */
  fireDue(limit: number): void {
    if (limit > this.reached) this.reached = limit;
    for (;;) {
      const at = this.next();
      if (at === null || !(at < limit)) return;
      const e = this.pop()!;
      const t = this.live.get(e.key)!;
      if (t.nodes !== undefined && this.gate) {
        // members still catching up: wait until their streams reach streamAt, or until they are all quiet (each
        // is catching up only while its newest receipt is less than the allowance old: that due is ahead)
        const wait = this.blockers(t);
        if (wait.length > 0) {
          t.parked = true;
          this.parkedKeys.add(e.key);
          t.due = Math.max(...wait.map((n) => this.catchingUpUntil(n)));
          this.insert({ at: t.due, key: e.key });
          continue;
        }
      }
      if (t.node !== undefined && this.gate && this.gate.streamOf(t.node) < t.at) {
        // the node's stream has not reached the deadline: wait for it, or until the node has been quiet for
        // the allowance (a record received meanwhile, still older than the deadline, moves that on)
        const due = Math.max(t.at, this.gate.receivedOf(t.node)) + this.gate.allowanceMs;
        if (!t.parked || due > t.due) {
          t.parked = true;
          this.parkedKeys.add(e.key);
          t.due = due;
          this.insert({ at: t.due, key: e.key });
          continue;
        }
      }
      this.live.delete(e.key);
      this.parkedKeys.delete(e.key);
      t.fn(t.at);
    }
  }

  /**
   * The node's stream has reached `upTo`: fire its parked timers with a deadline <= upTo, and the parked
   * cross-node timers it was among the last members to wait for, in deadline order (then key order), each
   * with its deadline.
   */
  release(node: string, upTo: number): void {
    // the cross-node timers still waiting for others: their wait may end sooner now (the node is back)
    for (const key of this.parkedKeys) {
      const t = this.live.get(key)!;
      if (!t.nodes?.includes(node)) continue;
      const wait = this.blockers(t);
      const due = wait.length ? Math.max(...wait.map((n) => this.catchingUpUntil(n))) : -Infinity;
      if (wait.length && due < t.due) {
        t.due = due;
        this.insert({ at: due, key });
      }
    }
    while (this.parkedKeys.size > 0) {
      let best: [string, Live] | null = null;
      for (const key of this.parkedKeys) {
        const t = this.live.get(key)!;
        const ready = t.nodes ? t.nodes.includes(node) && this.blockers(t).length === 0 : t.node === node && t.at <= upTo;
        if (!ready) continue;
        if (!best || t.at < best[1].at || (t.at === best[1].at && key < best[0])) best = [key, t];
      }
      if (!best) return;
      this.live.delete(best[0]);
      this.parkedKeys.delete(best[0]);
      best[1].fn(best[1].at);
    }
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.key < b.key);
  }

  private insert(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  private compact(): void {
    const entries = [...this.live].map(([key, v]) => ({ at: v.due, key }));
    this.heap = [];
    for (const e of entries) this.insert(e);
  }
}
