/**
 * CONFIG_DRIFT: peers of one virtual router (same VRID + family) compared from their newest config
 * snapshots. What must match on the wire (auth type + password hash, VIP set, advert_int, VRRP version,
 * unicast/multicast and unicast peers) is a warning and may explain a DUAL_MASTER; equal priorities and
 * several `state MASTER` + `nopreempt` are warnings; differing instance names are information only
 * (the name is not in the VRRP packet) and are reported as a separate "info" incident that is never
 * the cause of anything.
 */
import type { ConfigInstance } from "../protocol";
import type { Evidence } from "./types";
import { list, subject, type Ctx } from "./context";
import { vipAddress, type Group } from "./model";
import { appendEvidence } from "./registry";

export interface DriftItem {
  code: string;
  /** on the wire: a mismatch makes peers reject each other's adverts */
  wire: boolean;
  severity: "warning" | "info";
  summary: string;
  evidence: Evidence[];
}

export interface MemberCfg {
  node: string;
  cfg: ConfigInstance;
  at: number;
  ref: string | null;
}

const distinct = (xs: string[]) => new Set(xs).size > 1;

function lines(members: MemberCfg[], render: (m: MemberCfg) => string): Evidence[] {
  return members.map((m) => ({ node: m.node, at: m.at, line: `${m.cfg.name}: ${render(m)}`, kind: "config" as const, ...(m.ref ? { ref: m.ref } : {}) }));
}

/**
 * Differences between the configs of one virtual router's peers, most important first. `elsewhere`: instances
 * of other nodes that configure one of this router's VIPs under another VRID (the router is the VRID most
 * nodes use for that VIP): the same addresses in two virtual routers, a `vrid_mismatch`.
 */
export function compareConfigs(members: MemberCfg[], what: string, elsewhere: MemberCfg[] = []): DriftItem[] {
  if (new Set([...members, ...elsewhere].map((m) => m.node)).size < 2) return [];
  const out: DriftItem[] = [];
  const add = (code: string, wire: boolean, severity: DriftItem["severity"], summary: string, ev: Evidence[]) =>
    out.push({ code, wire, severity, summary, evidence: ev });
  if (elsewhere.length) {
    const vids = [...new Set(elsewhere.map((m) => String(m.cfg.vrid)))];
    add("vrid_mismatch", true, "warning",
      `${list([...new Set(elsewhere.map((m) => m.node))])} configure${new Set(elsewhere.map((m) => m.node)).size > 1 ? "" : "s"} addresses of ${what} under virtual_router_id ${list(vids)}: the same VIPs in two virtual routers`,
      lines([...members, ...elsewhere], (m) => `virtual_router_id ${m.cfg.vrid ?? "(none)"}, virtual_ipaddress ${[...new Set(m.cfg.vips.map(vipAddress))].sort().join(" ")}`));
  }
  if (new Set(members.map((m) => m.node)).size < 2) return out;

  const v2 = members.filter((m) => (m.cfg.vrrpVersion ?? 2) === 2);
  if (v2.length > 1 && distinct(v2.map((m) => `${m.cfg.authType ?? "none"}|${m.cfg.authPassHash ?? ""}`))) {
    const labels = new Map<string, string>();
    for (const m of v2) if (m.cfg.authPassHash && !labels.has(m.cfg.authPassHash)) labels.set(m.cfg.authPassHash, `password #${labels.size + 1}`);
    add("auth_mismatch", true, "warning", `Peers of ${what} disagree on authentication (auth_type or auth_pass), so they reject each other's adverts`,
      lines(v2, (m) => `auth_type ${m.cfg.authType ?? "(none)"}, auth_pass ${m.cfg.authPassHash ? labels.get(m.cfg.authPassHash) : "(none)"}`));
  }
  const vipList = (m: MemberCfg) => [...new Set(m.cfg.vips.map(vipAddress))].sort().join(" ");
  if (distinct(members.map(vipList))) {
    add("vip_mismatch", true, "warning", `Peers of ${what} configure different virtual_ipaddress sets, so their adverts do not match`,
      lines(members, (m) => `virtual_ipaddress ${vipList(m) || "(none)"}`));
  }
  if (distinct(members.map((m) => String(m.cfg.advertInt)))) {
    add("advert_interval_mismatch", true, "warning", `Peers of ${what} use different advert_int values, so VRRPv2 peers drop each other's adverts`,
      lines(members, (m) => `advert_int ${m.cfg.advertInt ?? "(default)"}`));
  }
  if (distinct(members.map((m) => String(m.cfg.vrrpVersion ?? 2)))) {
    add("version_mismatch", true, "warning", `Peers of ${what} speak different VRRP versions`, lines(members, (m) => `vrrp_version ${m.cfg.vrrpVersion ?? 2}`));
  }
  const unicast = members.filter((m) => m.cfg.unicastPeers.length > 0);
  const peerGap = unicast.some((a) => members.some((b) => b.node !== a.node && b.cfg.unicastSrcIp && !a.cfg.unicastPeers.includes(b.cfg.unicastSrcIp)));
  if ((unicast.length > 0 && unicast.length < members.length) || peerGap) {
    add("unicast_peers_mismatch", true, "warning", `Peers of ${what} do not agree on unicast peers (or mix unicast and multicast), so adverts miss some peers`,
      lines(members, (m) => (m.cfg.unicastPeers.length ? `unicast_src_ip ${m.cfg.unicastSrcIp ?? "(default)"}, unicast_peer ${m.cfg.unicastPeers.join(" ")}` : "multicast (no unicast_peer)")));
  }
  const byPrio = new Map<number, MemberCfg[]>();
  for (const m of members) if (m.cfg.priority != null) byPrio.set(m.cfg.priority, [...(byPrio.get(m.cfg.priority) ?? []), m]);
  const ties = [...byPrio.values()].filter((ms) => new Set(ms.map((m) => m.node)).size > 1).flat();
  if (ties.length) {
    add("equal_priority", false, "info", `Several peers of ${what} have the same priority (${list([...new Set(ties.map((m) => String(m.cfg.priority)))])}), so elections are decided by IP address`,
      lines(ties, (m) => `priority ${m.cfg.priority}`));
  }
  const masterNoPreempt = members.filter((m) => m.cfg.state === "MASTER" && m.cfg.nopreempt);
  if (new Set(masterNoPreempt.map((m) => m.node)).size > 1) {
    add("master_nopreempt", false, "info", `Several peers of ${what} are configured with state MASTER and nopreempt, which keepalived only honours with state BACKUP`,
      lines(masterNoPreempt, () => "state MASTER, nopreempt"));
  }
  if (distinct(members.map((m) => m.cfg.name))) {
    add("instance_names_differ", false, "info", `Peers of ${what} use different vrrp_instance names (harmless: the name is not sent in VRRP packets)`,
      lines(members, (m) => `vrrp_instance ${m.cfg.name}, virtual_router_id ${m.cfg.vrid ?? "(none)"}`));
  }
  return out;
}

