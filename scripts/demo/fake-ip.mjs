#!/usr/bin/env node
// Stand-in for iproute2's `ip` in `npm run demo` ONLY: the simulated nodes are
// not real hosts, so the real agent's VIP probe is pointed at this script
// (agent option --ip). It answers the two commands the agent runs:
//   ip [-n NS] -j addr show      prints the node's addresses.json
//   ip [-n NS] monitor address   prints a line whenever that file changes
// The node directory comes from the environment (KAM_DEMO_NODE_DIR).
import fs from "node:fs";
import path from "node:path";

const dir = process.env.KAM_DEMO_NODE_DIR;
if (!dir) {
  console.error("fake-ip: KAM_DEMO_NODE_DIR is not set (this script is for npm run demo only)");
  process.exit(2);
}
const file = path.join(dir, "addresses.json");
const args = process.argv.slice(2);
if (args.includes("monitor")) {
  let last = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  setInterval(() => {
    const now = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (now !== last) {
      last = now;
      process.stdout.write(`2: eth0    inet (changed)\n`);
    }
  }, 100);
} else {
  process.stdout.write(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "[]");
}
