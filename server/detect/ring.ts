/** A fixed-capacity ring buffer: pushing past capacity drops the oldest element. O(1) push. */
export class Ring<T> {
  private buf: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<T | undefined>(Math.max(1, capacity));
  }

  get size(): number {
    return this.count;
  }

  push(x: T): void {
    const cap = this.buf.length;
    if (this.count < cap) {
      this.buf[(this.start + this.count) % cap] = x;
      this.count++;
    } else {
      this.buf[this.start] = x;
      this.start = (this.start + 1) % cap;
    }
  }

  /** i-th element, oldest first */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.buf[(this.start + i) % this.buf.length];
  }

  /** oldest to newest */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.buf[(this.start + i) % this.buf.length] as T;
  }

  /** newest to oldest */
  *reversed(): IterableIterator<T> {
    for (let i = this.count - 1; i >= 0; i--) yield this.buf[(this.start + i) % this.buf.length] as T;
  }
}
