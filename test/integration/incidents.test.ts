/**
 * Detection wired into the real server: incidents pushed live to a browser
 * socket, served by /api/incidents, counted in /metrics, and notified to a
 * webhook receiver on loopback (open and resolve), but not during a
 * maintenance window.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { io, type Socket } from "socket.io-client";
import type { IncidentMsg } from "../../server/protocol";
import { startTestServer, ROOT, type TestServer } from "../helpers/server";
import { backupPair, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/replicas";
import { testDbKind } from "../helpers/db";
import { fetchChecked } from "../helpers/api-schema";

const run = promisify(execFile);
let srv: TestServer;
let hook: WebhookReceiver<{ event: string; incident: IncidentMsg }>;
let hookUrl = "";
let received: { event: string; incident: IncidentMsg }[] = [];
const agents: FakeAgent[] = [];
let live: Socket;
const pushed: { change: string; incident: IncidentMsg }[] = [];

function admin(...args: string[]) {
  return run(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/admin.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: srv.db.databaseUrl, KAM_DATA_DIR: srv.db.dataDir },
  });
}

async function twoNodes(cluster: string): Promise<[FakeAgent, FakeAgent]> {
  const pair = await backupPair(srv.url, await srv.token(cluster));
  agents.push(...pair);
  return pair;
}

before(async () => {
  hook = await startWebhookReceiver();
  hookUrl = hook.url;
  received = hook.received;
  srv = await startTestServer();
  live = io(`${srv.url}/live`, { transports: ["websocket"], forceNew: true, extraHeaders: { cookie: (await srv.session("viewer")).cookie } });
  live.on("incident", (m: { change: string; incident: IncidentMsg }) => pushed.push(m));
  await new Promise<void>((r) => live.once("connect", () => r()));
  await live.timeout(5000).emitWithAck("subscribe", { clusters: ["*"] });
});

after(async () => {
  for (const a of agents) a.close();
  live?.close();
  await srv?.close();
  await hook?.close();
});

describe(`incidents on the real server (${testDbKind()})`, () => {
  it("opens DUAL_MASTER past the grace period, pushes it live, notifies, and resolves it", { timeout: 60_000 }, async () => {
    const [a, b] = await twoNodes("split");
    await admin("webhook", "add", "--cluster", "split", "--url", hookUrl);
    await a.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
    await b.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
    const opened = await waitFor("DUAL_MASTER pushed live", () =>
      pushed.find((p) => p.incident.cluster === "split" && p.incident.kind === "DUAL_MASTER" && p.change === "opened"), 15_000);
    assert.equal(opened.incident.vrid, 51);
    assert.deepEqual([...opened.incident.nodes].sort(), ["a", "b"]);
    assert.ok(opened.incident.cause.evidence.some((e) => /Entering MASTER STATE/.test(e.line)), "state lines as evidence");

    const list = (await fetchChecked<IncidentMsg[]>(srv.url, "/api/incidents?cluster=split&open=true")).body;
    assert.equal(list.filter((i) => i.kind === "DUAL_MASTER").length, 1);
    const one = (await fetchChecked<IncidentMsg>(srv.url, `/api/incidents/${opened.incident.id}`)).body;
    assert.equal(one.kind, "DUAL_MASTER");
    const metrics = (await fetchChecked<string>(srv.url, "/metrics")).body;
    assert.match(metrics, /kam_open_incidents\{cluster="split",kind="DUAL_MASTER"\} 1/);
    assert.match(metrics, /kam_instance_state\{cluster="split",node="a",instance="VI_1",vrid="51",state="MASTER"\} 1/);

    await waitFor("webhook got the opening", () => received.find((r) => r.event === "opened" && r.incident.id === opened.incident.id));
    await b.log("(VI_1) Master received advert from 198.18.0.1 with higher priority 150, ours 100", "(VI_1) Entering BACKUP STATE");
    await waitFor("closed pushed live", () => pushed.find((p) => p.incident.id === opened.incident.id && p.change === "closed"), 15_000);
    await waitFor("webhook got the resolution", () => received.find((r) => r.event === "resolved" && r.incident.id === opened.incident.id));
  });

  it("records but does not notify an incident during a maintenance window", { timeout: 60_000 }, async () => {
    // the window before the nodes: two BACKUPs are a NO_MASTER 4 s later, sooner than two admin commands on a loaded machine
    const token = await srv.token("maint");
    await admin("webhook", "add", "--cluster", "maint", "--url", hookUrl);
    await admin("maintenance", "add", "--cluster", "maint", "--for", "1h", "--reason", "test");
    const pair = await backupPair(srv.url, token);
    agents.push(...pair);
    const [a] = pair;
    await a.log("Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
    const fault = await waitFor("FAULT pushed live", () =>
      pushed.find((p) => p.incident.cluster === "maint" && p.incident.kind === "FAULT"), 15_000);
    assert.equal(fault.incident.silenced, true);
    assert.equal(fault.incident.cause.code, "interface_down");
    await new Promise((r) => setTimeout(r, 2000)); // the notifier runs every 500 ms
    assert.equal(received.filter((r) => r.incident.cluster === "maint").length, 0, "nothing sent during maintenance");
  });

  it("answers a bad incident query with a typed error", async () => {
    const r = await fetchChecked<{ code: string }>(srv.url, "/api/incidents?kind=NOPE");
    assert.equal(r.status, 400);
    assert.equal(r.body.code, "invalid_message");
    const nf = await fetchChecked(srv.url, "/api/incidents/999999");
    assert.equal(nf.status, 404);
  });
});
