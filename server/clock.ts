/**
 * Strictly increasing server receive times with microsecond resolution, so
 * that the order in which records were stored can be recovered from
 * received_at alone (detectors replay history in that order).
 */
export class MonotonicClock {
  private lastUs = 0n;

  constructor(private now: () => number = Date.now) {}

  /** microseconds since the epoch, > every earlier value */
  nextUs(): bigint {
    let us = BigInt(this.now()) * 1000n;
    if (us <= this.lastUs) us = this.lastUs + 1n;
    this.lastUs = us;
    return us;
  }

  static iso(us: bigint): string {
    const ms = Number(us / 1000n);
    const micro = String(us % 1000n).padStart(3, "0");
    return new Date(ms).toISOString().replace("Z", `${micro}Z`);
  }

  nextIso(): string {
    return MonotonicClock.iso(this.nextUs());
  }
}
