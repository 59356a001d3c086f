/** The agent's state directory: its id (created once) and a lock so two agents never share one outbox. */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ensureDir, fsyncDir } from "./outbox-files";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Read <dir>/agent-id, creating it (durably) on first start. */
export function loadAgentId(dir: string): string {
  ensureDir(dir);
  const file = path.join(dir, "agent-id");
  try {
    const id = fs.readFileSync(file, "utf8").trim();
    if (UUID_RE.test(id)) return id.toLowerCase();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const id = randomUUID();
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  fs.writeSync(fd, id + "\n");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(dir);
  return id;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Take <dir>/agent.lock (holding our pid). Returns a release function, or an
 * error message when another live agent holds it. A lock left by a dead
 * process is taken over.
 */
export function lockStateDir(dir: string): { release: () => void } | { error: string } {
  ensureDir(dir);
  const file = path.join(dir, "agent.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, "wx", 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return {
        release: () => {
          try {
            if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") return { error: `cannot create ${file}: ${(e as Error).message}` };
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        return { error: `another agent (pid ${pid}) uses the state directory ${dir} (--state-dir / KAM_STATE_DIR)` };
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  return { error: `cannot take the lock ${file}` };
}
