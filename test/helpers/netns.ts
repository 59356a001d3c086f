/**
 * Network namespaces as stand-ins for nodes' address tables: a namespace with
 * an interface whose addresses the real agent probes with `ip -n NS`.
 * Lab addresses (198.18.0.0/24) exist only inside these namespaces.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export function canUseNetns(): string | null {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "iproute2 (`ip`) is not installed";
  }
  const probe = `kamprobe-${randomBytes(3).toString("hex")}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
    execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" });
  } catch (e) {
    return `cannot create a network namespace here: ${(e as Error).message.split("\n")[0]}`;
  }
  return null;
}

export interface Netns {
  name: string;
  addAddress(cidr: string): void;
  delAddress(cidr: string): void;
  destroy(): void;
}

export function createNetns(prefix: string, ifaceAddress: string): Netns {
  if (!ifaceAddress.startsWith("198.18.0.")) throw new Error("lab addresses must come from 198.18.0.0/24");
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
  ip("netns", "add", name);
  try {
    // a veth pair with both ends inside (this kernel has no dummy driver)
    ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p");
    ip("-n", name, "link", "set", "eth0", "up");
    ip("-n", name, "link", "set", "eth0p", "up");
    ip("-n", name, "addr", "add", ifaceAddress, "dev", "eth0");
  } catch (e) {
    ip("netns", "del", name);
    throw e;
  }
  return {
    name,
    addAddress: (cidr) => void ip("-n", name, "addr", "add", cidr, "dev", "eth0"),
    delAddress: (cidr) => void ip("-n", name, "addr", "del", cidr, "dev", "eth0"),
    destroy() {
      try {
        ip("netns", "del", name);
      } catch {
        /* already gone */
      }
    },
  };
}
