/**
 * The whole path on real parts: two REAL agent processes tail log files to
 * which the test appends the captured keepalived 2.2.7 output of a two-node
 * cluster (test/fixtures/keepalived-2.2.7/two-node-console); they probe VIPs
 * in network namespaces the test creates and read the nodes' keepalived.conf.
 * The real server stores into the real database. Checked: every line stored
 * exactly once, also when the server is SIGKILLed and restarted mid-stream,
 * and /api/clusters shows the states the logs end in and the VIP holder.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { ClusterSummary } from "../../server/protocol";
import { findRunningEmbedded } from "../../server/db/embedded";
import { startTestServer, ROOT, type TestServer } from "../helpers/server";
import { startAgent, type AgentProc } from "../helpers/agent";
import { waitFor } from "../helpers/wait";
import { canUseNetns, createNetns, type Netns } from "../helpers/netns";
import { testDbKind } from "../helpers/db";

const FIX = path.join(ROOT, "test/fixtures/keepalived-2.2.7/two-node-console");
const VIP_CIDR = "198.18.0.100/24";
/** both captured nodes shut down at 19:04:21-22: lines from then on are phase 2 */
const STOP_PREFIX = "Mon Nov 23 19:04:2";

const netnsProblem = canUseNetns();
const skipReason = netnsProblem && process.env.CI !== "true" ? netnsProblem : false;

interface NodeRig {
  name: string;
  ns: Netns;
  dir: string;
  log: string;
  lines: string[];
  agent?: AgentProc;
}

let srv: TestServer;
const rigs: NodeRig[] = [];
const cleanups: (() => void)[] = [];

