/**
 * The truth lab's action catalogue and schedule generator. Each action knows
 * what it expects per the definitions (the kinds it may cause with their
 * cause class, kinds it leaves ambiguous), but the FINAL labels come from what
 * the oracle observes: an action only explains (gives the cause class of) a
 * condition the oracle saw.
 */
import type { Kind } from "./oracle";
import { between, chance, pick, type Rng, type Topology } from "./topology";
import { prng } from "../helpers/prng";

export type Role = "master" | "backup";

export interface Planned {
  kind: ActionKind;
  vrid: number;
  role: Role;
  /** which candidate when several fit (index modulo the candidates) */
  pickIndex: number;
  holdMs: number;
  /** quiet gap before the action */
  gapMs: number;
  /** start while the previous action still holds (a different router) */
  overlap: boolean;
}

export const ACTION_KINDS = [
  "kill_master", "kill_backup", "block_in", "block_both", "cut", "link_down", "eth1_down", "script_fail", "script_toggle",
  "auth_mismatch", "advert_mismatch", "vip_mismatch", "unicast_mismatch", "vrid_mismatch", "planned_failover", "rename", "priority_change",
  "reload", "vip_delete", "agent_restart", "server_restart",
  // drawn as variants (see generateSchedule), never by weight: appended so that earlier schedules stay as they were
  "block_out", "agent_down", "server_outage",
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export interface ActionInfo {
  /** the catalogue's own label: what the definitions say it causes */
  doc: string;
  benign: boolean;
  /** may it run on this topology and router */
  fits: (t: Topology, vrid: number) => boolean;
  holdMs: [number, number];
  weight: number;
}

const rt = (t: Topology, vrid: number) => t.routers.find((r) => r.vrid === vrid)!;
const anyMember = (t: Topology, vrid: number, p: (m: Topology["members"][string][number]) => boolean) => t.hosts.some((h) => p(t.members[h.name][vrid]));

export const CATALOGUE: Record<ActionKind, ActionInfo> = {
  kill_master: { doc: "SIGKILL every keepalived process of the MASTER: KEEPALIVED_DOWN; the VIP stays behind while a peer takes over: DUAL_MASTER vip_left_behind", benign: false, fits: () => true, holdMs: [7000, 10000], weight: 3 },
  kill_backup: { doc: "SIGKILL every keepalived process of a BACKUP: KEEPALIVED_DOWN; where that host is MASTER of another router, its VIP stays behind: DUAL_MASTER vip_left_behind", benign: false, fits: () => true, holdMs: [6000, 9000], weight: 2 },
  block_in: { doc: "nftables drops VRRP arriving at a BACKUP (one way): it becomes MASTER too: DUAL_MASTER adverts_not_received", benign: false, fits: () => true, holdMs: [7000, 10000], weight: 2 },
  block_both: { doc: "nftables drops VRRP on the MASTER and a BACKUP (both ways): DUAL_MASTER adverts_not_received", benign: false, fits: () => true, holdMs: [7000, 10000], weight: 1 },
  cut: { doc: "a BACKUP's bridge port cut, link up: DUAL_MASTER adverts_not_received", benign: false, fits: () => true, holdMs: [7000, 10000], weight: 2 },
  link_down: { doc: "eth0 (the VRRP interface) down on a host: FAULT interface_down of each of its instances", benign: false, fits: () => true, holdMs: [5000, 8000], weight: 2 },
  eth1_down: { doc: "eth1 down on a host: FAULT interface_down where an instance tracks eth1 (weight 0), else an unrelated interface flap that must raise nothing", benign: false, fits: () => true, holdMs: [5000, 8000], weight: 2 },
  script_fail: { doc: "the MASTER's health check fails: weight 0 -> FAULT script_failed; negative weight -> a failover (and a preemption when it recovers): nothing", benign: false, fits: (t, v) => anyMember(t, v, (m) => m.scriptWeight !== null), holdMs: [6000, 9000], weight: 2 },
  script_toggle: { doc: "the MASTER's health check toggles every 4 s, 4 cycles: negative weight -> FLAPPING tracked_script_toggling (if the role really changes); weight 0 -> FAULT episodes, FLAPPING don't care", benign: false, fits: (t, v) => anyMember(t, v, (m) => m.scriptWeight !== null), holdMs: [0, 0], weight: 2 },
  auth_mismatch: { doc: "a BACKUP restarted with another auth_pass (or PASS where the peers use none): DUAL_MASTER auth_mismatch, CONFIG_DRIFT", benign: false, fits: () => true, holdMs: [8000, 11000], weight: 2 },
  advert_mismatch: { doc: "a BACKUP restarted with the other advert_int: DUAL_MASTER advert_interval_mismatch, CONFIG_DRIFT", benign: false, fits: () => true, holdMs: [8000, 11000], weight: 1 },
  vip_mismatch: { doc: "a BACKUP restarted with one more VIP: DUAL_MASTER vip_mismatch, CONFIG_DRIFT", benign: false, fits: () => true, holdMs: [8000, 11000], weight: 1 },
  unicast_mismatch: { doc: "a BACKUP restarted without the MASTER in its unicast_peer list: DUAL_MASTER unicast_peers_mismatch, CONFIG_DRIFT", benign: false, fits: (t, v) => rt(t, v).unicast, holdMs: [8000, 11000], weight: 1 },
  vrid_mismatch: { doc: "a BACKUP restarted with another VRID for the router (same VIPs): DUAL_MASTER vrid_mismatch, CONFIG_DRIFT (VRID for the same VIP)", benign: false, fits: () => true, holdMs: [8000, 11000], weight: 1 },
  planned_failover: { doc: "graceful stop of the MASTER (SIGTERM, logged), start again later (preemption): nothing", benign: true, fits: () => true, holdMs: [6000, 9000], weight: 3 },
  rename: { doc: "an instance renamed on one host, SIGHUP: nothing", benign: true, fits: () => true, holdMs: [0, 0], weight: 2 },
  priority_change: { doc: "a BACKUP's priority lowered by 5, SIGHUP: nothing", benign: true, fits: () => true, holdMs: [0, 0], weight: 1 },
  reload: { doc: "SIGHUP without change: nothing", benign: true, fits: () => true, holdMs: [0, 0], weight: 1 },
  vip_delete: { doc: "the MASTER's VIP deleted by hand, keepalived restores it: nothing", benign: true, fits: () => true, holdMs: [0, 0], weight: 1 },
  agent_restart: { doc: "an agent SIGKILLed and started 3 s later: nothing", benign: true, fits: () => true, holdMs: [3000, 3000], weight: 2 },
  server_restart: { doc: "the server SIGKILLed and started again: nothing", benign: true, fits: () => true, holdMs: [0, 0], weight: 1 },
  block_out: { doc: "nftables drops VRRP leaving the MASTER (one way, outgoing): its peers take over, it keeps its role: DUAL_MASTER adverts_not_received", benign: false, fits: () => true, holdMs: [7000, 10000], weight: 0 },
  agent_down: { doc: "an agent SIGKILLed and started again after 20-24 s, beyond the offline limit (15 s): AGENT_OFFLINE", benign: false, fits: () => true, holdMs: [20000, 24000], weight: 0 },
  server_outage: { doc: "the server SIGKILLed for 20-25 s; meanwhile the MASTER's keepalived stops gracefully and starts again 6 s later (a planned failover and its preemption), so the agents bring backlogs with role changes, one after the other as their retries find the server: nothing", benign: true, fits: () => true, holdMs: [20000, 25000], weight: 0 },
};

/** variants drawn from a stream of their own: a block_in may become a block_out, an agent_restart an agent_down, a server_restart a server_outage */
const VARIANTS: Partial<Record<ActionKind, { kind: ActionKind; chance: number }>> = {
  block_in: { kind: "block_out", chance: 0.5 },
  agent_restart: { kind: "agent_down", chance: 0.4 },
  server_restart: { kind: "server_outage", chance: 0.5 },
};

/**
 * The VRIDs whose instance on the action's host the action hits itself: eth0 carries every instance (link_down
 * hits them all), eth1 only those that track it; any other action hits the VRID it names. The oracle gives
 * these the action's FAULT cause and a FAULTed sync-group member outside them `sync_group` (seeds 701, 719
 * and 733 of session 25: the plan named a VRID that does not track eth1, and the oracle had the mirror and its
 * origin the wrong way round).
 */
export function originsOf(kind: string, topo: Pick<Topology, "routers" | "members">, host: string | null, vrid: number | null): number[] {
  if (host === null || !topo.members[host]) return vrid === null ? [] : [vrid];
  if (kind === "link_down") return topo.routers.map((r) => r.vrid);
  if (kind === "eth1_down") return topo.routers.filter((r) => topo.members[host][r.vrid]?.trackEth1).map((r) => r.vrid);
  return vrid === null ? [] : [vrid];
}

/** what an action expects, per kind: the cause class (oracle.CAUSE_CODES) or "any"; and the kinds it leaves ambiguous */
export function expectationsOf(kind: ActionKind, ctx: { scriptWeight: number | null; tracksEth1: boolean }): { expect: Partial<Record<Kind, string>>; dontCare: Kind[] } {
  switch (kind) {
    // every keepalived process of the host goes: whichever role the action drew it for, the VIPs of any router it
    // was MASTER of stay on it (a BACKUP of one router may be another's MASTER: seed 4201), so a split brain it
    // leaves behind has the same cause either way
    case "kill_master":
    case "kill_backup":
      return { expect: { KEEPALIVED_DOWN: "any", DUAL_MASTER: "vip_left_behind", STATE_MISMATCH: "any" }, dontCare: [] };
    case "block_in":
    case "block_out":
    case "block_both":
    case "cut":
      return { expect: { DUAL_MASTER: "adverts_not_received" }, dontCare: [] };
    case "agent_down":
      return { expect: { AGENT_OFFLINE: "any" }, dontCare: [] };
    case "link_down":
      return { expect: { FAULT: "interface_down" }, dontCare: ["NO_MASTER"] };
    case "eth1_down":
      return ctx.tracksEth1 ? { expect: { FAULT: "interface_down" }, dontCare: ["NO_MASTER"] } : { expect: {}, dontCare: [] };
    case "script_fail":
      return ctx.scriptWeight === 0 ? { expect: { FAULT: "script_failed" }, dontCare: ["NO_MASTER"] } : { expect: {}, dontCare: [] };
    case "script_toggle":
      return ctx.scriptWeight === 0
        ? { expect: { FAULT: "script_failed" }, dontCare: ["FLAPPING", "NO_MASTER"] }
        : { expect: { FLAPPING: "tracked_script_toggling" }, dontCare: [] };
    case "auth_mismatch":
      return { expect: { DUAL_MASTER: "auth_mismatch", CONFIG_DRIFT: "any" }, dontCare: [] };
    case "advert_mismatch":
      return { expect: { DUAL_MASTER: "advert_interval_mismatch", CONFIG_DRIFT: "any" }, dontCare: [] };
    case "vip_mismatch":
      return { expect: { DUAL_MASTER: "vip_mismatch", CONFIG_DRIFT: "any" }, dontCare: [] };
    case "unicast_mismatch":
      return { expect: { DUAL_MASTER: "unicast_peers_mismatch", CONFIG_DRIFT: "any" }, dontCare: [] };
    case "vrid_mismatch":
      return { expect: { DUAL_MASTER: "vrid_mismatch", CONFIG_DRIFT: "any" }, dontCare: [] };
    default:
      return { expect: {}, dontCare: [] };
  }
}

export interface Schedule {
  seed: number;
  actions: Planned[];
}

/** a seeded schedule of 4-8 actions (fewer when maxActions says so) with quiet gaps, sometimes overlapping on another router */
export function generateSchedule(seed: number, t: Topology, maxActions = 8): Schedule {
  const r: Rng = prng(seed ^ 0x5eed);
  const variants: Rng = prng(seed ^ 0x7a41);
  const drawn: ActionKind[] = [];
  const n = Math.min(maxActions, between(r, 4, 8));
  const actions: Planned[] = [];
  const kinds = ACTION_KINDS.filter((k) => k !== "server_restart" || chance(r, 0.5));
  for (let i = 0; i < n; i++) {
    const vrid = pick(r, t.routers).vrid;
    const fit = kinds.filter((k) => CATALOGUE[k].fits(t, vrid));
    const total = fit.reduce((a, k) => a + CATALOGUE[k].weight, 0);
    let x = r() * total;
    let kind = fit[0];
    for (const k of fit) {
      x -= CATALOGUE[k].weight;
      if (x <= 0) {
        kind = k;
        break;
      }
    }
    // the variant draw happens for every action, whatever its kind: one draw per action keeps the stream simple
    const v = variants();
    const variant = VARIANTS[kind];
    const [lo, hi] = CATALOGUE[kind].holdMs;
    const prev = actions[actions.length - 1];
    // on the kind drawn, not its variant: the main stream's draws stay those of schedules without variants
    const overlap = !!prev && t.routers.length > 1 && prev.vrid !== vrid && CATALOGUE[drawn[drawn.length - 1]].holdMs[0] >= 5000 && kind !== "server_restart" && chance(r, 0.3);
    drawn.push(kind);
    const planned: Planned = {
      kind, vrid, role: kind === "kill_backup" || kind.endsWith("_mismatch") || kind === "block_in" || kind === "cut" || kind === "priority_change" ? "backup" : "master",
      pickIndex: between(r, 0, 7), holdMs: between(r, lo, hi), gapMs: between(r, 6000, 10000), overlap,
    };
    if (variant && v < variant.chance) {
      const [vlo, vhi] = CATALOGUE[variant.kind].holdMs;
      Object.assign(planned, { kind: variant.kind, role: "master", holdMs: Math.round(vlo + (v / variant.chance) * (vhi - vlo)) });
    }
    actions.push(planned);
  }
  return { seed, actions };
}
