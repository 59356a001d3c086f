/**
 * The lab network: one Linux bridge in its own network namespace and one
 * namespace per host, each joined to the bridge by a veth pair (eth0 inside
 * the host, v<host> on the bridge). Lab addresses (198.18.0.0/24) exist only
 * inside the host namespaces; the machine's own namespace gets nothing.
 *
 * Faults:
 *  - cut(): detach the host's veth from the bridge; both ends stay up, so
 *    keepalived sees no link change, only silence (VRRP cut, link up);
 *  - blockVrrp(): an nftables rule inside the host dropping incoming IP
 *    protocol 112 (a host firewall that drops VRRP);
 *  - linkDown(): the host's eth0 down (netlink reports it to keepalived).
 */
import { execFileSync } from "node:child_process";
import { deleteNetns, labName, onTeardown } from "./reaper";

export function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], timeout: 15_000 }).toString();
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

const ip = (...args: string[]) => run("ip", args);

export interface LabHostNet {
  /** the lab's name for it (lb1, lb2, ...) */
  name: string;
  /** its network namespace */
  ns: string;
  /** its address without prefix, e.g. 198.18.0.11 */
  address: string;
  /** the bridge-side end of its veth pair */
  port: string;
}

export class LabNet {
  readonly bridgeNs: string;
  readonly hosts = new Map<string, LabHostNet>();
  private nftTable = "kame_e2e";

  constructor(readonly tag: string) {
    if (!/^[a-z0-9]{1,8}$/.test(tag)) throw new Error(`lab tag ${tag}: 1-8 lower-case letters/digits`);
    this.bridgeNs = labName(`${tag}-br`);
    ip("netns", "add", this.bridgeNs);
    onTeardown(`netns ${this.bridgeNs}`, () => deleteNetns(this.bridgeNs));
    ip("-n", this.bridgeNs, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
    ip("-n", this.bridgeNs, "link", "set", "br0", "up");
  }

  /** a host namespace on the bridge with address 198.18.0.<octet>/24 on eth0 */
  addHost(name: string, octet: number): LabHostNet {
    if (!/^[a-z0-9]{1,10}$/.test(name)) throw new Error(`host name ${name}: 1-10 lower-case letters/digits`);
    if (octet < 1 || octet > 254 || octet === 100) throw new Error(`octet ${octet}: 1..254, not 100 (the VIP)`);
    const ns = labName(`${this.tag}-${name}`);
    const port = `v${name}`;
    ip("netns", "add", ns);
    onTeardown(`netns ${ns}`, () => deleteNetns(ns));
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", this.bridgeNs);
    ip("-n", this.bridgeNs, "link", "set", port, "master", "br0");
    ip("-n", this.bridgeNs, "link", "set", port, "up");
    ip("-n", ns, "addr", "add", `198.18.0.${octet}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    const h: LabHostNet = { name, ns, address: `198.18.0.${octet}`, port };
    this.hosts.set(name, h);
    return h;
  }

  private host(name: string): LabHostNet {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** VRRP cut, link up: the host's port leaves the bridge, its eth0 stays up */
  cut(name: string): void {
    ip("-n", this.bridgeNs, "link", "set", this.host(name).port, "nomaster");
  }

  heal(name: string): void {
    ip("-n", this.bridgeNs, "link", "set", this.host(name).port, "master", "br0");
  }

  /** drop IP protocol 112 (VRRP) inside the host with nftables: arriving (default) or leaving it */
  blockVrrp(name: string, direction: "in" | "out" = "in"): void {
    const h = this.host(name);
    const chain = direction === "in" ? "input" : "output";
    run("ip", ["netns", "exec", h.ns, "nft", "-f", "-"],
      `table inet ${this.nftTable} {\n  chain ${chain} {\n    type filter hook ${chain} priority 0; policy accept;\n    ip protocol 112 counter drop\n  }\n}\n`);
  }

  /** how many packets the VRRP drop rule has dropped on the host */
  vrrpDropped(name: string): number {
    const out = run("ip", ["netns", "exec", this.host(name).ns, "nft", "list", "table", "inet", this.nftTable]);
    const m = /counter packets (\d+)/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  unblockVrrp(name: string): void {
    run("ip", ["netns", "exec", this.host(name).ns, "nft", "delete", "table", "inet", this.nftTable]);
  }

  linkDown(name: string): void {
    ip("-n", this.host(name).ns, "link", "set", "eth0", "down");
  }

  linkUp(name: string): void {
    ip("-n", this.host(name).ns, "link", "set", "eth0", "up");
  }

  /** the IPv4 addresses on the host's eth0 (the VIP shows here when it holds it) */
  addresses(name: string): string[] {
    const j = JSON.parse(ip("-j", "-n", this.host(name).ns, "addr", "show", "dev", "eth0")) as { addr_info?: { family: string; local: string }[] }[];
    return j.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => a.local));
  }
}
