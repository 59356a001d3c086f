/**
 * Real keepalived (Debian's 2.2.7) inside a lab host's network namespace, in
 * the foreground with its own pid files, and how it logs:
 *  - "file": `-l -G`, stdout/stderr appended to the host's keepalived.log
 *    (the console format `Mon Nov 23 18:53:53 2026: ...` the agent's file
 *    source follows);
 *  - "journal": `-S <facility>` through syslog into a PRIVATE journald. glibc
 *    logs to /dev/log, which is the machine's file system even inside a
 *    network namespace, so keepalived runs in its own mount namespace where an
 *    overlay on /dev adds /dev/log -> the private journald's socket. Nothing
 *    changes on the machine's /dev, and it disappears with the process.
 * A vrrp_script checks a file in the host's directory (setHealthy), so a
 * failing health check is one unlink away.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { LabHostNet } from "./net";
import { alive, killNetnsProcesses, netnsPidsNamed, onTeardown } from "./reaper";

const KEEPALIVED = /^keepalived/;

export const VIP = "198.18.0.100";

export interface VrrpSpec {
  instance: string;
  vrid: number;
  priority: number;
  state: "MASTER" | "BACKUP";
  advertInt: number;
  authPass: string;
  /** track the health-check script (weight -60) */
  track: boolean;
}

export const DEFAULT_SPEC: Omit<VrrpSpec, "priority"> = {
  instance: "VI_1", vrid: 51, state: "BACKUP", advertInt: 1, authPass: "s3cret", track: true,
};

export type LogTarget = { kind: "file" } | { kind: "journal"; socket: string; facility: number };

export function renderConfig(router: string, spec: VrrpSpec, healthyFile: string): string {
  const script = spec.track
    ? `vrrp_script chk_app {\n  script "/usr/bin/test -f ${healthyFile}"\n  interval 1\n  fall 1\n  rise 1\n  weight -60\n}\n`
    : "";
  return `global_defs {
  router_id ${router}
  script_user root
  enable_script_security
}
${script}vrrp_instance ${spec.instance} {
  state ${spec.state}
  interface eth0
  virtual_router_id ${spec.vrid}
  priority ${spec.priority}
  advert_int ${spec.advertInt}
  authentication {
    auth_type PASS
    auth_pass ${spec.authPass}
  }
  virtual_ipaddress {
    ${VIP}/24 dev eth0
  }
${spec.track ? "  track_script {\n    chk_app\n  }\n" : ""}}
`;
}

/** extras for other labs (the truth lab): environment of keepalived (KA_TMP_DIR/TMPDIR for its JSON dump) */
export interface KeepalivedOptions {
  env?: Record<string, string>;
}

export class Keepalived {
  readonly conf: string;
  readonly logFile: string;
  readonly healthyFile: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  spec: VrrpSpec;

  constructor(readonly host: LabHostNet, readonly dir: string, spec: VrrpSpec, readonly log: LogTarget, readonly opts: KeepalivedOptions = {}) {
    this.conf = path.join(dir, "keepalived.conf");
    this.logFile = path.join(dir, log.kind === "file" ? "keepalived.log" : "keepalived.stdout");
    this.healthyFile = path.join(dir, "healthy");
    this.spec = spec;
    fs.writeFileSync(this.logFile, "");
    this.setHealthy(true);
    this.writeConfig(spec);
    onTeardown(`keepalived in ${host.ns}`, () => killNetnsProcesses(host.ns, "SIGKILL", KEEPALIVED));
  }

  writeConfig(spec: VrrpSpec): void {
    this.spec = spec;
    const tmp = `${this.conf}.tmp`;
    fs.writeFileSync(tmp, renderConfig(this.host.name, spec, this.healthyFile));
    fs.renameSync(tmp, this.conf);
  }

  /** write a configuration given as text (labs that render their own keepalived.conf) */
  writeText(text: string): void {
    const tmp = `${this.conf}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, this.conf);
  }

  /** the running keepalived's parent pid from its pid file (null when not running) */
  mainPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dir, "keepalived.pid"), "utf8").trim());
      return pid > 0 && alive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** SIGHUP: keepalived reloads its configuration */
  reload(): void {
    const pid = this.mainPid();
    if (pid === null) throw new Error(`keepalived on ${this.host.name} is not running: nothing to reload`);
    process.kill(pid, "SIGHUP");
  }

  setHealthy(ok: boolean): void {
    if (ok) fs.writeFileSync(this.healthyFile, "ok\n");
    else fs.rmSync(this.healthyFile, { force: true });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | null {
    return this.running ? this.child!.pid ?? null : null;
  }

  start(): void {
    if (this.running) throw new Error(`keepalived on ${this.host.name} is already running`);
    const d = this.dir;
    const pidArgs = ["-f", this.conf, "-p", path.join(d, "keepalived.pid"), "-r", path.join(d, "vrrp.pid"), "-c", path.join(d, "checkers.pid")];
    const out = fs.openSync(this.logFile, "a");
    const env = { ...process.env, ...this.opts.env };
    let child: ChildProcess;
    if (this.log.kind === "file") {
      child = spawn("ip", ["netns", "exec", this.host.ns, "keepalived", "-n", "-l", "-D", "-G", ...pidArgs], { env, stdio: ["ignore", out, out] });
    } else {
      const mnt = path.join(d, "devlog-overlay");
      fs.mkdirSync(mnt, { recursive: true });
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const script = [
        `mount -t tmpfs tmpfs ${q(mnt)}`,
        `mkdir ${q(`${mnt}/u`)} ${q(`${mnt}/w`)}`,
        `mount -t overlay overlay -o ${q(`lowerdir=/dev,upperdir=${mnt}/u,workdir=${mnt}/w`)} /dev`,
        `ln -sfn ${q(this.log.socket)} /dev/log`, // -f: a machine running journald has /dev/log in the lower /dev
        `exec ip netns exec ${q(this.host.ns)} keepalived -n -D -S ${this.log.facility} ${pidArgs.map(q).join(" ")}`,
      ].join(" && ");
      child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], { env, stdio: ["ignore", out, out] });
    }
    fs.closeSync(out);
    this.child = child;
    this.exited = new Promise((r) => child.once("exit", () => r()));
    child.once("error", () => undefined);
  }

  /** SIGTERM: keepalived stops cleanly (sends priority 0, releases the VIP, logs Stopped) */
  async stop(): Promise<void> {
    if (this.running) {
      this.child!.kill("SIGTERM");
      const t = setTimeout(() => killNetnsProcesses(this.host.ns, "SIGKILL", KEEPALIVED), 10_000);
      await this.exited;
      clearTimeout(t);
    }
    await this.settle();
  }

  /** SIGKILL every keepalived process of the host: a crash (nothing logged, the VIP stays behind) */
  async kill(): Promise<void> {
    killNetnsProcesses(this.host.ns, "SIGKILL", KEEPALIVED);
    await this.exited;
    await this.settle();
  }

  async restart(spec?: VrrpSpec): Promise<void> {
    await this.stop();
    if (spec) this.writeConfig(spec);
    this.start();
  }

  /** wait until no keepalived process is left in the namespace (its children exit after the parent) */
  private async settle(): Promise<void> {
    const end = Date.now() + 5000;
    while (Date.now() < end && netnsPidsNamed(this.host.ns, KEEPALIVED).some(alive)) await new Promise((r) => setTimeout(r, 50));
  }

  /** the lines keepalived wrote to its log file (file mode) */
  lines(): string[] {
    return fs.readFileSync(this.logFile, "utf8").split("\n").filter((l) => l.length > 0);
  }
}
