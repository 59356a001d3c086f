/**
 * The definitions' incident lifecycle applied to the oracle's labels (docs/TRUTH.md, "The lifecycle").
 */
import type { Kind, Label } from "./oracle-types";

const PER_HOST: Kind[] = ["FAULT", "KEEPALIVED_DOWN", "AGENT_OFFLINE"];

/**
 * Labels of one incident by the definitions' lifecycle: the same kind, VRID, cause class (unknown counts as one
 * class) and, for per-host kinds, the same host, starting within holdDownMs after the previous one ended, are
 * one label from the first start to the last end (its window, hosts and "why" say so). An episode starts when
 * its condition began (`since`: an AGENT_OFFLINE began when the agent went silent, offlineMs before its label's
 * start), as the product's registry counts it (openedAt - the previous closedAt; seed 1007: an agent silent
 * again 48 s after it came back re-opened the incident, the oracle counted from the deadline, 63 s, and made
 * two). Pure; exported for tests.
 */
export function mergeWithinHoldDown(labels: Label[], holdDownMs: number): Label[] {
  const key = (l: Label) => [l.kind, l.vrid ?? "-", l.cause ?? "?", PER_HOST.includes(l.kind) ? l.hosts.join(",") : ""].join("|");
  const out: Label[] = [];
  const last = new Map<string, Label>();
  for (const l of [...labels].sort((a, b) => a.start - b.start)) {
    if (l.kind === "FLAPPING") {
      out.push(l);
      continue;
    }
    const k = key(l);
    const prev = last.get(k);
    if (prev && (l.since ?? l.start) - prev.end <= holdDownMs && l.start >= prev.start) {
      const episodes = (/\((\d+) episodes within the hold-down\)$/.exec(prev.why)?.[1] ?? "1");
      const n = Number(episodes) + 1;
      Object.assign(prev, {
        end: Math.max(prev.end, l.end), ended: l.end >= prev.end ? l.ended : prev.ended, hosts: [...new Set([...prev.hosts, ...l.hosts])].sort(),
        why: `${prev.why.replace(/ \(\d+ episodes within the hold-down\)$/, "")} (${n} episodes within the hold-down)`,
      });
      continue;
    }
    const copy = { ...l };
    out.push(copy);
    last.set(k, copy);
  }
  return out.sort((a, b) => a.start - b.start);
}
