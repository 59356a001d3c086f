/**
 * Fixed-window counters per key (login attempts per IP and per user name),
 * bounded in memory: past maxKeys the oldest keys are forgotten.
 */
export class WindowLimiter {
  private readonly hits = new Map<string, { start: number; n: number }>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** counts one attempt; false when the key is over its limit in the current window */
  hit(key: string, now = Date.now()): boolean {
    let e = this.hits.get(key);
    if (!e || now - e.start >= this.windowMs) {
      this.hits.delete(key);
      e = { start: now, n: 0 };
      this.hits.set(key, e);
      while (this.hits.size > this.maxKeys) this.hits.delete(this.hits.keys().next().value!);
    }
    e.n++;
    return e.n <= this.limit;
  }

  /** true when the key used up its attempts in the current window (does not count) */
  over(key: string, now = Date.now()): boolean {
    const e = this.hits.get(key);
    return !!e && now - e.start < this.windowMs && e.n >= this.limit;
  }

  /** seconds until the key's window ends */
  retryAfter(key: string, now = Date.now()): number {
    const e = this.hits.get(key);
    return e ? Math.max(1, Math.ceil((e.start + this.windowMs - now) / 1000)) : 0;
  }
}
