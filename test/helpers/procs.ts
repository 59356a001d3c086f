/** Processes seen from /proc, for tests of what a command leaves running (agent helpers, the started server). */
import fs from "node:fs";

/** processes below `pid` (children, their children...) with their command lines; one that ends meanwhile is left out */
export function descendants(pid: number): Array<{ pid: number; cmd: string }> {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ")"
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const [p] of parent) {
    for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) {
      if (q === pid) {
        try {
          out.push({ pid: p, cmd: fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim() });
        } catch {
          // gone
        }
        break;
      }
    }
  }
  return out;
}

/** whether a process with this pid exists (signal 0); an error other than "no such process" is thrown */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}
