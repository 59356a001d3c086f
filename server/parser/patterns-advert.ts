/**
 * Patterns for advert / election lines and packet-check errors (KEEPALIVED.md section 3).
 * 1.x prefixes state-ish lines with `VRRP_Instance(%s)` and checks with `(%s):`; 2.x uses `(%s)`.
 */
import type { PacketError } from "./types";
import { INST, OPT_INST, int, opt, pattern, type KeepalivedPattern } from "./pattern-kit";

const R = String.raw;

function pktError(instance: string | undefined, error: PacketError, detail?: string, from?: string) {
  return { type: "packet_error" as const, instance: instance ?? null, error, ...opt("detail", detail), ...opt("from", from) };
}

export const ADVERT_PATTERNS: KeepalivedPattern[] = [
  // ---- MASTER receives a higher-priority advert ---------------------------------------------
  // 2.x "(%s) Master received advert from %s with higher priority %d, ours %d"
  pattern("advert_master_higher", "2.x", "Master received advert from ",
    INST + R`Master received advert from (\S+) with higher priority (\d{1,10}), ours (\d{1,10})$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_higher", from: m[2], priority: int(m[3]), ours: int(m[4]) })),
  // 2.x "(%s) Master received advert from %s with same priority %d but higher IP address than ours"
  pattern("advert_master_same_priority_higher_ip", "2.x", "Master received advert from ",
    INST + R`Master received advert from (\S+) with same priority (\d{1,10}) but higher IP address than ours$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_higher", from: m[2], priority: int(m[3]), ours: int(m[3]) })),
  // 1.4.1+ "VRRP_Instance(%s) Master received advert with higher priority %d, ours %d"
  pattern("advert_master_higher_1x", "1.4.1-1.x", "Master received advert with higher priority ",
    INST + R`Master received advert with higher priority (\d{1,10}), ours (\d{1,10})$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_higher", priority: int(m[2]), ours: int(m[3]) })),
  // 1.4.1+ "... Master received advert with same priority %d but higher IP address than ours (%s)",
  // %s being the sender's address
  pattern("advert_master_same_priority_higher_ip_1x", "1.4.1-1.x", "Master received advert with same priority ",
    INST + R`Master received advert with same priority (\d{1,10}) but higher IP address than ours \((\S+)\)$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_higher", from: m[3], priority: int(m[2]), ours: int(m[2]) })),
  // <=1.4.0 "VRRP_Instance(%s) Received advert with higher priority %d, ours %d"
  pattern("advert_master_higher_old_1x", "<=1.4.0", "Received advert with higher priority ",
    INST + R`Received advert with higher priority (\d{1,10}), ours (\d{1,10})$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_higher", priority: int(m[2]), ours: int(m[3]) })),

  // ---- MASTER receives a lower-priority advert ----------------------------------------------
  // 2.x "(%s) Received advert from %s with lower priority %d, ours %d%s" (", forcing new election" or "")
  pattern("advert_master_lower", "2.x", "Received advert from ",
    INST + R`Received advert from (\S+) with lower priority (\d{1,10}), ours (\d{1,10})(?:, forcing new election)?$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_lower", from: m[2], priority: int(m[3]), ours: int(m[4]) })),
  // 1.x "VRRP_Instance(%s) Received advert with lower priority %d, ours %d, forcing new election"
  pattern("advert_master_lower_1x", "1.x", "Received advert with lower priority ",
    INST + R`Received advert with lower priority (\d{1,10}), ours (\d{1,10}), forcing new election$`,
    (m) => ({ type: "advert", instance: m[1], role: "master_lower", priority: int(m[2]), ours: int(m[3]) })),

  // ---- BACKUP receives a lower-priority advert (it will take over) --------------------------
  // 2.x "(%s) received lower priority (%d) advert from %s - discarding"
  pattern("advert_backup_lower_discarded", "2.x", "received lower priority (",
    INST + R`received lower priority \((\d{1,10})\) advert from (\S+) - discarding$`,
    (m) => ({ type: "advert", instance: m[1], role: "backup_lower_discarded", from: m[3], priority: int(m[2]) })),
  // 1.x "VRRP_Instance(%s) forcing a new MASTER election"
  pattern("advert_backup_preempt_1x", "1.x", "forcing a new MASTER election",
    INST + R`forcing a new MASTER election$`,
    (m) => ({ type: "advert", instance: m[1], role: "backup_preempt" })),

  // ---- priority 0 (the master is leaving) ----------------------------------------------------
  pattern("advert_backup_priority_zero", "2.x (-D only from 2.2.3)", "Backup received priority 0 advertisement",
    INST + R`Backup received priority 0 advertisement$`,
    (m) => ({ type: "advert", instance: m[1], role: "priority_zero", priority: 0 })),
  pattern("advert_master_priority_zero", "2.x (-D only from 2.2.3)", "Master received priority 0 message",
    INST + R`Master received priority 0 message$`,
    (m) => ({ type: "advert", instance: m[1], role: "priority_zero", priority: 0 })),

  // ---- own address seen from a remote host ---------------------------------------------------
  pattern("advert_equal_priority_own_ip", "all", "WARNING - equal priority advert received",
    INST + R`WARNING - equal priority advert received from remote host with our IP address\.$`,
    (m) => ({ type: "advert", instance: m[1], role: "equal_priority_own_ip" })),

  // ---- missing adverts -----------------------------------------------------------------------
  pattern("advert_timeout", "2.0.3+ (-D)", "Receive advertisement timeout",
    INST + R`Receive advertisement timeout$`,
    (m) => ({ type: "advert_timeout", instance: m[1] })),
];

export const PACKET_PATTERNS: KeepalivedPattern[] = [
  // ---- authentication ------------------------------------------------------------------------
  // "received an invalid passwd!"; 2.3.3+ "received an invalid passwd from %s!"
  pattern("packet_auth_password", "all", "received an invalid passwd",
    OPT_INST + R`received an invalid passwd(?: from ([^\s!]+))?!$`,
    (m) => pktError(m[1], "auth_password", undefined, m[2])),
  // "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
  pattern("packet_auth_ah_hmac", "all (AH auth)", "IPSEC-AH : invalid IPSEC HMAC-MD5 value",
    OPT_INST + R`IPSEC-AH : invalid IPSEC HMAC-MD5 value\. Due to fields mutation or bad password !$`,
    (m) => pktError(m[1], "auth_password", "invalid IPSEC-AH HMAC-MD5 value")),
  // "received a %d auth, expecting %d!"; 2.3.3+ "received a %d auth from %s, expecting %d!"
  pattern("packet_auth_type_mismatch", "all", " auth",
    OPT_INST + R`received a (\d{1,10}) auth(?: from ([^\s,]+))?, expecting (\d{1,10})!$`,
    (m) => pktError(m[1], "auth_type", `received auth type ${m[2]}, expecting ${m[4]}`, m[3])),
  // "Invalid auth type: %d"; 2.3.3+ "Invalid auth type from %s: %d"
  pattern("packet_auth_type_invalid", "all", "Invalid auth type",
    OPT_INST + R`Invalid auth type(?: from (\S+))?: (\d{1,10})$`,
    (m) => pktError(m[1], "auth_type", `invalid auth type ${m[3]}`, m[2])),
  // 2.0.12+ "Received AH header but auth type not AH" / "No AH header but auth type is AH" (2.3.3+ "... from %s")
  pattern("packet_auth_ah_header", "2.0.12+", "AH header but auth type ",
    OPT_INST + R`(Received AH header but auth type not AH|No AH header but auth type is AH)(?: from (\S+))?$`,
    (m) => pktError(m[1], "auth_type", m[2], m[3])),

  // ---- advert interval -----------------------------------------------------------------------
  // "advertisement interval mismatch mine=%d sec rcved=%d sec"; 2.0.17+ "rcv'd"; 2.3.3+ "mismatch with %s mine=..."
  pattern("packet_advert_interval", "all (VRRPv2)", "advertisement interval mismatch ",
    OPT_INST + R`advertisement interval mismatch(?: with (\S+))? mine=(\d{1,10}) sec rcv(?:ed|'d)=(-?\d{1,10}) sec$`,
    (m) => pktError(m[1], "advert_interval", `mine=${m[3]}s received=${m[4]}s`, m[2])),
  // 2.3.3+ "advertisement interval mismatch ours = %u centi-sec rcv'd=%d centi-sec"
  pattern("packet_advert_interval_v3", "2.3.3+ (VRRPv3)", "advertisement interval mismatch ours = ",
    OPT_INST + R`advertisement interval mismatch ours = (\d{1,10}) centi-sec rcv'd=(-?\d{1,10}) centi-sec$`,
    (m) => pktError(m[1], "advert_interval", `mine=${m[2]}cs received=${m[3]}cs`)),

  // ---- VIP count / addresses -----------------------------------------------------------------
  // <=2.0.11 "received an invalid ip number count %d, expected %d!"; 2.0.12-2.3.2 "... unexpected ..."
  pattern("packet_vip_count", "<=2.3.2", " ip number count ",
    OPT_INST + R`received an (?:invalid|unexpected) ip number count (\d{1,10}), expected (\d{1,10})!$`,
    (m) => pktError(m[1], "vip_count", `received ${m[2]}, expected ${m[3]}`)),
  // 2.0.19+ "expected %u VIPs but received %u"
  pattern("packet_vip_count_vips", "2.0.19+", " VIPs but received ",
    OPT_INST + R`expected (\d{1,10}) VIPs but received (\d{1,10})$`,
    (m) => pktError(m[1], "vip_count", `received ${m[3]}, expected ${m[2]}`)),
  // 1.x-2.0 unicast path "receive an invalid ip number count associated with VRID!" (not in KEEPALIVED.md)
  pattern("packet_vip_count_unicast", "1.x-2.0.x", "receive an invalid ip number count associated with VRID!",
    OPT_INST + R`receive an invalid ip number count associated with VRID!$`,
    (m) => pktError(m[1], "vip_count")),
  // "ip address associated with VRID %d not present in MASTER advert : %s"; 2.2.5+ "advert: %s";
  // 2.3.3+ "not present in advert from %s: %s"
  pattern("packet_vip_address", "all", "ip address associated with VRID ",
    OPT_INST + R`ip address associated with VRID (\d{1,10}) not present in (?:MASTER advert ?|advert from (\S+)): (.+)$`,
    (m) => pktError(m[1], "vip_address", m[4], m[3])),

  // ---- TTL / version / VRID ------------------------------------------------------------------
  // "invalid ttl. %d and expect %d"; 2.0.12+ "invalid TTL/HL. Received %d and expect %d"; 2.3.3+ "... from %s. ..."
  pattern("packet_ttl", "all", "invalid ",
    OPT_INST + R`invalid (?:ttl|TTL/HL)(?: from (\S+))?\. (?:Received )?(\d{1,10}) and expect (\d{1,10})$`,
    (m) => pktError(m[1], "ttl", `received ${m[3]}, expected ${m[4]}`, m[2])),
  // 2.1.0+ unicast "TTL/HL %d not in range %d - %d"; 2.3.3+ "TTL/HL %d from %s not in range [%d, %d]"
  pattern("packet_ttl_range", "2.1.0+", " not in range ",
    OPT_INST + R`TTL/HL (\d{1,10})(?: from (\S+))? not in range (.+)$`,
    (m) => pktError(m[1], "ttl", `received ${m[2]}, allowed ${m[4]}`, m[3])),
  // "invalid version. %d and expect %d"; 2.0.12+ "wrong version. Received ..."; 2.3.3+ "wrong VRRP version from %s. ..."
  pattern("packet_version", "all", " version",
    OPT_INST + R`(?:invalid version|wrong version|wrong VRRP version from (\S+))\. (?:Received )?(\d{1,10}) and expect (\d{1,10})$`,
    (m) => pktError(m[1], "version", `received ${m[3]}, expected ${m[4]}`, m[2])),
  // <=2.0.13 "received VRID mismatch. Received %d, Expected %d"
  pattern("packet_vrid_mismatch", "<=2.0.13", "received VRID mismatch",
    OPT_INST + R`received VRID mismatch\. Received (\d{1,10}), Expected (\d{1,10})$`,
    (m) => pktError(m[1], "vrid", `received ${m[2]}, expected ${m[3]}`)),
  // 2.0.14+ "Unknown VRID(%d) received on interface(%s). ignoring..."; 2.2+ "... interface(%s) from %s. ignoring..."
  pattern("packet_vrid_unknown", "2.0.14+ (log_unknown_vrids from 2.0.16)", "Unknown VRID(",
    OPT_INST + R`Unknown VRID\((\d{1,10})\) received on interface\(([^)]+)\)(?: from (\S+))?\. ignoring\.\.\.$`,
    (m) => pktError(m[1], "vrid", `unknown VRID ${m[2]} on ${m[3]}`, m[4])),

  // ---- unicast -------------------------------------------------------------------------------
  pattern("packet_unicast_peer", "all", " not a unicast peer",
    OPT_INST + R`unicast source address (\S+) not a unicast peer$`,
    (m) => pktError(m[1], "unicast_peer", "source is not a unicast peer", m[2])),
  // 2.0.12+ "Expected %sicast packet but received %sicast packet" (2.3.3+ "... from %s")
  pattern("packet_unicast_multicast", "2.0.12+", "icast packet but received ",
    OPT_INST + R`Expected (\w{1,10}icast) packet but received (\w{1,10}icast) packet(?: from (\S+))?$`,
    (m) => pktError(m[1], "unicast_peer", `expected ${m[2]}, received ${m[3]}`, m[4])),

  // ---- address owners ------------------------------------------------------------------------
  // "CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner,
  //  please fix - reducing local priority"; 2.3.3+ "... local instance and %s are both ..., please resolve"
  pattern("packet_address_owner", "all", "are both configured as address owner",
    OPT_INST + R`CONFIGURATION ERROR: local instance and (?:a remote instance|(\S+)) are both configured as address owner, please (?:fix - reducing local priority|resolve)$`,
    (m) => pktError(m[1], "address_owner", "both configured as address owner", m[2])),
  // 2.3.3+ "%s is still advertising as address owner, please resolve - reducing our priority"
  pattern("packet_address_owner_still", "2.3.3+", " is still advertising as address owner",
    OPT_INST + R`(\S+) is still advertising as address owner, please resolve - reducing our priority$`,
    (m) => pktError(m[1], "address_owner", "remote still advertising as address owner", m[2])),
  // 2.3.3+ "Dropping packet(s) from %s since we are address owner"
  pattern("packet_address_owner_dropping", "2.3.3+", " since we are address owner",
    OPT_INST + R`Dropping packet\(s\) from (\S+) since we are address owner$`,
    (m) => pktError(m[1], "address_owner", "dropping packets since we are address owner", m[2])),

  // ---- 1.x generic rejections ----------------------------------------------------------------
  // "VRRP_Instance(%s) ignoring received advertisment..." (sic)
  pattern("packet_generic_ignoring_1x", "1.x", "ignoring received advertisment",
    INST + R`ignoring received advertisment\.\.\.$`,
    (m) => pktError(m[1], "generic", "ignoring received advertisement")),
  pattern("packet_generic_dropping_1x", "1.x", "Dropping received VRRP packet",
    INST + R`Dropping received VRRP packet\.\.\.$`,
    (m) => pktError(m[1], "generic", "dropping received VRRP packet")),
  pattern("packet_generic_bogus_1x", "1.x", "bogus VRRP packet received on ",
    R`^bogus VRRP packet received on (\S+) !!!$`,
    (m) => pktError(undefined, "generic", `bogus VRRP packet received on ${m[1]}`)),
  pattern("packet_generic_sync_needed_1x", "1.x", "Sync instance needed on ",
    R`^Sync instance needed on (\S+) !!!$`,
    (m) => pktError(undefined, "generic", `sync instance needed on ${m[1]}`)),
];
