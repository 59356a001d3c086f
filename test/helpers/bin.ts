import { execFileSync } from "node:child_process";

/** Whether `bin` is a command on the PATH (`command -v`). */
export function hasBinary(bin: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