async function storedCount(cluster: string): Promise<{ n: number; distinctOffsets: number }> {
  const url = srv.db.databaseUrl || findRunningEmbedded(srv.db.dataDir);
  if (!url) return { n: -1, distinctOffsets: -1 };
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT count(*)::int AS n, count(DISTINCT (l.node_id, l."offset"))::int AS d
       FROM log_record l JOIN cluster c ON c.id = l.cluster_id WHERE c.name = $1`,
      [cluster],
    );
    return { n: r.rows[0].n, distinctOffsets: r.rows[0].d };
  } finally {
    await c.end();
  }
}

async function clusters(): Promise<ClusterSummary[]> {
  const r = await fetch(`${srv.url}/api/clusters`);
  return (await r.json()) as ClusterSummary[];
}

function setupRigs(tag: string): NodeRig[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `kam-pipe-${tag}-`));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  return ["node1", "node2"].map((name, i) => {
    const ns = createNetns(`kamt${i + 1}`, `198.18.0.${i + 1}/24`);
    cleanups.push(() => ns.destroy());
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    // the captured configs used 192.0.2.x inside an older lab: the VIP becomes a 198.18.0.x address here
    const conf = fs.readFileSync(path.join(FIX, `${name}.conf`), "utf8").replaceAll("192.0.2.100/24", VIP_CIDR);
    fs.writeFileSync(path.join(dir, "keepalived.conf"), conf);
    const log = path.join(dir, "keepalived.log");
    fs.writeFileSync(log, "");
    const lines = fs.readFileSync(path.join(FIX, `${name}.log`), "utf8").split("\n").filter((l) => l.length > 0);
    return { name, ns, dir, log, lines };
  });
}

async function startAgents(rs: NodeRig[], token: string) {
  for (const r of rs) {
    r.agent = startAgent(
      ["--server", srv.url, "--node", r.name, "--state-dir", path.join(r.dir, "state"), "--source", "file", "--log-file", r.log,
        "--keepalived-conf", path.join(r.dir, "keepalived.conf"), "--netns", r.ns.name, "--vip-interval", "1", "--heartbeat-interval", "1"],
      { KAM_TOKEN: token },
    );
  }
  // a new agent follows a log file from its current end: append only once it does
  for (const r of rs) await waitFor(`${r.name} agent following its file`, () => /following log file/.test(r.agent!.output()));
}

/** append lines of both nodes in time order, a few at a time, as keepalived would write them */
async function append(rs: NodeRig[], pick: (line: string) => boolean, onHalf?: () => Promise<void>) {
  const queue: { rig: NodeRig; line: string }[] = [];
  for (const r of rs) {
    const take = r.lines.filter(pick);
    r.lines = r.lines.filter((l) => !pick(l));
    for (const line of take) queue.push({ rig: r, line });
  }
  queue.sort((a, b) => Date.parse(a.line.slice(0, 24)) - Date.parse(b.line.slice(0, 24)));
  const half = Math.floor(queue.length / 2);
  for (let i = 0; i < queue.length; i += 4) {
    if (onHalf && i >= half && i - 4 < half) await onHalf();
    for (const q of queue.slice(i, i + 4)) fs.appendFileSync(q.rig.log, q.line + "\n");
    await new Promise((r) => setTimeout(r, 15));
  }
  return queue.length;
}

async function waitStored(cluster: string, want: number, rs: NodeRig[]) {
  let got = -1;
  try {
    await waitFor(`${want} lines stored`, async () => (got = (await storedCount(cluster)).n) === want, 60_000);
  } catch (e) {
    const tails = rs.map((r) => `--- agent ${r.name}:\n${r.agent?.output().slice(-3000)}`).join("\n");
    throw new Error(`${(e as Error).message}: ${got} stored\n${tails}\n--- server:\n${srv.output().slice(-3000)}`);
  }
}

before(async () => {
  if (skipReason) return;
  if (netnsProblem) throw new Error(`${netnsProblem} (this test needs network namespaces; CI=true makes that a failure)`);
  srv = await startTestServer();
});

after(async () => {
  // SIGTERM: a clean stop (their `ip monitor` helpers end with them either way: agent/supervise.ts)
  for (const r of rigs) await r.agent?.stop("SIGTERM");
  for (const c of cleanups.reverse()) c();
  await srv?.close();
});

describe(`two-node fixture through real agents (${testDbKind()})`, { skip: skipReason }, () => {
  for (const kill of [false, true]) {
    it(
      kill
        ? "stores every line exactly once when the server is killed (SIGKILL) and restarted mid-stream"
        : "stores every line exactly once and shows the final states and the VIP holder",
      { timeout: 180_000 },
      async () => {
        const cluster = kill ? "fixture-restart" : "fixture";
        const token = await srv.token(cluster);
        const rs = setupRigs(kill ? "k" : "n");
        rigs.push(...rs);
        await startAgents(rs, token);
        const total = rs.reduce((n, r) => n + r.lines.length, 0);

        // phase 1: up to just before both nodes stop; node1 ends MASTER and holds the VIP
        let appended = await append(rs, (l) => !l.startsWith(STOP_PREFIX), kill
          ? async () => {
              await waitFor("some lines stored before the kill", async () => (await storedCount(cluster)).n > 10);
              await srv.kill("SIGKILL");
            }
          : undefined);
        if (kill) {
          await new Promise((r) => setTimeout(r, 1500)); // the agents keep reading into their outboxes meanwhile
          await srv.restart();
        }
        rs[0].ns.addAddress(VIP_CIDR);
        await waitStored(cluster, appended, rs);
        const mid = await waitFor("node1 MASTER holding the VIP, node2 BACKUP", async () => {
          const c = (await clusters()).find((x) => x.name === cluster);
          const [n1, n2] = c?.nodes ?? [];
          const ok = n1?.instances[0]?.state === "MASTER" && n2?.instances[0]?.state === "BACKUP" && n1.instances[0].vips[0]?.held;
          return ok ? c : null;
        });
        assert.deepEqual(
          mid.nodes.map((n) => [n.name, n.online, n.instances.map((i) => [i.name, i.vrid, i.state, i.vips])]),
          [
            ["node1", true, [["VI_1", 51, "MASTER", [{ address: "198.18.0.100", held: true }]]]],
            ["node2", true, [["VI_1", 51, "BACKUP", [{ address: "198.18.0.100", held: false }]]]],
          ],
        );

        // phase 2: the rest; both nodes stop and the VIP is released
        appended += await append(rs, () => true);
        rs[0].ns.delAddress(VIP_CIDR);
        assert.equal(appended, total);
        await waitStored(cluster, total, rs);
        const end = await waitFor("both nodes STOP, VIP held nowhere", async () => {
          const c = (await clusters()).find((x) => x.name === cluster);
          const ok = c?.nodes.every((n) => n.instances[0]?.state === "STOP" && !n.instances[0].vips[0].held);
          return ok ? c : null;
        });
        assert.equal(end.nodes.length, 2);
        // give a late duplicate the chance to show up, then compare counts exactly
        await new Promise((r) => setTimeout(r, 1500));
        const counts = await storedCount(cluster);
        assert.deepEqual(counts, { n: total, distinctOffsets: total }, "every line once: no loss, no duplicate");
      },
    );
  }
});
