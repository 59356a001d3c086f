/**
 * Synthetic keepalived 2.x output with the mix real nodes produce (see the
 * captures in the shared fixtures): a takeover is about nine lines (advert
 * timeout, Entering MASTER, setting VIPs, gratuitous ARPs), a step-down about
 * three; so about one line in six is a state change.
 */
import { randomUUID } from "node:crypto";
import type { LogRecordMsg } from "../../server/protocol";

export interface Episode {
  /** the instance's state after the episode */
  state: "MASTER" | "BACKUP";
  lines: string[];
}

export function takeover(instance: string, vip: string, iface = "eth0"): Episode {
  return {
    state: "MASTER",
    lines: [
      `(${instance}) Receive advertisement timeout`,
      `(${instance}) Entering MASTER STATE`,
      `(${instance}) setting VIPs.`,
      `(${instance}) Sending/queueing gratuitous ARPs on ${iface} for ${vip}`,
      ...Array.from({ length: 5 }, () => `Sending gratuitous ARP on ${iface} for ${vip}`),
    ],
  };
}

export function stepDown(instance: string, peer: string): Episode {
  return {
    state: "BACKUP",
    lines: [
      `(${instance}) Master received advert from ${peer} with higher priority 150, ours 100`,
      `(${instance}) Entering BACKUP STATE`,
      `(${instance}) removing VIPs.`,
    ],
  };
}

/** `n` lines of alternating takeovers and step-downs over `instances` instances (round robin) */
export function* lineStream(instances: number, vipBase = "198.18.0"): Generator<{ line: string; state: boolean }> {
  const cur = new Map<number, "MASTER" | "BACKUP">();
  for (let k = 0; ; k++) {
    const i = k % instances;
    const name = `VI_${i + 1}`;
    const ep = cur.get(i) === "MASTER" ? stepDown(name, `${vipBase}.2`) : takeover(name, `${vipBase}.${(i % 200) + 10}`);
    cur.set(i, ep.state);
    for (const line of ep.lines) yield { line, state: / Entering (MASTER|BACKUP) STATE/.test(line) };
  }
}

/** a journald-like cursor (what agents send for source = journal) */
export const fakeCursor = (bootId: string, seqnum: number, usec: number) =>
  `s=${bootId};i=${seqnum.toString(16)};b=${bootId};m=${usec.toString(16)};t=${usec.toString(16)};x=${(seqnum * 2654435761 >>> 0).toString(16)}`;

/** n batches of `size` journal log records of one agent (seqs continue from agentSeq), an hour old */
export function makeBatches(n: number, size: number, agentSeq: { v: number }): LogRecordMsg[][] {
  const gen = lineStream(50);
  const boot = randomUUID().replace(/-/g, "");
  return Array.from({ length: n }, () =>
    Array.from({ length: size }, (): LogRecordMsg => {
      const seq = ++agentSeq.v;
      const ts = Date.now() - 3600_000 + seq;
      return { kind: "log", seq, ts, source: "journal", line: gen.next().value!.line, cursor: fakeCursor(boot, seq, ts * 1000), ident: "Keepalived_vrrp", pid: 4242 };
    }),
  );
}
