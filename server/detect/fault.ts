/**
 * FAULT: an instance entered FAULT (opened at its FAULT line, no grace) until it leaves FAULT (closed at
 * the line that shows it: BACKUP, MASTER or stopped). One incident per node and virtual router.
 *
 * The cause comes from that node's lines in the FAULT_LOOKBACK_MS before the FAULT line, most specific
 * first: keepalived's own startup reason (`entering FAULT state (interface eth0 down)`), a config fault
 * (unicast without peers), the instance's interface or a tracked interface going down/deleted, a tracked
 * file/process/BFD reporting fault, a tracked script failing (one followed by a priority change is
 * weighted and cannot cause FAULT), a sync-group member going FAULT. Otherwise the cause is "unknown" and
 * the 5 lines before are attached; if a reason line follows within FAULT_LOOKAHEAD_MS the cause is
 * upgraded ("updated").
 */
import type { Cause, Evidence } from "./types";
import type { FaultReason } from "../parser/types";
import { eventsIn, logEv, subject, type Ctx } from "./context";
import type { InstRec, KState, LogEntry, NodeRec } from "./model";

export const FAULT_LOOKBACK_MS = 10_000;
export const FAULT_LOOKAHEAD_MS = 2_000;

const REASON_CODE: Record<FaultReason, string> = {
  script: "script_failed",
  interface_down: "interface_down",
  tracked_file: "tracked_file",
  tracked_process: "tracked_process",
  no_address: "no_ip_address",
  src_address: "no_source_address",
  unicast_no_peers: "unicast_no_peers",
  unknown: "unknown",
};

interface Found {
  cause: Cause;
  evidence: Evidence[];
}

function faultCause(node: NodeRec, r: InstRec, fault: LogEntry, until: number): Found {
  const cfg = r.cfg;
  const who = `${r.name} on ${node.name}`;
  const all = eventsIn(node, fault.ts - FAULT_LOOKBACK_MS, until);
  const newestFirst = [...all].reverse();
  const found = (code: string, summary: string, lines: LogEntry[]): Found => ({
    cause: { code, summary },
    evidence: [...new Map([...lines, fault].map((e) => [e.id, logEv(e)])).values()],
  });

  for (const e of newestFirst) {
    const x = e.event!;
    if (x.type === "fault_reason" && x.instance === r.name && x.reason !== "unknown") {
      return found(REASON_CODE[x.reason], `${who} entered FAULT: ${reasonText(x.reason, x.detail)}`, [e]);
    }
    if (x.type === "config_fault" && x.instance === r.name) {
      const code = /unicast/i.test(x.reason) ? "unicast_no_peers" : "config_error";
      return found(code, code === "unicast_no_peers"
        ? `${who} entered FAULT because it is configured for unicast without any unicast peers`
        : `${who} entered FAULT because of a configuration error (${x.reason})`, [e]);
    }
  }
  const ifaces = cfg ? new Set([cfg.interface, ...cfg.trackInterfaces].filter((i): i is string => !!i)) : null;
  const lastLink = new Map<string, LogEntry>();
  for (const e of all) if (e.event!.type === "link" && e.ts <= until) lastLink.set((e.event as { iface: string | null }).iface ?? "?", e);
  for (const [iface, e] of lastLink) {
    const x = e.event as { up: boolean; deleted?: boolean };
    if (x.up || (ifaces && iface !== "?" && !ifaces.has(iface))) continue;
    return found("interface_down", `${who} entered FAULT because interface ${iface === "?" ? "(unnamed)" : iface} ${x.deleted ? "was deleted" : "went down"}`, [e]);
  }
  for (const e of newestFirst) {
    const x = e.event!;
    if (x.type === "tracker" && x.fault && (x.instance === null || x.instance === r.name)) {
      return found(`tracked_${x.tracker}`, `${who} entered FAULT because tracked ${x.tracker === "bfd" ? "BFD instance" : x.tracker} ${x.name} reported a fault`, [e]);
    }
  }
  const tracked = cfg ? new Set(cfg.trackScripts) : null;
  const lastScript = new Map<string, LogEntry[]>();
  for (const e of all) {
    const x = e.event!;
    if (x.type !== "script" || (tracked && !tracked.has(x.script))) continue;
    lastScript.set(x.script, [...(lastScript.get(x.script) ?? []), e]);
  }
  for (const [script, es] of lastScript) {
    const last = es[es.length - 1].event as { result: string; code?: number };
    const failed = last.result === "failed" || last.result === "timed_out" || (last.result === "returned" && (last.code ?? 0) !== 0);
    if (!failed) continue;
    const failLine = es[es.length - 1];
    const weighted = all.some((e) => e.event!.type === "priority" && (e.event as { instance: string }).instance === r.name && e.ts >= failLine.ts - 1000 && e.ts <= failLine.ts + 1000);
    if (weighted) continue;
    return found("script_failed", `${who} entered FAULT after tracked script ${script} failed (a tracked script with weight 0 puts the instance in FAULT when it fails)`, es.slice(-3));
  }
  for (const e of newestFirst) {
    const x = e.event!;
    if (x.type === "group_sync" && x.state === "FAULT" && (!cfg || !cfg.syncGroup || cfg.syncGroup === x.group)) {
      return found("sync_group", `${who} entered FAULT because sync group ${x.group} moved its members to FAULT (another member failed)`, [e]);
    }
    if (x.type === "state" && x.state === "FAULT" && x.instance !== r.name && cfg?.syncGroup && node.cfgByName.get(x.instance)?.syncGroup === cfg.syncGroup) {
      return found("sync_group", `${who} entered FAULT because ${x.instance}, a member of its sync group ${cfg.syncGroup}, entered FAULT`, [e]);
    }
  }
  const before: LogEntry[] = [];
  for (const e of node.lines.reversed()) {
    if (e.ts < fault.ts - FAULT_LOOKBACK_MS || before.length >= 5) break;
    if (e !== fault && e.ts <= fault.ts) before.push(e);
  }
  return {
    cause: { code: "unknown", summary: `${who} entered FAULT and no reason was logged in the ${FAULT_LOOKBACK_MS / 1000} s before it (keepalived logs some reasons only with --log-detail); the lines before it are attached` },
    evidence: [...before.reverse(), fault].map(logEv),
  };
}

