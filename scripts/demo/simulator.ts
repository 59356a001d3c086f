/**
 * A simulated keepalived cluster for `npm run demo`: it writes, per node, a
 * keepalived.conf, a log file in keepalived 2.2.7's console format (the exact
 * lines of test/fixtures/keepalived-2.2.7) and the addresses the node holds
 * (read by the real agent through scripts/demo/fake-ip.mjs). The agents that
 * watch these files are the real agent code; only keepalived is simulated.
 */
import fs from "node:fs";
import path from "node:path";

export interface SimNode {
  name: string;
  ip: string;
  priority: number;
  dir: string;
  state: "INIT" | "BACKUP" | "MASTER" | "FAULT";
  effective: number;
}

export const VIP = "198.18.0.100";
const VRID = 51;

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** keepalived's console time stamp: `Mon Nov 23 18:53:53 2026` (UTC here). */
export function consoleStamp(d: Date): string {
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export function confText(n: SimNode, peers: SimNode[]): string {
  return `global_defs {
  router_id ${n.name}
  script_user root
  enable_script_security
}
vrrp_script chk_app {
  script "/usr/bin/test -f /run/app-healthy"
  interval 1
  weight -60
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id ${VRID}
  priority ${n.priority}
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass demo-pass
  }
  unicast_src_ip ${n.ip}
  unicast_peer {
${peers.filter((p) => p !== n).map((p) => `    ${p.ip}`).join("\n")}
  }
  virtual_ipaddress {
    ${VIP}/24
  }
  track_script {
    chk_app
  }
}
`;
}

export class ClusterSimulator {
  readonly nodes: SimNode[];

  constructor(root: string, names = ["lb1", "lb2", "lb3"]) {
    this.nodes = names.map((name, i) => ({
      name,
      ip: `198.18.0.${11 + i}`,
      priority: 150 - i * 25,
      dir: path.join(root, name),
      state: "INIT",
      effective: 150 - i * 25,
    }));
    for (const n of this.nodes) {
      fs.mkdirSync(n.dir, { recursive: true });
      fs.writeFileSync(path.join(n.dir, "keepalived.conf"), confText(n, this.nodes));
      fs.writeFileSync(path.join(n.dir, "keepalived.log"), "");
      this.setHeld(n, false);
    }
  }

  logPath(n: SimNode) {
    return path.join(n.dir, "keepalived.log");
  }

  node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no simulated node ${name}`);
    return n;
  }

  /** append lines in keepalived 2.2.7 console format */
  log(n: SimNode, ...messages: string[]) {
    const stamp = consoleStamp(new Date());
    fs.appendFileSync(this.logPath(n), messages.map((m) => `${stamp}: ${m}\n`).join(""));
  }

  /** the address list the fake `ip -j addr` prints for this node */
  setHeld(n: SimNode, held: boolean) {
    const addrs = [{ family: "inet", local: n.ip, prefixlen: 24 }, ...(held ? [{ family: "inet", local: VIP, prefixlen: 24 }] : [])];
    const json = [
      { ifindex: 1, ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
      { ifindex: 2, ifname: "eth0", addr_info: addrs },
    ];
    const file = path.join(n.dir, "addresses.json");
    fs.writeFileSync(file + ".tmp", JSON.stringify(json));
    fs.renameSync(file + ".tmp", file);
  }

  start(n: SimNode) {
    this.log(
      n,
      "Starting Keepalived v2.2.7 (01/16,2022)",
      "Running on Linux 6.1.0 #1 SMP PREEMPT_DYNAMIC (built for Linux 5.19.11)",
      "Opening file '/etc/keepalived/keepalived.conf'.",
      "Starting VRRP child process, pid=" + (3000 + this.nodes.indexOf(n)),
      "Registering Kernel netlink reflector",
      "Registering Kernel netlink command channel",
      `Assigned address ${n.ip} for interface eth0`,
      "Registering gratuitous ARP shared channel",
      "Startup complete",
      "(VI_1) removing VIPs.",
      "(VI_1) Entering BACKUP STATE (init)",
      "VRRP_Script(chk_app) succeeded",
    );
    n.state = "BACKUP";
    n.effective = n.priority;
  }

  becomeMaster(n: SimNode) {
    this.log(
      n,
      "(VI_1) Receive advertisement timeout",
      "(VI_1) Entering MASTER STATE",
      "(VI_1) setting VIPs.",
      `(VI_1) Sending/queueing gratuitous ARPs on eth0 for ${VIP}`,
      ...Array(5).fill(`Sending gratuitous ARP on eth0 for ${VIP}`),
    );
    n.state = "MASTER";
    this.setHeld(n, true);
  }

  /** `n` (MASTER) hears a better advert from `from` and steps down */
  yieldTo(n: SimNode, from: SimNode) {
    this.log(
      n,
      `(VI_1) Master received advert from ${from.ip} with higher priority ${from.effective}, ours ${n.effective}`,
      "(VI_1) Entering BACKUP STATE",
      "(VI_1) removing VIPs.",
    );
    n.state = "BACKUP";
    this.setHeld(n, false);
  }

  scriptFails(n: SimNode) {
    const to = n.priority - 60;
    this.log(n, "Script `chk_app` now returning 1", "VRRP_Script(chk_app) failed (exited with status 1)",
      `(VI_1) Changing effective priority from ${n.effective} to ${to}`);
    n.effective = to;
  }

  scriptRecovers(n: SimNode) {
    this.log(n, "Script `chk_app` now returning 0", "VRRP_Script(chk_app) succeeded",
      `(VI_1) Changing effective priority from ${n.effective} to ${n.priority}`);
    n.effective = n.priority;
  }

  /** a BACKUP with higher priority discards the MASTER's advert and preempts */
  preempt(n: SimNode, master: SimNode) {
    this.log(n, ...Array(3).fill(`(VI_1) received lower priority (${master.effective}) advert from ${master.ip} - discarding`));
    this.becomeMaster(n);
    this.yieldTo(master, n);
  }

  linkDown(n: SimNode) {
    this.log(n, "Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
    if (n.state === "MASTER") this.log(n, "(VI_1) sent 0 priority", "(VI_1) removing VIPs.");
    n.state = "FAULT";
    this.setHeld(n, false);
  }

  linkUp(n: SimNode) {
    this.log(n, "Netlink reports eth0 up", "(VI_1) Entering BACKUP STATE");
    n.state = "BACKUP";
  }

  master(): SimNode | undefined {
    return this.nodes.find((n) => n.state === "MASTER");
  }
}
