/**
 * One keepalived cluster in the lab: N hosts (namespaces on one bridge), real
 * keepalived in each, a real agent per host reporting as cluster `cluster` to
 * the stack's server. Scenarios get a fresh cluster each (a new cluster name,
 * so their incidents never mix) on the file's one server.
 */
import fs from "node:fs";
import path from "node:path";
import type { ClusterSummary } from "../../../server/protocol";
import { LabAgent } from "./agent";
import { DEFAULT_SPEC, Keepalived, VIP, type VrrpSpec } from "./keepalived";
import type { LabJournal } from "./journal";
import { LabNet, type LabHostNet } from "./net";
import { labTempDir, onTeardown } from "./reaper";
import { stateMap, type Stack } from "./stack";

export interface HostSpec {
  name: string;
  octet: number;
  priority: number;
  /** where keepalived logs and the agent reads (default file) */
  source?: "file" | "journal";
  /** overrides of the VRRP instance (name, auth_pass, advert_int, VRID, ...) */
  vrrp?: Partial<VrrpSpec>;
  /**
   * the agent reads keepalived's dumps every this many seconds (--dumps-interval); keepalived then writes
   * them in its own directory (TMPDIR), not in the /tmp the lab's hosts share
   */
  dumps?: number;
}

export interface LabHost {
  name: string;
  net: LabHostNet;
  ka: Keepalived;
  agent: LabAgent;
  /** journal facility (source journal) */
  facility: number | null;
}

export class Lab {
  readonly hosts = new Map<string, LabHost>();
  readonly net: LabNet;
  readonly dir: string;

  private constructor(readonly stack: Stack, readonly cluster: string, tag: string) {
    this.net = new LabNet(tag);
    this.dir = labTempDir(tag);
    const dir = this.dir;
    onTeardown(`directory ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  }

  /** build the hosts and start their agents, then keepalived (agents first: they see everything from the first line) */
  static async create(stack: Stack, cluster: string, specs: HostSpec[], journal?: LabJournal): Promise<Lab> {
    const tag = cluster.replace(/[^a-z0-9]/g, "").slice(0, 8) || "lab";
    const lab = new Lab(stack, cluster, tag);
    let facility = 0;
    for (const s of specs) {
      // one token per node, as the README deploys them (issue 19)
      const token = await stack.srv.token(cluster, s.name);
      const net = lab.net.addHost(s.name, s.octet);
      const dir = path.join(lab.dir, s.name);
      fs.mkdirSync(dir);
      const source = s.source ?? "file";
      if (source === "journal" && !journal) throw new Error(`${s.name}: a journal host needs the lab journal`);
      const fac = source === "journal" ? ++facility : null;
      const ka = new Keepalived(net, dir, { ...DEFAULT_SPEC, priority: s.priority, ...s.vrrp },
        fac === null ? { kind: "file" } : { kind: "journal", socket: journal!.journald.syslogSocket, facility: fac },
        s.dumps ? { env: { TMPDIR: dir } } : {});
      const agent = new LabAgent(s.name, dir, stack.url, token, ka.conf, net.ns,
        fac === null ? { kind: "file", logFile: ka.logFile } : { kind: "journal", journalMatch: journal!.match(fac), journalDirectory: journal!.journald.journalDir },
        s.dumps ? { "dumps-interval": s.dumps } : {});
      lab.hosts.set(s.name, { name: s.name, net, ka, agent, facility: fac });
    }
    for (const h of lab.hosts.values()) h.agent.start();
    for (const h of lab.hosts.values()) h.ka.start();
    return lab;
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in ${this.cluster}`);
    return h;
  }

  async summary(): Promise<ClusterSummary | undefined> {
    return this.stack.cluster(this.cluster);
  }

  /**
   * Wait until /api/clusters shows exactly these states (node -> "MASTER+vip", "BACKUP", ...),
   * every node online; returns the summary.
   */
  async waitStates(want: Record<string, string>, timeoutMs = 30_000): Promise<ClusterSummary> {
    const end = Date.now() + timeoutMs;
    let last: Record<string, string> | null = null;
    for (;;) {
      const c = await this.summary().catch(() => undefined);
      if (c) {
        last = stateMap(c);
        if (Object.entries(want).every(([n, s]) => last![n] === s)) return c;
      }
      if (Date.now() > end) {
        throw new Error(`${this.cluster}: states ${JSON.stringify(want)} not reached in ${timeoutMs / 1000} s; /api/clusters shows ${JSON.stringify(last)}\n${this.diagnostics()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** which hosts hold the VIP right now (ground truth from the namespaces) */
  vipHolders(): string[] {
    return [...this.hosts.values()].filter((h) => this.net.addresses(h.name).includes(VIP)).map((h) => h.name);
  }

  /** the tail of every host's keepalived log and agent output, for failure messages */
  diagnostics(lines = 15): string {
    const out: string[] = [];
    for (const h of this.hosts.values()) {
      let ka: string[] = [];
      try {
        ka = h.ka.lines().slice(-lines);
      } catch {
        /* no log */
      }
      out.push(`--- ${h.name} keepalived (${h.ka.log.kind}):`, ...ka, `--- ${h.name} agent:`, ...h.agent.output().split("\n").slice(-6));
    }
    return out.join("\n");
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.agent.kill("SIGTERM")));
    for (const h of this.hosts.values()) await h.ka.kill();
  }
}
