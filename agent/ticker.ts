/**
 * One wake-up per second for the agent's periodic work: the process watch (every 1 s), the log file
 * follower's safety poll while its directory watch runs (1 s), the configuration check (5 s), the
 * heartbeats (5 s) and the VIP probe's timer (10 s) ride on one shared 1-second interval instead of a
 * timer each.
 *
 * Why by hand: node groups timers of the same duration in one list, but each still expires at its own start
 * + duration, so five timers started at different moments wake the event loop at five moments. On an idle
 * node the wake-ups are most of the agent's cost: the process watch's own 1-second timer cost 0.06 % of a
 * core, as much as a whole bare node idling with one such timer (0.05 %; bench/agent.ts, session 34), and
 * the agent runs on every keepalived node. No library does this coalescing for node's timers; it is a
 * counter and a set.
 *
 * A period that is not a whole number of seconds (tests use 50-100 ms) gets its own setInterval, as before.
 * A subscriber that throws does not keep the others of the same tick from running: its error is thrown
 * again on its own (an uncaught exception, as from its own timer).
 */
export interface Periodic {
  cancel(): void;
}

const TICK_MS = 1000;

interface Sub {
  /** ticks between runs */
  every: number;
  /** the tick it runs next */
  next: number;
  fn: () => void;
}

const subs = new Set<Sub>();
let timer: NodeJS.Timeout | null = null;
let ticks = 0;

function tick(): void {
  ticks++;
  for (const s of [...subs]) {
    if (ticks < s.next || !subs.has(s)) continue;
    s.next = ticks + s.every;
    try {
      s.fn();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}

/** run `fn` every `ms` (a whole number of seconds: on the shared tick; else on a timer of its own) until cancelled */
export function every(ms: number, fn: () => void): Periodic {
  if (!(ms >= TICK_MS) || ms % TICK_MS !== 0) {
    const own = setInterval(fn, ms);
    return { cancel: () => clearInterval(own) };
  }
  const sub: Sub = { every: ms / TICK_MS, next: ticks + ms / TICK_MS, fn };
  subs.add(sub);
  timer ??= setInterval(tick, TICK_MS);
  return {
    cancel: () => {
      subs.delete(sub);
      if (subs.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    },
  };
}

/** subscribers on the shared tick (tests) */
export function sharedSubscribers(): number {
  return subs.size;
}
