/**
 * Deadlines of the detectors (grace expiry, flapping quiet period, agent offline), in one min-heap.
 *
 * A timer fires when the engine's clock moves strictly PAST its deadline, and its handler receives the
 * deadline (not the clock), so incident times never depend on when or how often tick() ran. Ties fire in
 * key order, so the live engine and a replay fire them identically. Re-setting or cancelling a key leaves
 * a stale heap entry that is skipped when popped; the heap is compacted when stale entries pile up.
 */
export type TimerFn = (at: number) => void;

interface Entry {
  at: number;
  key: string;
}

export class TimerQueue {
  private heap: Entry[] = [];
  private live = new Map<string, { at: number; fn: TimerFn }>();
  /** the largest limit fireDue was called with: how far the engine's clock has gone */
  reached = -Infinity;

  get size(): number {
    return this.live.size;
  }

  set(key: string, at: number, fn: TimerFn): void {
    this.live.set(key, { at, fn });
    this.insert({ at, key });
    if (this.heap.length > 64 + 4 * this.live.size) this.compact();
  }

  cancel(key: string): void {
    this.live.delete(key);
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  deadline(key: string): number | null {
    return this.live.get(key)?.at ?? null;
  }

  /** earliest pending deadline, or null */
  next(): number | null {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (this.live.get(top.key)?.at === top.at) return top.at;
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
      this.live.delete(e.key);
      t.fn(t.at);
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
    const entries = [...this.live].map(([key, v]) => ({ at: v.at, key }));
    this.heap = [];
    for (const e of entries) this.insert(e);
  }
}
