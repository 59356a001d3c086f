/** A set of positive integers stored as sorted, disjoint, non-adjacent [from, to] ranges (acked seqs). */
export class RangeSet {
  private r: Array<[number, number]> = [];

  static fromJSON(data: unknown): RangeSet {
    const s = new RangeSet();
    if (Array.isArray(data)) {
      for (const x of data) {
        if (Array.isArray(x) && Number.isSafeInteger(x[0]) && Number.isSafeInteger(x[1]) && x[0] <= x[1]) s.addRange(x[0], x[1]);
      }
    }
    return s;
  }

  toJSON(): Array<[number, number]> {
    return this.r.map(([a, b]) => [a, b]);
  }

  /** index of the first range whose end is >= n */
  private find(n: number): number {
    let lo = 0;
    let hi = this.r.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.r[mid][1] < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(n: number): boolean {
    const i = this.find(n);
    return i < this.r.length && this.r[i][0] <= n;
  }

  /** returns true when n was not in the set */
  add(n: number): boolean {
    if (this.has(n)) return false;
    this.addRange(n, n);
    return true;
  }

  addRange(a: number, b: number): void {
    let i = this.find(a - 1);
    let lo = a;
    let hi = b;
    let j = i;
    while (j < this.r.length && this.r[j][0] <= b + 1) {
      lo = Math.min(lo, this.r[j][0]);
      hi = Math.max(hi, this.r[j][1]);
      j++;
    }
    this.r.splice(i, j - i, [lo, hi]);
  }

  /** forget everything below min */
  prune(min: number): void {
    while (this.r.length && this.r[0][1] < min) this.r.shift();
    if (this.r.length && this.r[0][0] < min) this.r[0][0] = min;
  }

  get rangeCount(): number {
    return this.r.length;
  }
}
