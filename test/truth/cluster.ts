/**
 * One truth-lab cluster: the topology's hosts as network namespaces on the
 * lab bridge (test/e2e/lab/net.ts), an eth1 veth pair inside each host (for
 * track_interface), the VRRP counters, real keepalived per host with the
 * rendered configuration and its JSON dump directory, and the real agent.
 * Everything the harness does is recorded in the observations (what it did:
 * starts, graceful stops, kills, reloads, config writes, agent restarts).
 */
import fs from "node:fs";
import path from "node:path";
import { LabAgent } from "../e2e/lab/agent";
import { DEFAULT_SPEC, Keepalived } from "../e2e/lab/keepalived";
import type { LabJournal } from "../e2e/lab/journal";
import { LabNet, run, type LabHostNet } from "../e2e/lab/net";
import { labTempDir, onTeardown } from "../e2e/lab/reaper";
import type { Observations, RouterFields } from "./oracle";
import { installVrrpCounters, Sampler } from "./oracle-sampler";
import { effectiveRouter, healthFile, renderConfig, type Topology } from "./topology";

export interface TruthHost {
  name: string;
  net: LabHostNet;
  ka: Keepalived;
  agent: LabAgent;
  dir: string;
  facility: number | null;
}

export class TruthCluster {
  readonly hosts = new Map<string, TruthHost>();
  readonly net: LabNet;
  readonly dir: string;
  sampler!: Sampler;

  private constructor(readonly topo: Topology, readonly cluster: string, readonly obs: Observations, tag: string) {
    this.net = new LabNet(tag);
    this.dir = labTempDir(`truth${tag}`);
    const d = this.dir;
    onTeardown(`directory ${d}`, () => fs.rmSync(d, { recursive: true, force: true }));
  }

  static build(topo: Topology, cluster: string, obs: Observations, serverUrl: string, token: string, journal: LabJournal | null): TruthCluster {
    const tag = `t${topo.seed % 100000}`;
    const c = new TruthCluster(topo, cluster, obs, tag);
    let facility = 0;
    for (const h of topo.hosts) {
      const net = c.net.addHost(h.name, h.octet);
      // a second interface for track_interface: a veth pair inside the host namespace, both ends up
      run("ip", ["-n", net.ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
      run("ip", ["-n", net.ns, "link", "set", "eth1", "up"]);
      run("ip", ["-n", net.ns, "link", "set", "eth1p", "up"]);
      installVrrpCounters(net.ns);
      const dir = path.join(c.dir, h.name);
      fs.mkdirSync(dir);
      if (h.source === "journal" && !journal) throw new Error(`${h.name}: a journal host needs the lab journal`);
      const fac = h.source === "journal" ? ++facility : null;
      const ka = new Keepalived(net, dir, { ...DEFAULT_SPEC, priority: 100 },
        fac === null ? { kind: "file" } : { kind: "journal", socket: journal!.journald.syslogSocket, facility: fac },
        { env: { KA_TMP_DIR: dir, TMPDIR: dir } });
      const agent = new LabAgent(h.name, dir, serverUrl, token, ka.conf, net.ns,
        fac === null ? { kind: "file", logFile: ka.logFile } : { kind: "journal", journalMatch: journal!.match(fac), journalDirectory: journal!.journald.journalDir });
      c.hosts.set(h.name, { name: h.name, net, ka, agent, dir, facility: fac });
      for (const rt of topo.routers) fs.writeFileSync(healthFile(dir, rt.vrid), "ok\n");
    }
    c.sampler = new Sampler([...c.hosts.values()].map((h) => ({ name: h.name, ns: h.net.ns, dir: h.dir })), obs);
    return c;
  }

  host(name: string): TruthHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** write a host's keepalived.conf from the (current) topology, recording its must-match fields */
  writeConfig(host: string, nameSuffix = ""): void {
    const h = this.host(host);
    h.ka.writeText(renderConfig(this.topo, host, { dir: h.dir, nameSuffix }));
    const routers: Record<number, RouterFields> = {};
    for (const rt of this.topo.routers) routers[this.topo.members[host][rt.vrid].vrid ?? rt.vrid] = effectiveRouter(this.topo, host, rt);
    this.obs.configs.push({ t: Date.now(), host, routers });
  }

  startKa(host: string): void {
    const h = this.host(host);
    if (h.ka.running) return;
    this.obs.ka.push({ t: Date.now(), host, what: "start" });
    h.ka.start();
  }

  async stopKa(host: string): Promise<void> {
    this.obs.ka.push({ t: Date.now(), host, what: "stop" });
    await this.host(host).ka.stop();
  }

  async killKa(host: string): Promise<void> {
    this.obs.ka.push({ t: Date.now(), host, what: "kill" });
    await this.host(host).ka.kill();
  }

  reloadKa(host: string): void {
    this.obs.ka.push({ t: Date.now(), host, what: "reload" });
    this.host(host).ka.reload();
  }

  startAgent(host: string): void {
    const h = this.host(host);
    if (h.agent.running) return;
    h.agent.start();
    this.obs.agents.push({ t: Date.now(), host, running: true });
  }

  async killAgent(host: string): Promise<void> {
    this.obs.agents.push({ t: Date.now(), host, running: false });
    await this.host(host).agent.kill("SIGKILL");
  }

  setHealthy(host: string, vrid: number, ok: boolean): void {
    const f = healthFile(this.host(host).dir, vrid);
    if (ok) fs.writeFileSync(f, "ok\n");
    else fs.rmSync(f, { force: true });
  }

  /** the hosts holding a router's first VIP right now (the oracle sampler's last look) */
  holders(vrid: number): string[] {
    const rt = this.topo.routers.find((r) => r.vrid === vrid)!;
    return this.topo.hosts.map((h) => h.name).filter((h) => (this.sampler.addrs.get(h) ?? []).includes(rt.vips[0]));
  }

  /** keepalived's log (file) or the host's journal entries, and the agent's output, for the artifacts */
  logs(journal: LabJournal | null): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of this.hosts.values()) {
      try {
        out[`${h.name}-keepalived.log`] = h.facility === null
          ? fs.readFileSync(h.ka.logFile, "utf8")
          : journal!.entries(h.facility).map((e) => e.message).join("\n");
      } catch (e) {
        out[`${h.name}-keepalived.log`] = `(unreadable: ${(e as Error).message})`;
      }
      out[`${h.name}-agent.log`] = h.agent.output();
      out[`${h.name}-keepalived.conf`] = fs.existsSync(h.ka.conf) ? fs.readFileSync(h.ka.conf, "utf8") : "";
    }
    return out;
  }

  async destroy(): Promise<void> {
    this.sampler?.stop();
    await Promise.all([...this.hosts.values()].map((h) => h.agent.kill("SIGTERM")));
    for (const h of this.hosts.values()) await h.ka.kill();
  }
}
