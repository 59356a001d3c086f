import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PATTERNS, classify, parseLine, parseMessage } from "../../server/parser/index";
import { type Case, fromSource, realConsole, realJournal } from "./parser-cases";

const V1 = "1.x";
const I = "VI_1";

/* Every PATTERNS id has at least one line here. Real captured lines first, source formats otherwise. */
const CASES: Case[] = [
  // ---- state lines
  realConsole("state_entering", "node1", "Entering BACKUP STATE (init)", { type: "state", instance: I, state: "BACKUP", init: true }),
  realConsole("state_entering", "node1", "Entering MASTER STATE", { type: "state", instance: I, state: "MASTER" }),
  realConsole("state_entering", "node1", "Entering FAULT STATE", { type: "state", instance: I, state: "FAULT" }),
  realJournal("state_entering", "hx2", "(VI_DB) Entering BACKUP STATE (init)", { type: "state", instance: "VI_DB", state: "BACKUP", init: true }),
  fromSource("state_entering", V1, "VRRP_Instance(%s) Entering BACKUP STATE", [I], { type: "state", instance: I, state: "BACKUP" }),
  fromSource("state_entering", V1, "VRRP_Instance(%s): Entering BACKUP STATE", [I], { type: "state", instance: I, state: "BACKUP" }),
  fromSource("state_entering", V1, "VRRP_Instance(%s) Entering FAULT STATE", ["web vip #2 [eu]"], { type: "state", instance: "web vip #2 [eu]", state: "FAULT" }),
  fromSource("state_entering", "2.0.0+", "(%s) Entering FAULT STATE (init)", [I], { type: "state", instance: I, state: "FAULT", init: true }),
  fromSource("state_transition_master_1x", V1, "VRRP_Instance(%s) Transition to MASTER STATE", [I], { type: "state", instance: I, state: "MASTER" }),
  fromSource("state_transition_master_1x", V1, "VRRP_Instance(%s): Transition to MASTER STATE", [I], { type: "state", instance: I, state: "MASTER" }),
  fromSource("state_now_in_1x", V1, "VRRP_Instance(%s) Now in FAULT state", [I], { type: "state", instance: I, state: "FAULT" }),
  fromSource("state_now_in_1x", V1, "VRRP_Instance(%s) Now in BACKUP state", [I], { type: "state", instance: I, state: "BACKUP" }),
  // ---- startup FAULT reasons
  fromSource("fault_reason_script", "2.0.19+", "(%s): entering FAULT state due to script %s", [I, "chk_app"], { type: "fault_reason", instance: I, reason: "script", detail: "chk_app" }),
  fromSource("fault_reason_interface_down", "2.0.19+", "(%s): entering FAULT state (interface %s down)", [I, "eth1"], { type: "fault_reason", instance: I, reason: "interface_down", detail: "eth1" }),
  fromSource("fault_reason_tracked_file", "2.0.19+", "(%s): entering FAULT state (tracked file %s has status %i)", [I, "/run/ka/ok", -254], { type: "fault_reason", instance: I, reason: "tracked_file", detail: "/run/ka/ok" }),
  fromSource("fault_reason_tracked_process", "2.0.19+", "(%s) entering FAULT state (tracked process %s quorum not achieved)", [I, "nginx"], { type: "fault_reason", instance: I, reason: "tracked_process", detail: "nginx" }),
  fromSource("fault_reason_no_address", "2.0.20+", "(%s) entering FAULT state (no IPv%d address for interface)", [I, 6], { type: "fault_reason", instance: I, reason: "no_address", detail: "IPv6" }),
  fromSource("fault_reason_src_address", "2.1.0+", "(%s): entering FAULT state (src address not configured)", [I], { type: "fault_reason", instance: I, reason: "src_address" }),
  fromSource("fault_reason_unknown", "2.x", "(%s) entering FAULT state", [I], { type: "fault_reason", instance: I, reason: "unknown" }),
  // ---- sync groups
  fromSource("group_sync", "all", "VRRP_Group(%s) Syncing instances to %s state", ["G1", "MASTER"], { type: "group_sync", group: "G1", state: "MASTER" }),
  fromSource("group_sync", "2.x", "VRRP_Group(%s): Syncing %s to FAULT state", ["G1", I], { type: "group_sync", group: "G1", instance: I, state: "FAULT" }),
  fromSource("group_transition_master_1x", V1, "VRRP_Group(%s) Transition to MASTER state", ["G1"], { type: "group_sync", group: "G1", state: "MASTER" }),
  // ---- links
  realConsole("link_netlink", "node1", "Netlink reports eth0 down", { type: "link", iface: "eth0", up: false }),
  realConsole("link_netlink", "node2", "Netlink reports eth0 up", { type: "link", iface: "eth0", up: true }),
  fromSource("link_linkbeat", "2.x (not in KEEPALIVED.md)", "Linkbeat reports %s %s", ["eth1", "down"], { type: "link", iface: "eth1", up: false }),
  fromSource("link_deleted", "2.x", "Interface %s deleted", ["vrrp.51"], { type: "link", iface: "vrrp.51", up: false, deleted: true }),
  fromSource("link_kernel_1x", V1, "Kernel is reporting: interface %s DOWN", ["eth0"], { type: "link", iface: "eth0", up: false }),
  fromSource("link_kernel_1x", V1, "Kernel is reporting: interface %s UP", ["eth0"], { type: "link", iface: "eth0", up: true }),
  fromSource("link_kernel_tracked_up_1x", V1, "Kernel is reporting: tracked interface are UP", [], { type: "link", iface: null, up: true }),
  // ---- scripts
  realConsole("script_result", "node1", "VRRP_Script(chk_app) succeeded", { type: "script", script: "chk_app", result: "succeeded" }),
  fromSource("script_result", "1.3.9", "VRRP_Script(%s) timed out", ["chk_app"], { type: "script", script: "chk_app", result: "timed_out" }),
  fromSource("script_result", "1.3.9", "VRRP_Script(%s) failed", ["chk_app"], { type: "script", script: "chk_app", result: "failed" }),
  fromSource("script_result", "1.4.0+", "VRRP_Script(%s) %s", ["chk_app", "timed_out"], { type: "script", script: "chk_app", result: "timed_out" }),
  realJournal("script_result_reason", "hx1", "VRRP_Script(chk_web) failed (exited", { type: "script", script: "chk_web", result: "failed", code: 1, detail: "exited with status 1" }),
  fromSource("script_result_reason", "1.4.0+", "VRRP_Script(%s) %s (%s %d)", ["chk_app", "failed", "due to signal", 9], { type: "script", script: "chk_app", result: "failed", detail: "due to signal 9" }),
  realConsole("script_returning", "node1", "now returning 1", { type: "script", script: "chk_app", result: "returned", code: 1 }),
  realJournal("script_returning", "hx1", "now returning 0", { type: "script", script: "chk_web", result: "returned", code: 0 }),
  // ---- priority
  realConsole("priority_change", "node1", "Changing effective priority from 150 to 90", { type: "priority", instance: I, from: 150, to: 90 }),
  fromSource("priority_change", V1, "VRRP_Instance(%s) Changing effective priority from %d to %d", [I, 100, 50], { type: "priority", instance: I, from: 100, to: 50 }),
  // ---- trackers
  fromSource("tracker_file", "2.0.19+ (-D)", "(%s): tracked file %s now FAULT state", [I, "/run/ka/ok"], { type: "tracker", instance: I, tracker: "file", name: "/run/ka/ok", fault: true }),
  fromSource("tracker_file", "2.0.19+ (-D)", "(%s): tracked file %s leaving FAULT state", [I, "/run/ka/ok"], { type: "tracker", instance: I, tracker: "file", name: "/run/ka/ok", fault: false }),
  fromSource("tracker_process_quorum", "2.0.11+", "Quorum %s for tracked process %s", ["lost", "nginx"], { type: "tracker", instance: null, tracker: "process", name: "nginx", fault: true }),
  fromSource("tracker_process_quorum", "2.0.11+", "Quorum %s for tracked process %s", ["gained", "nginx"], { type: "tracker", instance: null, tracker: "process", name: "nginx", fault: false }),
  fromSource("tracker_bfd", "2.x", "VRRP_Instance(%s) Tracked BFD instance %s is %s", [I, "bfd_peer", "DOWN"], { type: "tracker", instance: I, tracker: "bfd", name: "bfd_peer", fault: true }),
  fromSource("tracker_bfd", "2.x", "VRRP_Instance(%s) Tracked BFD instance %s is %s", [I, "bfd_peer", "UP"], { type: "tracker", instance: I, tracker: "bfd", name: "bfd_peer", fault: false }),
  // ---- config fault, VIPs, sent 0 priority, daemon lifecycle
  fromSource("config_unicast_no_peers", "2.2.5+", "(%s) Cannot use unicast without any peers - going to fault state", [I], { type: "config_fault", instance: I, reason: "unicast_no_peers" }),
  realConsole("vips_set_remove", "node1", "(VI_1) setting VIPs.", { type: "vips", instance: I, action: "set" }),
  realJournal("vips_set_remove", "hx3", "(VI_DB) removing VIPs.", { type: "vips", instance: "VI_DB", action: "remove" }),
  fromSource("vips_set_remove", V1, "VRRP_Instance(%s) %s protocol %s", [I, "setting", "VIPs."], { type: "vips", instance: I, action: "set" }),
  realConsole("sent_priority_zero", "node1", "sent 0 priority", { type: "sent_priority_zero", instance: I }),
  fromSource("sent_priority_zero", V1, "VRRP_Instance(%s) sent 0 priority", [I], { type: "sent_priority_zero", instance: I }),
  realConsole("daemon_starting", "node1", "Starting Keepalived", { type: "daemon", what: "starting", version: "2.2.7" }),
  fromSource("daemon_starting", "1.3.9", "Starting %s, git commit %s", ["Keepalived v1.3.9 (10/21,2017)", "v1.3.9-1-gabc"], { type: "daemon", what: "starting", version: "1.3.9" }),
  realJournal("daemon_started", "hx1", "Startup complete", { type: "daemon", what: "started" }),
  realConsole("daemon_stopping", "node2", "Stopping", { type: "daemon", what: "stopping" }),
  realConsole("daemon_stopped", "node2", "Stopped Keepalived", { type: "daemon", what: "stopped", version: "2.2.7" }),
  // ---- adverts
  realConsole("advert_master_higher", "node1", "Master received advert from", { type: "advert", instance: I, role: "master_higher", from: "192.0.2.2", priority: 100, ours: 90 }),
  fromSource("advert_master_same_priority_higher_ip", "2.x", "(%s) Master received advert from %s with same priority %d but higher IP address than ours", [I, "192.0.2.9", 100], { type: "advert", instance: I, role: "master_higher", from: "192.0.2.9", priority: 100, ours: 100 }),
  fromSource("advert_master_higher_1x", "1.4.1+", "VRRP_Instance(%s) Master received advert with higher priority %d, ours %d", [I, 150, 100], { type: "advert", instance: I, role: "master_higher", priority: 150, ours: 100 }),
  fromSource("advert_master_same_priority_higher_ip_1x", "1.4.1+", "VRRP_Instance(%s) Master received advert with same priority %d but higher IP address than ours (%s)", [I, 100, "192.0.2.9"], { type: "advert", instance: I, role: "master_higher", from: "192.0.2.9", priority: 100, ours: 100 }),
  fromSource("advert_master_higher_old_1x", "<=1.4.0", "VRRP_Instance(%s) Received advert with higher priority %d, ours %d", [I, 150, 100], { type: "advert", instance: I, role: "master_higher", priority: 150, ours: 100 }),
  realJournal("advert_master_lower", "hx1", "with lower priority 100, ours 140", { type: "advert", instance: "VI_WEB", role: "master_lower", from: "192.0.2.3", priority: 100, ours: 140 }),
  fromSource("advert_master_lower", "2.x (lower_prio_no_advert)", "(%s) Received advert from %s with lower priority %d, ours %d%s", [I, "fe80::2", 90, 150, ""], { type: "advert", instance: I, role: "master_lower", from: "fe80::2", priority: 90, ours: 150 }),
  fromSource("advert_master_lower_1x", V1, "VRRP_Instance(%s) Received advert with lower priority %d, ours %d, forcing new election", [I, 90, 150], { type: "advert", instance: I, role: "master_lower", priority: 90, ours: 150 }),
  realConsole("advert_backup_lower_discarded", "node2", "received lower priority (90)", { type: "advert", instance: I, role: "backup_lower_discarded", from: "192.0.2.1", priority: 90 }),
  fromSource("advert_backup_preempt_1x", V1, "VRRP_Instance(%s) forcing a new MASTER election", [I], { type: "advert", instance: I, role: "backup_preempt" }),
  realConsole("advert_backup_priority_zero", "node2", "Backup received priority 0", { type: "advert", instance: I, role: "priority_zero", priority: 0 }),
  fromSource("advert_master_priority_zero", "2.x", "(%s) Master received priority 0 message", [I], { type: "advert", instance: I, role: "priority_zero", priority: 0 }),
  fromSource("advert_equal_priority_own_ip", V1, "(%s): WARNING - equal priority advert received from remote host with our IP address.", [I], { type: "advert", instance: I, role: "equal_priority_own_ip" }),
  fromSource("advert_equal_priority_own_ip", "2.x", "(%s) WARNING - equal priority advert received from remote host with our IP address.", [I], { type: "advert", instance: I, role: "equal_priority_own_ip" }),
  realConsole("advert_timeout", "node1", "Receive advertisement timeout", { type: "advert_timeout", instance: I }),
  // ---- packet checks (1.x "(%s): ...", 2.x "(%s) ...")
  fromSource("packet_auth_password", V1, "(%s): received an invalid passwd!", [I], { type: "packet_error", instance: I, error: "auth_password" }),
  fromSource("packet_auth_password", "2.3.3+", "(%s) received an invalid passwd from %s!", [I, "192.0.2.2"], { type: "packet_error", instance: I, error: "auth_password", from: "192.0.2.2" }),
  fromSource("packet_auth_ah_hmac", "2.x", "(%s) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !", [I], { type: "packet_error", instance: I, error: "auth_password", detail: "invalid IPSEC-AH HMAC-MD5 value" }),
  fromSource("packet_auth_ah_hmac", V1, "VRRP_Instance(%s) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !", [I], { type: "packet_error", instance: I, error: "auth_password", detail: "invalid IPSEC-AH HMAC-MD5 value" }),
  fromSource("packet_auth_type_mismatch", "2.x", "(%s) received a %d auth, expecting %d!", [I, 1, 2], { type: "packet_error", instance: I, error: "auth_type", detail: "received auth type 1, expecting 2" }),
  fromSource("packet_auth_type_mismatch", "2.3.3+", "(%s) received a %d auth from %s, expecting %d!", [I, 0, "192.0.2.2", 1], { type: "packet_error", instance: I, error: "auth_type", detail: "received auth type 0, expecting 1", from: "192.0.2.2" }),
  fromSource("packet_auth_type_invalid", V1, "(%s): Invalid auth type: %d", [I, 7], { type: "packet_error", instance: I, error: "auth_type", detail: "invalid auth type 7" }),
  fromSource("packet_auth_type_invalid", "2.3.3+", "(%s) Invalid auth type from %s: %d", [I, "fe80::1", 7], { type: "packet_error", instance: I, error: "auth_type", detail: "invalid auth type 7", from: "fe80::1" }),
  fromSource("packet_auth_ah_header", "2.0.12+", "(%s) Received AH header but auth type not AH", [I], { type: "packet_error", instance: I, error: "auth_type", detail: "Received AH header but auth type not AH" }),
  fromSource("packet_auth_ah_header", "2.0.12+", "(%s) No AH header but auth type is AH", [I], { type: "packet_error", instance: I, error: "auth_type", detail: "No AH header but auth type is AH" }),
  fromSource("packet_advert_interval", "1.x-2.0.16", "(%s): advertisement interval mismatch mine=%d sec rcved=%d sec", [I, 1, 3], { type: "packet_error", instance: I, error: "advert_interval", detail: "mine=1s received=3s" }),
  fromSource("packet_advert_interval", "2.0.17+", "(%s) advertisement interval mismatch mine=%u sec rcv'd=%d sec", [I, 1, 2], { type: "packet_error", instance: I, error: "advert_interval", detail: "mine=1s received=2s" }),
  fromSource("packet_advert_interval", "2.3.3+", "(%s) advertisement interval mismatch with %s mine=%u sec rcv'd=%d sec", [I, "192.0.2.2", 1, 2], { type: "packet_error", instance: I, error: "advert_interval", detail: "mine=1s received=2s", from: "192.0.2.2" }),
  fromSource("packet_advert_interval_v3", "2.3.3+", "(%s) advertisement interval mismatch ours = %u centi-sec rcv'd=%d centi-sec", [I, 100, 200], { type: "packet_error", instance: I, error: "advert_interval", detail: "mine=100cs received=200cs" }),
  fromSource("packet_vip_count", "<=2.0.11", "(%s): received an invalid ip number count %d, expected %d!", [I, 2, 1], { type: "packet_error", instance: I, error: "vip_count", detail: "received 2, expected 1" }),
  fromSource("packet_vip_count", "2.0.12-2.3.2", "(%s) received an unexpected ip number count %u, expected %u!", [I, 2, 1], { type: "packet_error", instance: I, error: "vip_count", detail: "received 2, expected 1" }),
  fromSource("packet_vip_count_vips", "2.0.19+", "(%s) expected %u VIPs but received %u", [I, 1, 2], { type: "packet_error", instance: I, error: "vip_count", detail: "received 2, expected 1" }),
  fromSource("packet_vip_count_unicast", "1.x-2.0 (not in KEEPALIVED.md)", "(%s): receive an invalid ip number count associated with VRID!", [I], { type: "packet_error", instance: I, error: "vip_count" }),
  fromSource("packet_vip_address", V1, "(%s): ip address associated with VRID %d not present in MASTER advert : %s", [I, 51, "192.0.2.100"], { type: "packet_error", instance: I, error: "vip_address", detail: "192.0.2.100" }),
  fromSource("packet_vip_address", "2.2.5+", "(%s) ip address associated with VRID %d not present in MASTER advert: %s", [I, 51, "192.0.2.100"], { type: "packet_error", instance: I, error: "vip_address", detail: "192.0.2.100" }),
  fromSource("packet_vip_address", "2.3.3+", "(%s) ip address associated with VRID %d not present in advert from %s: %s", [I, 51, "fe80::2", "192.0.2.100"], { type: "packet_error", instance: I, error: "vip_address", detail: "192.0.2.100", from: "fe80::2" }),
  fromSource("packet_ttl", V1, "(%s): invalid ttl. %d and expect %d", [I, 64, 255], { type: "packet_error", instance: I, error: "ttl", detail: "received 64, expected 255" }),
  fromSource("packet_ttl", "2.0.12+", "(%s) invalid TTL/HL. Received %d and expect %d", [I, 64, 255], { type: "packet_error", instance: I, error: "ttl", detail: "received 64, expected 255" }),
  fromSource("packet_ttl", "2.3.3+", "(%s) invalid TTL/HL from %s. Received %d and expect %d", [I, "192.0.2.2", 64, 255], { type: "packet_error", instance: I, error: "ttl", detail: "received 64, expected 255", from: "192.0.2.2" }),
  fromSource("packet_ttl_range", "2.1.0+", "(%s) TTL/HL %d not in range %d - %d", [I, 60, 250, 255], { type: "packet_error", instance: I, error: "ttl", detail: "received 60, allowed 250 - 255" }),
  fromSource("packet_ttl_range", "2.3.3+", "(%s) TTL/HL %d from %s not in range [%d, %d]", [I, 60, "192.0.2.2", 250, 255], { type: "packet_error", instance: I, error: "ttl", detail: "received 60, allowed [250, 255]", from: "192.0.2.2" }),
  fromSource("packet_version", V1, "(%s): invalid version. %d and expect %d", [I, 3, 2], { type: "packet_error", instance: I, error: "version", detail: "received 3, expected 2" }),
  fromSource("packet_version", "2.0.12+", "(%s) wrong version. Received %d and expect %d", [I, 3, 2], { type: "packet_error", instance: I, error: "version", detail: "received 3, expected 2" }),
  fromSource("packet_version", "2.3.3+", "(%s) wrong VRRP version from %s. Received %d and expect %d", [I, "192.0.2.2", 3, 2], { type: "packet_error", instance: I, error: "version", detail: "received 3, expected 2", from: "192.0.2.2" }),
  fromSource("packet_vrid_mismatch", "<=2.0.13", "(%s): received VRID mismatch. Received %d, Expected %d", [I, 52, 51], { type: "packet_error", instance: I, error: "vrid", detail: "received 52, expected 51" }),
  fromSource("packet_vrid_unknown", "2.0.14+", "Unknown VRID(%d) received on interface(%s). ignoring...", [52, "eth0"], { type: "packet_error", instance: null, error: "vrid", detail: "unknown VRID 52 on eth0" }),
  fromSource("packet_vrid_unknown", "2.2+ (not in KEEPALIVED.md)", "Unknown VRID(%d) received on interface(%s) from %s. ignoring...", [52, "eth0", "192.0.2.7"], { type: "packet_error", instance: null, error: "vrid", detail: "unknown VRID 52 on eth0", from: "192.0.2.7" }),
  fromSource("packet_unicast_peer", "all", "(%s) unicast source address %s not a unicast peer", [I, "192.0.2.8"], { type: "packet_error", instance: I, error: "unicast_peer", detail: "source is not a unicast peer", from: "192.0.2.8" }),
  fromSource("packet_unicast_multicast", "2.0.12+", "(%s) Expected %sicast packet but received %sicast packet", [I, "un", "mult"], { type: "packet_error", instance: I, error: "unicast_peer", detail: "expected unicast, received multicast" }),
  fromSource("packet_address_owner", V1, "(%s): CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority", [I], { type: "packet_error", instance: I, error: "address_owner", detail: "both configured as address owner" }),
  fromSource("packet_address_owner", "2.3.3+", "(%s) CONFIGURATION ERROR: local instance and %s are both configured as address owner, please resolve", [I, "192.0.2.2"], { type: "packet_error", instance: I, error: "address_owner", detail: "both configured as address owner", from: "192.0.2.2" }),
  fromSource("packet_address_owner_still", "2.3.3+ (not in KEEPALIVED.md)", "(%s) %s is still advertising as address owner, please resolve - reducing our priority", [I, "192.0.2.2"], { type: "packet_error", instance: I, error: "address_owner", detail: "remote still advertising as address owner", from: "192.0.2.2" }),
  fromSource("packet_address_owner_dropping", "2.3.3+ (not in KEEPALIVED.md)", "(%s) Dropping packet(s) from %s since we are address owner", [I, "192.0.2.2"], { type: "packet_error", instance: I, error: "address_owner", detail: "dropping packets since we are address owner", from: "192.0.2.2" }),
  fromSource("packet_generic_ignoring_1x", V1, "VRRP_Instance(%s) ignoring received advertisment...", [I], { type: "packet_error", instance: I, error: "generic", detail: "ignoring received advertisement" }),
  fromSource("packet_generic_dropping_1x", V1, "VRRP_Instance(%s) Dropping received VRRP packet...", [I], { type: "packet_error", instance: I, error: "generic", detail: "dropping received VRRP packet" }),
  fromSource("packet_generic_bogus_1x", V1, "bogus VRRP packet received on %s !!!", ["eth0"], { type: "packet_error", instance: null, error: "generic", detail: "bogus VRRP packet received on eth0" }),
  fromSource("packet_generic_sync_needed_1x", V1, "Sync instance needed on %s !!!", ["eth0"], { type: "packet_error", instance: null, error: "generic", detail: "sync instance needed on eth0" }),
];

