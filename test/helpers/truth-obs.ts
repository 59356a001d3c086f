/**
 * Synthetic observations and incidents for the truth lab's oracle and scorer tests
 * (test/unit/truth-scorer.test.ts, truth-oracle-vrid.test.ts): two hosts a and b, VRID 10, times in
 * seconds from T0.
 */
import type { IncidentMsg } from "../../server/protocol";
import { emptyObservations, type ActionRecord, type Observations, type RouterFields } from "../truth/oracle";
import type { SeenIncident } from "../truth/scorer";
import type { Topology } from "../truth/topology";

export const T0 = Date.parse("2026-12-04T12:00:00Z");
export const s = (sec: number) => T0 + sec * 1000;
export const VIP = "198.18.0.101";
export const FIELDS: RouterFields = { authPass: "pw", advertInt: 1, vips: [VIP], peers: null };

/** two hosts, VRID 10: a holds the VIP as MASTER from 2 s, b BACKUP; keepalived runs on both */
export function baseObs(endSec = 120): Observations {
  const o = emptyObservations(1, "c", ["a", "b"], [10], []);
  o.startedAt = T0;
  o.endedAt = s(endSec);
  for (const h of ["a", "b"]) {
    o.configs.push({ t: T0, host: h, routers: { 10: FIELDS } });
    o.ka.push({ t: s(0.5), host: h, what: "start" });
    o.proc.push({ t: s(0.6), host: h, running: true });
    o.agents.push({ t: T0, host: h, running: true });
  }
  o.addr.push({ t: T0, host: "a", ips: ["198.18.0.11"] }, { t: T0, host: "b", ips: ["198.18.0.12"] });
  o.addr.push({ t: s(2), host: "a", ips: ["198.18.0.11", VIP] });
  dump(o, 1, "a", 1, 0.7);
  dump(o, 1, "b", 1, 0.7);
  dump(o, 3, "a", 2, 2);
  return o;
}

/** VRID 10 tracks eth1 on a, VRID 20 does not (only what originsOf reads) */
export const TOPO = {
  routers: [{ vrid: 10 }, { vrid: 20 }],
  members: { a: { 10: { trackEth1: true }, 20: { trackEth1: false } }, b: { 10: { trackEth1: false }, 20: { trackEth1: false } } },
} as unknown as Pick<Topology, "routers" | "members">;

export function dump(o: Observations, atSec: number, host: string, state: number, sinceSec: number) {
  o.dumps.push({ t: s(atSec), host, instances: [{ iname: `VI_${host}`, vrid: 10, state, lastTransition: s(sinceSec) }] });
}

export function action(o: Observations, a: Partial<ActionRecord> & { kind: string; at: number; until: number }): void {
  o.actions.push({ id: o.actions.length + 1, host: null, vrid: 10, expect: {}, dontCare: [], benign: false, ...a });
}

let nextId = 0;
export function inc(kind: IncidentMsg["kind"], openSec: number, closeSec: number | null, code: string, nodes: string[], extra: Partial<IncidentMsg> = {}): SeenIncident {
  const i: IncidentMsg = {
    id: String(++nextId), cluster: "c", kind, severity: "critical", vrid: 10, instances: {}, nodes, openedAt: new Date(s(openSec)).toISOString(),
    closedAt: closeSec === null ? null : new Date(s(closeSec)).toISOString(), silenced: false, cause: { code, summary: code, evidence: [] }, ...extra,
  };
  return { inc: i, firstSeen: s(openSec) + 400, closedSeen: closeSec === null ? null : s(closeSec) + 300 };
}

const OWN: Record<string, string> = { a: "198.18.0.11", b: "198.18.0.12" };

/**
 * `killed` (holding the VIP) SIGKILLed at `at` s: its VIP stays, `taker` becomes MASTER 3.5 s later and adds the VIP;
 * `killed` starts again 10 s after the kill and removes the VIP 0.4 s later
 */
export function killedKeepingVip(o: Observations, killed: string, taker: string, at: number): void {
  o.ka.push({ t: s(at), host: killed, what: "kill" });
  o.proc.push({ t: s(at + 0.1), host: killed, running: false });
  dump(o, at + 4, taker, 2, at + 3.5);
  o.addr.push({ t: s(at + 3.6), host: taker, ips: [OWN[taker], VIP] });
  o.ka.push({ t: s(at + 10), host: killed, what: "start" });
  o.proc.push({ t: s(at + 10.1), host: killed, running: true });
  o.addr.push({ t: s(at + 10.4), host: killed, ips: [OWN[killed]] });
}

/** the MASTER a SIGKILLed at 20 s: its VIP stays, b takes over at 23.5 s, a starts again at 30 s and removes the VIP */
export function killMasterObs(): Observations {
  const o = baseObs();
  killedKeepingVip(o, "a", "b", 20);
  dump(o, 31, "a", 1, 30.2);
  action(o, { kind: "kill_master", host: "a", at: s(20), until: s(30), expect: { KEEPALIVED_DOWN: "any", DUAL_MASTER: "vip_left_behind" } });
  return o;
}