/** members of a group that have a config, with the snapshot's time and id */
export function memberConfigs(ctx: Ctx, g: Group, nodes?: Set<string>): MemberCfg[] {
  const out: MemberCfg[] = [];
  for (const r of g.members.values()) {
    if (!r.cfg || (nodes && !nodes.has(r.node))) continue;
    const n = ctx.model.nodes.get(r.node)!;
    out.push({ node: r.node, cfg: r.cfg, at: n.configTs ?? 0, ref: n.configRef });
  }
  return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.cfg.name < b.cfg.name ? -1 : 1));
}

/**
 * Instances of other groups (same address family, another VRID) that configure one of g's VIPs, for the VIPs
 * whose router g is: the VRID configured for the address by the most nodes (a tie: the lowest VRID), so one
 * VRID mismatch is one incident, on the router most peers agree on.
 */
export function vipsElsewhere(ctx: Ctx, g: Group): MemberCfg[] {
  if (g.vrid === null) return [];
  const nodesOf = (x: Group) => new Set([...x.members.values()].filter((r) => r.cfg).map((r) => r.node)).size;
  const out = new Map<string, MemberCfg>();
  for (const a of g.vips) {
    const groups = [...(ctx.model.vipGroups.get(a) ?? [])].filter((x) => x.vrid !== null && x.family === g.family);
    if (groups.length < 2) continue;
    const owner = groups.sort((x, y) => nodesOf(y) - nodesOf(x) || x.vrid! - y.vrid!)[0];
    if (owner !== g) continue;
    for (const x of groups) {
      if (x === g) continue;
      for (const m of memberConfigs(ctx, x)) if (m.cfg.vips.some((v) => vipAddress(v) === a)) out.set(`${m.node}/${m.cfg.name}`, m);
    }
  }
  return [...out.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** Re-check a group's drift after a config snapshot at `at`. */
export function evaluateDrift(ctx: Ctx, g: Group, at: number): void {
  const members = g.vrid === null ? [] : memberConfigs(ctx, g);
  const elsewhere = vipsElsewhere(ctx, g);
  const items = compareConfigs(members, subject(g), elsewhere);
  const warn = items.filter((i) => i.severity === "warning");
  const info = items.filter((i) => i.severity === "info");
  const nodes = [...new Set([...members, ...(warn.some((i) => i.code === "vrid_mismatch") ? elsewhere : [])].map((m) => m.node))].sort();
  const instances: Record<string, string> = {};
  for (const m of members) instances[m.node] = instances[m.node] ? `${instances[m.node]},${m.cfg.name}` : m.cfg.name;
  if (warn.some((i) => i.code === "vrid_mismatch")) for (const m of elsewhere) instances[m.node] ??= m.cfg.name;

  const apply = (which: "warn" | "names", found: DriftItem[]) => {
    const slot = which === "warn" ? `CONFIG_DRIFT:${g.scope}` : `CONFIG_DRIFT:${g.scope}:names`;
    const sig = found.length ? found.map((i) => `${i.code}=${i.evidence.map((e) => `${e.node}/${e.line}`).join("|")}`).join(";") : null;
    const prev = g.drift[which];
    if (sig === prev) return;
    g.drift[which] = sig;
    if (sig === null) {
      ctx.reg.close(slot, at);
      return;
    }
    const top = found[0];
    const summary = found.length > 1 ? `${top.summary} (and ${found.length - 1} more difference${found.length > 2 ? "s" : ""})` : top.summary;
    const evidence = found.flatMap((i) => i.evidence);
    const open = ctx.reg.get(slot);
    if (open) {
      ctx.reg.update(open, (inc) => {
        inc.cause = { code: top.code, summary };
        inc.evidence = [];
        appendEvidence(inc.evidence, evidence);
        inc.nodes = nodes;
        inc.instances = instances;
        return true;
      });
      return;
    }
    ctx.reg.open({
      kind: "CONFIG_DRIFT", slot, severity: which === "warn" ? "warning" : "info", scope: g.scope, vrid: g.vrid, family: g.family,
      instances, nodes, openedAt: at, cause: { code: top.code, summary }, evidence,
    });
  };
  apply("warn", warn);
  apply("names", info);
}
