/**
 * Detection latency: time from the ingest of the deciding event to the
 * incident being pushed to a connected browser client (/live socket), on the
 * real server and database.
 * - FAULT: deciding event = the "Entering FAULT STATE" line; no grace.
 * - DUAL_MASTER: deciding event = the second node's "Entering MASTER STATE";
 *   the incident may only open after the grace (1.5 x advert_int = 1500 ms),
 *   so the figure reported is the latency beyond the grace.
 * Prints median, p95 and max per kind and writes bench-results/detection-latency.json.
 */
import fs from "node:fs";
import path from "node:path";
import { io } from "socket.io-client";
import type { IncidentMsg } from "../server/protocol";
import { startTestServer, ROOT } from "../test/helpers/server";
import { connectFakeAgent, instance, type FakeAgent } from "../test/helpers/fake-agent";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const GRACE_MS = 1500;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export async function benchDetectionLatency() {
  const srv = await startTestServer();
  const live = io(`${srv.url}/live`, { transports: ["websocket"] });
  const waiters: ((m: { change: string; incident: IncidentMsg }) => void)[] = [];
  live.on("incident", (m: { change: string; incident: IncidentMsg }) => waiters.forEach((w) => w(m)));
  await new Promise<void>((r) => live.once("connect", () => r()));
  await live.timeout(5000).emitWithAck("subscribe", { clusters: ["*"] });
  const waitFor = (pred: (m: { change: string; incident: IncidentMsg }) => boolean) =>
    new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no incident within 10 s")), 10_000);
      const w = (m: { change: string; incident: IncidentMsg }) => {
        if (!pred(m)) return;
        clearTimeout(t);
        waiters.splice(waiters.indexOf(w), 1);
        resolve(performance.now());
      };
      waiters.push(w);
    });

  const agents: FakeAgent[] = [];
  const fault: number[] = [];
  const dual: number[] = [];
  try {
    const token = await srv.token("bench");
    const vrids = Array.from({ length: ROUNDS }, (_, i) => 10 + i);
    for (const node of ["a", "b"]) {
      const fa = await connectFakeAgent(srv.url, token, node);
      agents.push(fa);
      await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: node.repeat(64).slice(0, 64).replace(/[^0-9a-f]/g, "0"),
        routerId: node, netNamespace: null, errors: [], instances: vrids.map((v) => instance({ name: `VI_${v}`, vrid: v, vips: [`198.18.0.${v}/32`] })) }]);
      await fa.log(...vrids.map((v) => `(VI_${v}) Entering BACKUP STATE (init)`));
    }
    const [a, b] = agents;
    for (const v of vrids) {
      // DUAL_MASTER: a MASTER, then b MASTER too (the deciding event)
      await a.log(`(VI_${v}) Entering MASTER STATE`);
      const got = waitFor((m) => m.change === "opened" && m.incident.kind === "DUAL_MASTER" && m.incident.vrid === v);
      const t0 = performance.now();
      await b.log(`(VI_${v}) Entering MASTER STATE`);
      dual.push((await got) - t0 - GRACE_MS);
      await b.log(`(VI_${v}) Entering BACKUP STATE`);
      // FAULT on a
      const gotF = waitFor((m) => m.change === "opened" && m.incident.kind === "FAULT" && m.incident.vrid === v);
      const t1 = performance.now();
      await a.log("Netlink reports eth0 down", `(VI_${v}) Entering FAULT STATE`);
      fault.push((await gotF) - t1);
      await a.log(`(VI_${v}) Entering BACKUP STATE`);
    }
  } finally {
    for (const fa of agents) fa.close();
    live.close();
    await srv.close();
  }
  const row = (name: string, xs: number[], target: number) => ({
    name, n: xs.length, median: pct(xs, 50), p95: pct(xs, 95), max: Math.max(...xs), target, met: pct(xs, 95) <= target,
  });
  return [row("FAULT: line ingested -> incident pushed (ms)", fault, 100), row("DUAL_MASTER: beyond the 1.5 s grace (ms)", dual, 100)];
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(ROOT, "bench/detection-latency.ts")) {
  const rows = await benchDetectionLatency();
  for (const r of rows) {
    console.log(`${r.name.padEnd(48)} n=${r.n}  median ${r.median.toFixed(1)}  p95 ${r.p95.toFixed(1)}  max ${r.max.toFixed(1)}  target <= ${r.target}: ${r.met ? "met" : "NOT met"}`);
  }
  fs.mkdirSync(path.join(ROOT, "bench-results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "bench-results/detection-latency.json"), JSON.stringify({ at: new Date().toISOString(), rows }, null, 2));
}
