/**
 * The server's own downtime never reads as agent silence, live or replayed, against the REAL server and
 * database: agents alive when the server stopped get the offline limit from its start (docs/DETECTION.md,
 * AGENT_OFFLINE). The start is stored (server_start) and replayed with the rest of the history, so a
 * second restart, whose restore replays the first one's downtime, raises nothing either. Before the
 * start was a stored fact, that replay counted the first downtime as silence and stored AGENT_OFFLINE
 * incidents nobody had seen live (the truth lab, seed 302).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { IncidentMsg } from "../../server/protocol";
import { startTestServer, type TestServer, queryDb } from "../helpers/server";
import { connectFakeAgent, type FakeAgent } from "../helpers/fake-agent";
import { sleep, waitFor } from "../helpers/wait";

const OFFLINE_S = 6;
const NODES = ["n1", "n2"];
let srv: TestServer;
const tokens: Record<string, string> = {};
let agents: FakeAgent[] = [];

const connectAll = async () => {
  agents = await Promise.all(NODES.map((n) => connectFakeAgent(srv.url, tokens[n], n, 1000)));
};
/**
 * the agents' sockets die with the server (no reconnection in the fake agent). The server stays down DOWN_MS:
 * the agents' silence must outlast the limit whatever its start takes (the compiled server starts in 1.4 s on
 * a quiet machine, which left them silent for less than the limit: CI, session 31)
 */
const DOWN_MS = 2500;
const restartServer = async () => {
  const stopped = Date.now();
  await srv.kill("SIGTERM");
  await sleep(DOWN_MS);
  await srv.restart();
  for (const a of agents) a.close();
  return Date.now() - stopped;
};

before(async () => {
  srv = await startTestServer({ env: { KAM_AGENT_OFFLINE_SECONDS: String(OFFLINE_S) } });
  for (const n of NODES) tokens[n] = await srv.token("restarts", n);
});
after(async () => {
  for (const a of agents) a.close();
  await srv?.close();
});

describe("the server's downtime and AGENT_OFFLINE", () => {
  it("two restarts, agents back within the limit after each start: no AGENT_OFFLINE, live or in the restore's replay", { timeout: 180_000 }, async () => {
    await connectAll();
    await sleep(3000);
    const down1 = await restartServer();
    // back OFFLINE_S - 2 s after the start: more than OFFLINE_S after they were last heard (the restart took down1 ms)
    await sleep((OFFLINE_S - 2) * 1000);
    await connectAll();
    assert.ok(down1 + (OFFLINE_S - 2) * 1000 > OFFLINE_S * 1000, `the agents were silent longer than the limit (${down1} ms down)`);
    await sleep(3000);
    // the second start replays the first downtime from storage
    await restartServer();
    await connectAll();
    await sleep(2000);
    const starts = await queryDb<{ n: string }>(srv, "SELECT count(*)::text AS n FROM server_start");
    assert.equal(Number(starts[0].n), 3, "every start is stored");
    const res = await fetch(`${srv.url}/api/incidents?cluster=restarts&kind=AGENT_OFFLINE`);
    assert.equal(res.status, 200);
    const offline = (await res.json()) as IncidentMsg[];
    assert.deepEqual(offline.map((i) => [i.nodes, i.openedAt, i.closedAt]), []);
  });

  it("an agent that does not come back within the limit after the start is offline, dated from when it was last heard", { timeout: 120_000 }, async () => {
    await restartServer();
    agents = [await connectFakeAgent(srv.url, tokens.n1, "n1", 1000)];
    const listening = Date.now();
    // the limit from the start, plus the detection's lag behind the wall clock (a few seconds)
    const offline = await waitFor("AGENT_OFFLINE of n2", async () => {
      const list = (await (await fetch(`${srv.url}/api/incidents?cluster=restarts&kind=AGENT_OFFLINE`)).json()) as IncidentMsg[];
      return list.length > 0 ? list : null;
    }, (OFFLINE_S + 15) * 1000, 250);
    const took = Date.now() - listening;
    // the server's --agent-offline-seconds is the engines' limit too (it was 15 s whatever the setting)
    assert.ok(took >= (OFFLINE_S - 1) * 1000 && took <= (OFFLINE_S + 3) * 1000, `AGENT_OFFLINE ${took} ms after the start (limit ${OFFLINE_S} s)`);
    assert.deepEqual(offline.map((i) => [i.nodes, i.closedAt]), [[["n2"], null]]);
  });
});