function messageOf(c: Case): string {
  return c.viaParseLine ? parseLine(c.raw).message : c.raw;
}

const byId = new Map<string, Case[]>();
for (const c of CASES) byId.set(c.id, [...(byId.get(c.id) ?? []), c]);

for (const p of PATTERNS) {
  describe(`pattern ${p.id} (${p.versions})`, () => {
    for (const c of byId.get(p.id) ?? []) {
      test(c.title, () => {
        const event = c.viaParseLine ? parseLine(c.raw).event : parseMessage(c.raw);
        assert.deepEqual(event, c.expected);
        assert.equal(classify(messageOf(c))?.id, p.id, "matched by a different pattern");
      });
    }
  });
}

test("every PATTERNS entry is exercised by at least one test line, and every test line names a real id", () => {
  const ids = new Set(PATTERNS.map((p) => p.id));
  const exercised = new Set(CASES.map((c) => classify(messageOf(c))?.id).filter((id): id is string => id !== undefined));
  assert.deepEqual([...ids].filter((id) => !exercised.has(id)), [], "patterns without a matching test line");
  assert.deepEqual(CASES.map((c) => c.id).filter((id) => !ids.has(id)), [], "test lines naming unknown ids");
});

test("no test line is matched by more than one pattern regex (first match is the only match)", () => {
  for (const c of CASES) {
    const msg = messageOf(c);
    const matching = PATTERNS.filter((p) => p.re.test(msg)).map((p) => p.id);
    assert.deepEqual(matching, [c.id], msg);
  }
});

