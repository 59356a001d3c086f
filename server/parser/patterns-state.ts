/**
 * Patterns for state lines, FAULT reasons, sync groups, links, scripts, priority, trackers,
 * VIPs and daemon lifecycle (KEEPALIVED.md sections 1 and 2). Format strings are quoted from
 * acassen/keepalived at the tags named in `versions`.
 */
import type { FaultReason, KeepalivedEvent, VrrpState } from "./types";
import { INST, int, opt, pattern, type KeepalivedPattern } from "./pattern-kit";

const R = String.raw;

function faultReason(instance: string, reason: FaultReason, detail?: string): KeepalivedEvent {
  return { type: "fault_reason", instance, reason, ...opt("detail", detail) };
}

export const STATE_PATTERNS: KeepalivedPattern[] = [
  // ---- state lines -------------------------------------------------------------------------
  // "(%s) Entering %s STATE", "VRRP_Instance(%s): Entering BACKUP STATE", "(%s) Entering FAULT STATE (init)"
  pattern("state_entering", "all; ' (init)' 2.0.0+", " STATE",
    INST + R`Entering (MASTER|BACKUP|FAULT) STATE( \(init\))?$`,
    (m) => ({ type: "state", instance: m[1], state: m[2] as VrrpState, ...opt("init", m[3] ? true : undefined) })),
  // "VRRP_Instance(%s) Transition to MASTER STATE" (colon form when leaving FAULT)
  pattern("state_transition_master_1x", "1.x", "Transition to MASTER STATE",
    INST + R`Transition to MASTER STATE$`,
    (m) => ({ type: "state", instance: m[1], state: "MASTER" })),
  // "VRRP_Instance(%s) Now in FAULT state" / "... Now in BACKUP state"
  pattern("state_now_in_1x", "1.x", "Now in ",
    INST + R`Now in (FAULT|BACKUP) state$`,
    (m) => ({ type: "state", instance: m[1], state: m[2] as VrrpState })),

  // ---- startup FAULT reasons (2.x, vrrp_track.c initialise_*; vrrp.c) ------------------------
  pattern("fault_reason_script", "2.0.19+", "entering FAULT state due to script ",
    INST + R`entering FAULT state due to script (.+)$`,
    (m) => faultReason(m[1], "script", m[2])),
  pattern("fault_reason_interface_down", "2.0.19+", "entering FAULT state (interface ",
    INST + R`entering FAULT state \(interface (.+) down\)$`,
    (m) => faultReason(m[1], "interface_down", m[2])),
  pattern("fault_reason_tracked_file", "2.0.19+", "entering FAULT state (tracked file ",
    INST + R`entering FAULT state \(tracked file (.+) has status (-?\d{1,10})\)$`,
    (m) => faultReason(m[1], "tracked_file", m[2])),
  pattern("fault_reason_tracked_process", "2.0.19+", "entering FAULT state (tracked process ",
    INST + R`entering FAULT state \(tracked process (.+) quorum not achieved\)$`,
    (m) => faultReason(m[1], "tracked_process", m[2])),
  pattern("fault_reason_no_address", "2.0.20+", "entering FAULT state (no IPv",
    INST + R`entering FAULT state \(no IPv([46]) address for interface\)$`,
    (m) => faultReason(m[1], "no_address", `IPv${m[2]}`)),
  pattern("fault_reason_src_address", "2.1.0+", "entering FAULT state (src address not configured)",
    INST + R`entering FAULT state \(src address not configured\)$`,
    (m) => faultReason(m[1], "src_address")),
  pattern("fault_reason_unknown", "2.x", "entering FAULT state",
    INST + R`entering FAULT state$`,
    (m) => faultReason(m[1], "unknown")),

  // ---- sync groups ---------------------------------------------------------------------------
  // "VRRP_Group(%s) Syncing instances to %s state"; 2.x startup "VRRP_Group(%s): Syncing %s to FAULT state"
  pattern("group_sync", "all", "Syncing ",
    R`^VRRP_Group\(([^)]+)\):? Syncing (.+) to (MASTER|BACKUP|FAULT) state$`,
    (m) => ({ type: "group_sync", group: m[1], ...opt("instance", m[2] === "instances" ? undefined : m[2]), state: m[3] as VrrpState })),
  // "VRRP_Group(%s) Transition to MASTER state"
  pattern("group_transition_master_1x", "1.x", "Transition to MASTER state",
    R`^VRRP_Group\(([^)]+)\) Transition to MASTER state$`,
    (m) => ({ type: "group_sync", group: m[1], state: "MASTER" })),

  // ---- links ---------------------------------------------------------------------------------
  // "Netlink reports %s %s" (up/down)
  pattern("link_netlink", "2.x", "Netlink reports ",
    R`^Netlink reports (\S+) (up|down)$`,
    (m) => ({ type: "link", iface: m[1], up: m[2] === "up" })),
  // "Linkbeat reports %s %s" (vrrp_if.c, with linkbeat_use_polling; not in KEEPALIVED.md)
  pattern("link_linkbeat", "2.x (linkbeat_use_polling)", "Linkbeat reports ",
    R`^Linkbeat reports (\S+) (up|down)$`,
    (m) => ({ type: "link", iface: m[1], up: m[2] === "up" })),
  // "Interface %s deleted"
  pattern("link_deleted", "2.x", "Interface ",
    R`^Interface (\S+) deleted$`,
    (m) => ({ type: "link", iface: m[1], up: false, deleted: true })),
  // "Kernel is reporting: interface %s DOWN" / "... UP"
  pattern("link_kernel_1x", "1.x", "Kernel is reporting: interface ",
    R`^Kernel is reporting: interface (\S+) (DOWN|UP)$`,
    (m) => ({ type: "link", iface: m[1], up: m[2] === "UP" })),
  // "Kernel is reporting: tracked interface are UP"
  pattern("link_kernel_tracked_up_1x", "1.x", "Kernel is reporting: tracked interface are UP",
    R`^Kernel is reporting: tracked interface are UP$`,
    () => ({ type: "link", iface: null, up: true })),

  // ---- scripts -------------------------------------------------------------------------------
  // 1.3.9 "VRRP_Script(%s) succeeded|failed|timed out"; 1.4+ "VRRP_Script(%s) %s" with timed_out
  pattern("script_result", "all (1.3.9 'timed out', 1.4.0+ 'timed_out')", "VRRP_Script(",
    R`^VRRP_Script\(([^)]+)\) (succeeded|failed|timed_out|timed out)$`,
    (m) => ({ type: "script", script: m[1], result: m[2] === "timed out" ? "timed_out" : (m[2] as "succeeded" | "failed" | "timed_out") })),
  // 1.4+ "VRRP_Script(%s) %s (%s %d)", reason "exited with status" or "due to signal"
  pattern("script_result_reason", "1.4.0+", "VRRP_Script(",
    R`^VRRP_Script\(([^)]+)\) (succeeded|failed|timed_out) \((exited with status|due to signal) (-?\d{1,10})\)$`,
    (m) => ({
      type: "script", script: m[1], result: m[2] as "succeeded" | "failed" | "timed_out",
      ...opt("code", m[3] === "exited with status" ? int(m[4]) : undefined), detail: `${m[3]} ${m[4]}`,
    })),
  // "Script `%s` now returning %d"
  pattern("script_returning", "2.0.0+", "` now returning ",
    R`^Script \x60([^\x60]+)\x60 now returning (-?\d{1,10})$`,
    (m) => ({ type: "script", script: m[1], result: "returned", code: int(m[2]) })),

  // ---- priority ------------------------------------------------------------------------------
  // "(%s) Changing effective priority from %d to %d"
  pattern("priority_change", "all", "Changing effective priority from ",
    INST + R`Changing effective priority from (-?\d{1,10}) to (-?\d{1,10})$`,
    (m) => ({ type: "priority", instance: m[1], from: int(m[2]), to: int(m[3]) })),

  // ---- trackers ------------------------------------------------------------------------------
  // "(%s): tracked file %s now FAULT state" / "... leaving FAULT state" (-D only)
  pattern("tracker_file", "2.0.19+ (-D)", "tracked file ",
    INST + R`tracked file (.+) (now|leaving) FAULT state$`,
    (m) => ({ type: "tracker", instance: m[1], tracker: "file", name: m[2], fault: m[3] === "now" })),
  // "Quorum %s for tracked process %s" (gained/lost)
  pattern("tracker_process_quorum", "2.0.11+", " for tracked process ",
    R`^Quorum (gained|lost) for tracked process (.+)$`,
    (m) => ({ type: "tracker", instance: null, tracker: "process", name: m[2], fault: m[1] === "lost" })),
  // "VRRP_Instance(%s) Tracked BFD instance %s is %s" (UP/DOWN)
  pattern("tracker_bfd", "2.x", "Tracked BFD instance ",
    INST + R`Tracked BFD instance (.+) is (UP|DOWN)$`,
    (m) => ({ type: "tracker", instance: m[1], tracker: "bfd", name: m[2], fault: m[3] === "DOWN" })),

  // ---- configuration fault -------------------------------------------------------------------
  pattern("config_unicast_no_peers", "2.2.5+", "Cannot use unicast without any peers",
    INST + R`Cannot use unicast without any peers - going to fault state$`,
    (m) => ({ type: "config_fault", instance: m[1], reason: "unicast_no_peers" })),

  // ---- VIPs (-D only) ------------------------------------------------------------------------
  // 2.x "(%s) %sing %sVIPs." -> "setting VIPs." / "removing VIPs."; 1.x "... setting protocol VIPs."
  // (E-VIPs lines are deliberately not matched: they accompany the VIPs line.)
  pattern("vips_set_remove", "all (-D)", "VIPs.",
    INST + R`(setting|removing) (?:protocol )?VIPs\.$`,
    (m) => ({ type: "vips", instance: m[1], action: m[2] === "setting" ? "set" : "remove" })),

  // ---- priority 0 on leaving MASTER ------------------------------------------------------------
  pattern("sent_priority_zero", "1.x, 2.0.0-2.2.2; -D only from 2.2.3", "sent 0 priority",
    INST + R`sent 0 priority$`,
    (m) => ({ type: "sent_priority_zero", instance: m[1] })),

  // ---- daemon lifecycle (core/main.c, core/config_notify.c) ----------------------------------
  // "Starting %s" / "Starting %s, git commit %s" where %s = "Keepalived v2.2.7 (01/16,2022)"
  pattern("daemon_starting", "all", "Starting Keepalived v",
    R`^Starting Keepalived v(\S+)`,
    (m) => ({ type: "daemon", what: "starting", version: m[1] })),
  // "%s complete" with "Startup"
  pattern("daemon_started", "2.x", "Startup complete",
    R`^Startup complete$`,
    () => ({ type: "daemon", what: "started" })),
  pattern("daemon_stopping", "all", "Stopping",
    R`^Stopping$`,
    () => ({ type: "daemon", what: "stopping" })),
  // parent's "Stopped %s"; the children's bare "Stopped" / "Stopped - used ..." are not matched
  pattern("daemon_stopped", "all", "Stopped Keepalived v",
    R`^Stopped Keepalived v(\S+)`,
    (m) => ({ type: "daemon", what: "stopped", version: m[1] })),
];
