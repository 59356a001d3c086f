/**
 * A process tree that looks like keepalived to the agent's process watch: a
 * shell script named `keepalived` (a script's comm is its file name) that
 * starts a child of the same name, optionally writes keepalived.pid and
 * vrrp.pid in its directory like `keepalived -p -r`, and on SIGTERM ends its
 * child, then itself (a graceful stop). Cheap enough to start and kill often.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseStat } from "../../agent/process-watch";

/** start it inside network namespace `ns` (ip netns exec execs the script: the pid is the script's) */
export function fakeKeepalived(dir: string, ns: string, pidfiles: boolean): ChildProcess {
  fs.mkdirSync(dir, { recursive: true });
  const script = path.join(dir, "keepalived");
  fs.writeFileSync(
    script,
    `#!/bin/sh
if [ "$1" = child ]; then trap 'exit 0' TERM; while :; do sleep 0.2; done; fi
"$0" child &
${pidfiles ? `echo $! > '${dir}/vrrp.pid'; echo $$ > '${dir}/keepalived.pid'` : ""}
trap 'kill $!; exit 0' TERM
while :; do sleep 0.2; done
`,
    { mode: 0o755 },
  );
  return spawn("ip", ["netns", "exec", ns, script], { stdio: "ignore" });
}

/** pid's child named keepalived (0: none yet) */
export function keepalivedChildOf(pid: number): number {
  let kids: number[];
  try {
    kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
  } catch {
    return 0;
  }
  for (const k of kids) {
    try {
      if (parseStat(fs.readFileSync(`/proc/${k}/stat`, "latin1"))?.comm === "keepalived") return k;
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}
