/**
 * `npm run demo`: the server on a throwaway embedded database, plus a
 * simulated 3-node keepalived cluster watched by three REAL agents (the built
 * dist/keepalived-agent.cjs tailing the simulator's log files). It cycles
 * through a failover, a FAULT, a dual-MASTER and flapping, forever.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadServerConfig } from "../server/config";
import { createLogger } from "../server/log";
import { startServer } from "../server/main";
import { createToken } from "../server/ingest/tokens";
import { createUser } from "../server/auth/store";
import { randomBytes } from "node:crypto";
import { ROOT } from "../server/paths";
import { ensureBuild } from "./ensure-build.mjs";
import { ClusterSimulator, type SimNode } from "./demo/simulator";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (msg: string) => console.log(`[demo ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function main() {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  ensureBuild();
  const bundle = path.join(ROOT, "dist/keepalived-agent.cjs");
  if (!fs.existsSync(bundle)) {
    say("building the agent bundle...");
    const r = spawnSync(process.execPath, [path.join(ROOT, "agent/build.mjs")], { stdio: "inherit" });
    if (r.status !== 0) process.exit(1);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kam-demo-"));
  const config = loadServerConfig([], process.env, { dataDir: path.join(tmp, "db"), databaseUrl: "" });
  const log = createLogger(process.env.LOG_LEVEL ?? "warn");
  say(`starting the server on a throwaway embedded database (${tmp})...`);
  const srv = await startServer(config, log, { setupLink: false });
  // a throwaway admin for this demo database only (deleted with it)
  const demoPassword = randomBytes(12).toString("base64url");
  await createUser(srv.parts.app.db, "demo", "admin", demoPassword);
  const { token } = await createToken(srv.parts.app.db, "demo", "npm run demo");
  const sim = new ClusterSimulator(path.join(tmp, "nodes"));

  const agents: ChildProcess[] = sim.nodes.map((n) =>
    spawn(
      process.execPath,
      [bundle, "--server", `http://127.0.0.1:${srv.port}`, "--node", n.name, "--state-dir", path.join(n.dir, "agent-state"),
        "--source", "file", "--log-file", sim.logPath(n), "--keepalived-conf", path.join(n.dir, "keepalived.conf"),
        "--ip", path.join(ROOT, "scripts/demo/fake-ip.mjs"), "--vip-interval", "5", "--heartbeat-interval", "2", "--log-level", "warn"],
      { env: { ...process.env, KAM_TOKEN: token, KAM_DEMO_NODE_DIR: n.dir }, stdio: ["ignore", "inherit", "inherit"] },
    ),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping...");
    for (const a of agents) a.kill("SIGTERM");
    await srv.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());

  say(`dashboard: ${srv.url}  (Ctrl-C stops the demo and deletes its data)`);
  say(`sign in as user "demo" with password ${demoPassword}  (a throwaway admin of this demo database)`);
  const [lb1, lb2, lb3] = sim.nodes;
  for (const n of sim.nodes) sim.start(n);
  await sleep(3000);
  sim.becomeMaster(lb1);

  for (let round = 1; !stopping; round++) {
    say(`round ${round}: steady state, lb1 MASTER`);
    await sleep(15_000);

    say("failover: lb1's health check fails, lb2 takes the VIP");
    sim.scriptFails(lb1);
    await sleep(1500);
    sim.becomeMaster(lb2);
    sim.yieldTo(lb1, lb2);
    await sleep(10_000);
    say("lb1 recovers and preempts");
    sim.scriptRecovers(lb1);
    await sleep(1000);
    sim.preempt(lb1, lb2);
    await sleep(12_000);

    say("FAULT: lb2's eth0 goes down for 15 s");
    sim.linkDown(lb2);
    await sleep(15_000);
    sim.linkUp(lb2);
    await sleep(10_000);

    say("dual-MASTER: lb3 stops hearing adverts (VRRP blocked) for 20 s");
    sim.becomeMaster(lb3);
    await sleep(20_000);
    say("healed: lb3 hears lb1 again and steps down");
    sim.yieldTo(lb3, lb1);
    await sleep(12_000);

    say("flapping: lb1's health check toggles every 4 s for 32 s");
    for (let i = 0; i < 4 && !stopping; i++) {
      sim.scriptFails(lb1);
      await sleep(1000);
      sim.becomeMaster(lb2);
      sim.yieldTo(lb1, lb2);
      await sleep(3000);
      sim.scriptRecovers(lb1);
      await sleep(1000);
      sim.preempt(lb1, lb2);
      await sleep(3000);
    }
    void (lb3 satisfies SimNode);
  }
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exit(1);
});
