import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** Process-wide counters, exposed later on /metrics (Prometheus text). */
export class Counters {
  private values = new Map<string, number>();

  inc(name: string, labels: Record<string, string> = {}, by = 1) {
    const key = name + JSON.stringify(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(name: string, labels: Record<string, string> = {}): number {
    return this.values.get(name + JSON.stringify(labels)) ?? 0;
  }

  /** every (name, labels, value) */
  entries(): { name: string; labels: Record<string, string>; value: number }[] {
    return [...this.values].map(([key, value]) => {
      const i = key.indexOf("{");
      return { name: key.slice(0, i), labels: JSON.parse(key.slice(i)) as Record<string, string>, value };
    });
  }
}

/**
 * Event-loop delay of this process (perf_hooks.monitorEventLoopDelay, 10 ms
 * resolution), summarized per scrape: every read returns the quantiles since
 * the previous read and starts a new window.
 */
export class LoopLag {
  private h: IntervalHistogram | null = null;
  private since = Date.now();

  start(): this {
    if (!this.h) {
      this.h = monitorEventLoopDelay({ resolution: 10 });
      this.h.enable();
      this.since = Date.now();
    }
    return this;
  }

  stop() {
    this.h?.disable();
    this.h = null;
  }

  /** seconds: p50, p99 and max of the delay since the last take(), and the window's length */
  take(): { p50: number; p99: number; max: number; windowSeconds: number } | null {
    const h = this.h;
    if (!h) return null;
    const out = {
      p50: h.count ? h.percentile(50) / 1e9 : 0,
      p99: h.count ? h.percentile(99) / 1e9 : 0,
      max: h.count ? h.max / 1e9 : 0,
      windowSeconds: (Date.now() - this.since) / 1000,
    };
    h.reset();
    this.since = Date.now();
    return out;
  }
}
