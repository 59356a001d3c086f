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