function reasonText(reason: FaultReason, detail?: string): string {
  switch (reason) {
    case "script": return `tracked script ${detail ?? ""} failed`.replace("  ", " ");
    case "interface_down": return `interface ${detail ?? ""} is down`.replace("  ", " ");
    case "tracked_file": return `tracked file ${detail ?? ""} reports a fault`.replace("  ", " ");
    case "tracked_process": return `tracked process ${detail ?? ""} lost its quorum`.replace("  ", " ");
    case "no_address": return `the interface has no ${detail ?? "IP"} address`;
    case "src_address": return "its source address is not configured";
    case "unicast_no_peers": return "unicast without any peers";
    default: return "reason not given";
  }
}

/** an instance keyed by its name (no config) says so */
function withSubject(c: Cause, r: InstRec): Cause {
  return r.group.vrid === null ? { ...c, summary: `${c.summary} (${subject(r.group)})` } : c;
}

/** A state change of an instance: open or close its FAULT. */
export function faultOnState(ctx: Ctx, node: NodeRec, r: InstRec, prev: KState | null, entry: LogEntry): void {
  if (r.state === "FAULT" && prev !== "FAULT") {
    const g = r.group;
    const f = faultCause(node, r, entry, entry.ts);
    r.faultSlot = `FAULT:${g.scope}:${node.name}`;
    // critical when the faulted node was MASTER or the router is left without one, else warning
    const otherMaster = [...g.members.values()].some((o) => o.node !== node.name && o.state === "MASTER" && ctx.model.nodes.get(o.node)?.online);
    const inc = ctx.reg.open({
      kind: "FAULT", slot: r.faultSlot, severity: prev === "MASTER" || !otherMaster ? "critical" : "warning", scope: g.scope, vrid: g.vrid, family: g.family,
      instances: { [node.name]: r.name }, nodes: [node.name], openedAt: entry.ts, cause: withSubject(f.cause, r), evidence: f.evidence,
    });
    if (inc.cause.code === "unknown") node.pendingFaults.push({ rec: r, entry, until: entry.ts + FAULT_LOOKAHEAD_MS });
    return;
  }
  if (prev === "FAULT" && r.state !== "FAULT" && r.faultSlot !== null) {
    ctx.reg.close(r.faultSlot, entry.ts, [logEv(entry)]);
    r.faultSlot = null;
    node.pendingFaults = node.pendingFaults.filter((p) => p.rec !== r);
  }
}

/** A later line may name the reason of a FAULT whose cause was unknown. */
export function faultOnLog(ctx: Ctx, node: NodeRec, entry: LogEntry): void {
  if (node.pendingFaults.length === 0) return;
  const keep: typeof node.pendingFaults = [];
  for (const p of node.pendingFaults) {
    if (entry.ts > p.until || p.rec.faultSlot === null) continue;
    const inc = ctx.reg.get(p.rec.faultSlot);
    if (!inc) continue;
    const f = faultCause(node, p.rec, p.entry, entry.ts);
    if (f.cause.code === "unknown") {
      keep.push(p);
      continue;
    }
    ctx.reg.update(inc, (i) => {
      i.cause = withSubject(f.cause, p.rec);
      i.evidence = i.evidence.filter((e) => e.ref === p.entry.id);
      for (const e of f.evidence) if (!i.evidence.some((x) => x.ref === e.ref)) i.evidence.push(e);
      i.evidence.sort((a, b) => a.at - b.at);
      return true;
    });
  }
  node.pendingFaults = keep;
}
