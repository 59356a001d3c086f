/**
 * Issue 13 (agents and replicas): the REAL agent given several servers
 * (`--server a,b`) moves to the next one after two failed connection attempts,
 * round robin, and comes back; every line it read is stored exactly once on
 * the way. The second "replica" is a closed loopback port: what matters here is
 * the agent's side (a second real server would need a database of its own).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { startTestServer, type TestServer, queryDb } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { startFileAgent } from "../helpers/agent";
import { waitFor } from "../helpers/wait";

/** nothing listens on the discard port of loopback: connections are refused at once */
const DEAD = "http://127.0.0.1:9";

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv?.close();
});

const line = (tag: string, i: number) => `Fri Dec  4 12:00:00 2026: Keepalived_vrrp[4242]: (VI_1) ${tag} line ${i}\n`;

async function stored(node: string): Promise<{ n: number; d: number }> {
  const [r] = await queryDb<{ n: number; d: number }>(srv,
    `SELECT count(*)::int AS n, count(DISTINCT l.line)::int AS d FROM log_record l JOIN node n ON n.id = l.node_id WHERE n.name = $1`, [node]);
  return r;
}

describe(`agent with several servers (${testDbKind()})`, () => {
  it("skips a server it cannot reach and connects to the next", { timeout: 60_000 }, async (t) => {
    const token = await srv.token("failover", "fo1");
    const { agent, log } = startFileAgent(t, { server: `${DEAD},${srv.url}`, token, node: "fo1", args: ["--pidfile", "none"] });
    await waitFor("connected to the second server", () => new RegExp(`"server":"${srv.url}"[^\\n]*connected to the server`).test(agent.output()), 30_000)
      .catch((e) => assert.fail(`${(e as Error).message}\n${agent.output().slice(-2000)}`));
    assert.match(agent.output(), new RegExp(`"from":"${DEAD}","to":"${srv.url}"[^\\n]*server unreachable: trying the next one of --server`));
    fs.appendFileSync(log, Array.from({ length: 50 }, (_, i) => line("fo1", i)).join(""));
    await waitFor("50 lines stored", async () => (await stored("fo1")).n >= 50, 30_000);
    assert.deepEqual(await stored("fo1"), { n: 50, d: 50 });
  });

  it("leaves a server that went away, tries the others in turn, and is back when it returns: every line once", { timeout: 90_000 }, async (t) => {
    const token = await srv.token("failover", "fo2");
    const { agent, log } = startFileAgent(t, { server: `${srv.url},${DEAD}`, token, node: "fo2", args: ["--pidfile", "none"] });
    await waitFor("connected to the first server", () => /connected to the server/.test(agent.output()), 30_000);
    fs.appendFileSync(log, Array.from({ length: 20 }, (_, i) => line("before", i)).join(""));
    await waitFor("20 lines stored", async () => (await stored("fo2")).n >= 20, 30_000);
    await srv.kill("SIGKILL");
    fs.appendFileSync(log, Array.from({ length: 30 }, (_, i) => line("during", i)).join(""));
    await waitFor("moved on to the second server", () => new RegExp(`"from":"${srv.url}","to":"${DEAD}"`).test(agent.output()), 30_000)
      .catch((e) => assert.fail(`${(e as Error).message}\n${agent.output().slice(-2000)}`));
    await srv.restart();
    await waitFor("back on the first server", () => new RegExp(`"from":"${DEAD}","to":"${srv.url}"`).test(agent.output()), 60_000)
      .catch((e) => assert.fail(`${(e as Error).message}\n${agent.output().slice(-2000)}`));
    await waitFor("50 lines stored", async () => (await stored("fo2")).n >= 50, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await stored("fo2"), { n: 50, d: 50 }, "every line exactly once across the failovers");
  });
});
