/**
 * The real agent (the built single file dist/keepalived-agent.cjs) for one lab
 * host, configured the way a node is: a JSON config file and a token file. It
 * runs in the machine's namespace (it reaches the server on loopback) and
 * looks into the host's namespace for VIPs (`--netns`, i.e. `ip -n NS`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { AGENT_BUNDLE } from "../../helpers/agent";
import { killTree, onTeardown } from "./reaper";

export interface AgentSource {
  kind: "file" | "journal";
  logFile?: string;
  journalMatch?: string;
  journalDirectory?: string;
}

export class LabAgent {
  readonly configFile: string;
  readonly stateDir: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private out = "";

  /** `extra`: more settings of the agent's config file (e.g. "dumps-interval") */
  constructor(readonly node: string, dir: string, server: string, token: string, conf: string, netns: string, source: AgentSource, extra: Record<string, unknown> = {}) {
    this.configFile = path.join(dir, "agent.json");
    this.stateDir = path.join(dir, "agent-state");
    const tokenFile = path.join(dir, "agent.token");
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const cfg: Record<string, unknown> = {
      server, "token-file": tokenFile, node, "state-dir": this.stateDir, source: source.kind,
      "keepalived-conf": conf, netns, "vip-interval": 2, "heartbeat-interval": 1, "log-level": "info",
    };
    // the lab's keepalived writes its pidfiles next to its keepalived.conf (-p / -r): the process watch follows them
    cfg.pidfile = path.join(path.dirname(conf), "keepalived.pid");
    cfg["vrrp-pidfile"] = path.join(path.dirname(conf), "vrrp.pid");
    if (source.kind === "file") cfg["log-file"] = source.logFile;
    else {
      cfg["journal-match"] = [source.journalMatch];
      cfg["journal-directory"] = source.journalDirectory;
    }
    fs.writeFileSync(this.configFile, JSON.stringify({ ...cfg, ...extra }, null, 2));
    onTeardown(`agent ${node}`, () => {
      if (this.running) killTree(this.child!.pid!);
    });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`agent ${this.node} is already running`);
    // only what the agent needs from the environment: no KAM_* of the test run leaks into its settings
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("KAM_")) delete env[k];
    const child = spawn(process.execPath, [AGENT_BUNDLE, "--config-file", this.configFile], { env, stdio: ["ignore", "pipe", "pipe"] });
    const sink = (b: Buffer) => {
      this.out += b.toString();
      if (this.out.length > 1_000_000) this.out = this.out.slice(-500_000);
    };
    child.stdout!.on("data", sink);
    child.stderr!.on("data", sink);
    this.child = child;
    this.exited = new Promise((r) => child.once("exit", () => r()));
  }

  /**
   * SIGKILL: the agent dies wherever it is (mid-read, mid-send), and with it its
   * helpers (journalctl -f, ip monitor), as systemd would kill the unit's group.
   * SIGTERM: the agent shuts down by itself.
   */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    let t: NodeJS.Timeout | null = null;
    if (this.running) {
      const pid = this.child!.pid!;
      if (signal === "SIGKILL") killTree(pid);
      else {
        this.child!.kill("SIGTERM");
        t = setTimeout(() => killTree(pid), 5000);
      }
    }
    await this.exited;
    if (t) clearTimeout(t);
  }

  output(): string {
    return this.out;
  }
}