test("each pattern's hint occurs in every test line it matches (the pre-check never hides a match)", () => {
  for (const c of CASES) {
    const p = PATTERNS.find((x) => x.id === c.id);
    assert.ok(p && messageOf(c).includes(p.hint), `${c.id}: hint ${JSON.stringify(p?.hint)} not in ${messageOf(c)}`);
  }
});

test("pattern ids are unique and every regex is anchored, stateless and free of repeated groups", () => {
  const ids = PATTERNS.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "duplicate ids");
  for (const p of PATTERNS) {
    assert.ok(p.re.source.startsWith("^"), `${p.id} is not anchored`);
    assert.ok(!p.re.global && !p.re.sticky, `${p.id} has lastIndex state`);
    // a group followed by *, + or {n,} is the shape of catastrophic backtracking; none is allowed
    assert.doesNotMatch(p.re.source, /\)(?:[*+]|\{\d+,\d*\})/, `${p.id} repeats a group`);
    assert.ok(p.hint.length > 0 && p.versions.length > 0, `${p.id} lacks hint or versions`);
  }
});

test("keepalived lines with no monitored meaning give event null", () => {
  for (const msg of [
    "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.100",
    "Sending gratuitous ARP on eth0 for 192.0.2.100",
    "Deassigned address fe80::b418:e9ff:fe94:f026 from interface eth0",
    "Stopped - used (self/children) 0.040271/0.681476 user time, 0.515954/0.394909 system time",
    "Stopped",
    "Starting VRRP child process, pid=3771",
    "(VI_1) setting E-VIPs.",
    "Unknown interface eth9 deleted",
    "              '-r' '/run/keepalived/vrrp.pid'",
    "(VI_1) Entering MASTER STATE extra",
    "(VI_1 Entering MASTER STATE",
    "",
  ]) {
    assert.equal(parseMessage(msg), null, msg);
  }
});
