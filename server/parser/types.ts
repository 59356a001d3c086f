/**
 * Typed events the keepalived log parser produces from raw lines.
 * Pure data: the parser, the state builder and the detectors share these.
 */

export type VrrpState = "MASTER" | "BACKUP" | "FAULT";

export type KeepalivedEvent =
  /** `(VI_1) Entering MASTER STATE`, 1.x `Transition to MASTER STATE`, `Now in FAULT state`, ... */
  | { type: "state"; instance: string; state: VrrpState; init?: boolean }
  /** 2.x startup `(VI_1) entering FAULT state (interface eth0 down)` and similar */
  | { type: "fault_reason"; instance: string; reason: FaultReason; detail?: string }
  /** `VRRP_Group(G) Syncing instances to MASTER state` */
  | { type: "group_sync"; group: string; instance?: string; state: VrrpState }
  /** `Netlink reports eth0 down`, 1.x `Kernel is reporting: interface eth0 DOWN`, `Interface eth0 deleted` */
  | { type: "link"; iface: string | null; up: boolean; deleted?: boolean }
  /** `VRRP_Script(chk) succeeded|failed|timed out`, ``Script `chk` now returning 1`` */
  | { type: "script"; script: string; result: "succeeded" | "failed" | "timed_out" | "returned"; code?: number; detail?: string }
  /** `(VI_1) Changing effective priority from 150 to 90` */
  | { type: "priority"; instance: string; from: number; to: number }
  /** advert seen by a MASTER or a BACKUP: election traffic (proves adverts arrive) */
  | {
      type: "advert";
      instance: string;
      role: "master_higher" | "master_lower" | "backup_lower_discarded" | "backup_preempt" | "priority_zero" | "equal_priority_own_ip";
      from?: string;
      priority?: number;
      ours?: number;
    }
  /** `(VI_1) Receive advertisement timeout` (2.0.3+, -D) */
  | { type: "advert_timeout"; instance: string }
  /** packet checks failed: the peer's adverts are being rejected */
  | { type: "packet_error"; instance: string | null; error: PacketError; detail?: string; from?: string }
  /** `Tracked file`, `Quorum lost for tracked process`, `Tracked BFD instance` */
  | { type: "tracker"; instance: string | null; tracker: "file" | "process" | "bfd"; name: string; fault: boolean }
  /** `Cannot use unicast without any peers - going to fault state` */
  | { type: "config_fault"; instance: string; reason: string }
  /** VIPs set/removed by keepalived */
  | { type: "vips"; instance: string; action: "set" | "remove" }
  /** `Starting Keepalived v2.2.7 (01/16,2022)`, `Stopping`, `Stopped Keepalived v2.2.7` */
  | { type: "daemon"; what: "starting" | "started" | "stopping" | "stopped"; version?: string }
  /** `(VI_1) sent 0 priority` */
  | { type: "sent_priority_zero"; instance: string };

export type FaultReason =
  | "script"
  | "interface_down"
  | "tracked_file"
  | "tracked_process"
  | "no_address"
  | "src_address"
  | "unicast_no_peers"
  | "unknown";

export type PacketError =
  | "auth_password"
  | "auth_type"
  | "advert_interval"
  | "vip_count"
  | "vip_address"
  | "ttl"
  | "version"
  | "vrid"
  | "unicast_peer"
  | "address_owner"
  | "generic";

/** One raw line split into its parts. */
export interface ParsedLine {
  /** time from the line's own prefix (console `-l` output or syslog file), epoch ms; null if none */
  ts: number | null;
  /** syslog identifier from a syslog-format prefix, e.g. Keepalived_vrrp */
  ident: string | null;
  pid: number | null;
  /** the message without any prefix */
  message: string;
  /** null when the line is not one keepalived's semantics care about */
  event: KeepalivedEvent | null;
}
