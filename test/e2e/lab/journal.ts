/**
 * One private systemd-journald for the lab (test/helpers/journald.ts: its own
 * journal namespace, sockets and files; the system journal is not touched).
 * Each journal-source host logs with its own syslog facility (`keepalived -S
 * N` -> SYSLOG_FACILITY=16+N), which is the agent's per-host journal match.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { startPrivateJournald, type PrivateJournald } from "../../helpers/journald";
import { onTeardown } from "./reaper";

export interface LabJournal {
  journald: PrivateJournald;
  /** the agent's --journal-match for a host logging with `-S facility` */
  match(facility: number): string;
  /** MESSAGE and cursor of every entry of that facility, oldest first */
  entries(facility: number): { cursor: string; message: string }[];
  stop(): Promise<void>;
}

/** kill a journald namespace instance without waiting (exit-time teardown) */
function killJournaldSync(namespace: string): void {
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (/systemd-journald$/.test(argv[0]) && argv[1] === namespace) process.kill(Number(pid), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  let machineId = "";
  try {
    machineId = fs.readFileSync("/etc/machine-id", "utf8").trim();
  } catch {
    /* then only the socket directory */
  }
  const dirs = [`/run/systemd/journal.${namespace}`];
  if (machineId) dirs.push(`/var/log/journal/${machineId}.${namespace}`, `/run/log/journal/${machineId}.${namespace}`);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}

export async function startLabJournal(): Promise<LabJournal> {
  const j = await startPrivateJournald();
  if ("unavailable" in j) throw new Error(`private journald: ${j.unavailable}`);
  const teardown = onTeardown(`journald ${j.namespace}`, () => killJournaldSync(j.namespace));
  return {
    journald: j,
    match: (facility) => `SYSLOG_FACILITY=${16 + facility}`,
    entries(facility) {
      const out = execFileSync("journalctl", ["--directory", j.journalDir, "-o", "json", "--all", "--no-pager", `SYSLOG_FACILITY=${16 + facility}`], {
        maxBuffer: 64 * 1024 * 1024,
      }).toString();
      return out.split("\n").filter(Boolean).map((l) => {
        const e = JSON.parse(l) as { __CURSOR: string; MESSAGE: string };
        return { cursor: e.__CURSOR, message: e.MESSAGE };
      });
    },
    async stop() {
      teardown();
      await j.stop();
    },
  };
}
