/**
 * A PRIVATE systemd-journald for tests: the system journal is never touched.
 *
 * systemd-journald accepts a journal namespace as its argument
 * (`systemd-journald <namespace>`, systemd 245+; it is what
 * systemd-journald@.service runs). That instance listens on its own sockets
 * under /run/systemd/journal.<namespace>/ and writes its own files to
 * /var/log/journal/<machine-id>.<namespace> (or /run/log/journal/... without
 * persistent storage). We start one with a random namespace name, write to it
 * with `logger --socket`, read it with `journalctl --directory`, and on stop()
 * kill only that process and delete only its directories.
 *
 * Needs root (journald creates its sockets and directories), the journald
 * binary and util-linux `logger`; `startPrivateJournald` says which is missing.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { waitFor } from "./wait";
import { hasBinary } from "./bin";

const BINARIES = ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"];

export interface PrivateJournald {
  namespace: string;
  /** the directory holding its journal files: pass it to `journalctl --directory` */
  journalDir: string;
  /** its syslog socket (what /dev/log is for the system journal) */
  syslogSocket: string;
  /**
   * log one line through the syslog socket, like keepalived does (ident[pid]: message).
   * `as.comm`: the sending process's name as journald records it (_COMM, from the kernel, not the message):
   * the line is sent by a copy of `logger` under that name, e.g. "keepalived" for keepalived's own lines;
   * `as.uid`: send it as that user (_UID), e.g. 65534 for an unprivileged local process. Default: `logger` as root.
   */
  log(ident: string, pid: number, message: string, priority?: string, as?: { comm?: string; uid?: number }): void;
  stop(): Promise<void>;
}

/** Start a private journald, or say why it cannot run here. */
export async function startPrivateJournald(): Promise<PrivateJournald | { unavailable: string }> {
  if (process.getuid?.() !== 0) return { unavailable: "a private systemd-journald needs root" };
  const bin = BINARIES.find((b) => fs.existsSync(b));
  if (!bin) return { unavailable: `systemd-journald not found (looked at ${BINARIES.join(", ")}): apt-get install systemd` };
  if (!hasBinary("logger")) return { unavailable: "util-linux `logger` is missing: apt-get install bsdutils" };
  if (!hasBinary("journalctl")) return { unavailable: "journalctl is missing: apt-get install systemd" };
  let machineId: string;
  try {
    machineId = fs.readFileSync("/etc/machine-id", "utf8").trim();
  } catch {
    return { unavailable: "/etc/machine-id is missing (journald names its directory after it): run systemd-machine-id-setup" };
  }
  const namespace = `kamt${randomBytes(5).toString("hex")}`;
  const runDir = `/run/systemd/journal.${namespace}`;
  const dirs = [`/var/log/journal/${machineId}.${namespace}`, `/run/log/journal/${machineId}.${namespace}`];
  const child: ChildProcess = spawn(bin, [namespace], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  const gone = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  child.once("error", (e) => ((stderr += e.message), (exited = true)));
  const cleanup = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await gone;
      clearTimeout(t);
    }
    for (const d of [runDir, ...dirs]) fs.rmSync(d, { recursive: true, force: true });
  };
  const syslogSocket = path.join(runDir, "dev-log");
  // not up within 5 s: the caller is told why (its test is skipped with that reason), never left waiting
  const ready = await waitFor(`systemd-journald ${namespace} to create its socket and journal directory`, () => exited || (fs.existsSync(syslogSocket) && dirs.some((d) => fs.existsSync(d))), 5000, 20).then(
    () => true,
    () => false,
  );
  if (!ready || exited) {
    await cleanup();
    return { unavailable: `systemd-journald ${namespace} did not start: ${stderr.trim().slice(0, 300) || "no socket after 5 s"}` };
  }
  const journalDir = dirs.find((d) => fs.existsSync(d))!;
  const loggerPath = execFileSync("sh", ["-c", "command -v logger"]).toString().trim();
  // copies of logger named as another process would be (its _COMM), readable by any uid
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-journald-bin-"));
  fs.chmodSync(binDir, 0o755);
  const renamed = (comm: string) => {
    const p = path.join(binDir, comm);
    if (!fs.existsSync(p)) {
      fs.copyFileSync(loggerPath, p);
      fs.chmodSync(p, 0o755);
    }
    return p;
  };
  const stop = async () => {
    await cleanup();
    fs.rmSync(binDir, { recursive: true, force: true });
  };
  return {
    namespace,
    journalDir,
    syslogSocket,
    log(ident, pid, message, priority = "local1.info", as = {}) {
      execFileSync(as.comm ? renamed(as.comm) : "logger", ["--socket", syslogSocket, "--socket-errors=on", "-t", ident, `--id=${pid}`, "-p", priority, "--", message], {
        ...(as.uid !== undefined ? { uid: as.uid, gid: as.uid } : {}),
      });
    },
    stop,
  };
}
