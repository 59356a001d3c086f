/**
 * Issue 13: THREE replicas on one PostgreSQL database behind a REAL nginx
 * (test/helpers/load-balancer.ts: round robin, no stickiness; every client on
 * the websocket transport only, as docs/LOAD-BALANCER.md says the agents and
 * the dashboard are). Real server processes, real socket.io clients, a real
 * headless Chromium; the PostgreSQL pass only (the embedded PGlite is one
 * process by design).
 *
 * - Agents of nodes a, b and c of one cluster connect THROUGH nginx: their
 *   batches are stored by at least two different replicas (each replica's own
 *   `kam_ingest_batches_total`, read directly from that replica).
 * - Three /live sockets THROUGH nginx (spread by round robin; which replica
 *   holds each is read from the replica that counts its one refused
 *   subscription) all see a MASTER, b and c BACKUP, then the split brain's
 *   DUAL_MASTER "opened" push, exactly once each, from whichever replica holds
 *   the cluster's detection lease (the others get it through socket.io's
 *   PostgreSQL adapter); exactly one DUAL_MASTER row is stored.
 * - The cluster's timeline page, opened in Chromium THROUGH nginx, shows a as
 *   MASTER and, without a reload, the DUAL MASTER incident band.
 * - Latencies (t.diagnostic): a's MASTER batch acknowledged -> each socket
 *   sees a MASTER; b's MASTER batch acknowledged -> each socket gets the
 *   DUAL_MASTER push, raw and minus the detection grace (docs/DETECTION.md:
 *   G = 1.5 x advert_int, 1.5 s for advert_int 1).
 *
 * The replicas serve the built web UI (.next): `npm test` builds it first
 * (scripts/test.mjs).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { io, type Socket } from "socket.io-client";
import type { Page } from "playwright-core";
import type { ClusterSummary, IncidentMsg } from "../../server/protocol";
import { DEFAULT_SETTINGS } from "../../server/detect/types";
import { metricOf, queryDb, type TestServer } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { startReplicas, teardown, type Replicas } from "../helpers/replicas";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import { nginxMissing, startNginx, type TestNginx } from "../helpers/load-balancer";
import { CHROMIUM_PATH, launchBrowser, screenshot, signIn, type BrowserHarness } from "../helpers/browser";
import { sleep, waitFor } from "../helpers/wait";
import { LEASE_POLL_MS } from "../../server/incidents/leases";

const CI = process.env.CI === "true" || process.env.CI === "1";
function skipReason(): string | false {
  if (testDbKind() !== "postgres") return "runs in the PostgreSQL pass: replicas share a PostgreSQL server";
  // under CI a missing nginx or Chromium is a failure (startNginx / launchBrowser say how to install them)
  const nginx = nginxMissing();
  if (nginx && !CI) return nginx;
  if (!fs.existsSync(CHROMIUM_PATH) && !CI) return `Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`;
  return false;
}
const skip = skipReason();

const CLUSTER = "lb";
/** agents added only when round robin did not spread a, b and c (a cluster of their own: the one under test keeps three nodes) */
const SPARE_CLUSTER = "lb-spare";
const REPLICAS = 3;
const MAX_AGENTS = 9;
const MAX_LIVE = 9;
const ADVERT_INT_S = 1;
/** DUAL_MASTER's grace for this cluster (no per-cluster settings): docs/DETECTION.md, G = 1.5 x advert_int */
const GRACE_MS = DEFAULT_SETTINGS.graceMs ?? DEFAULT_SETTINGS.graceAdverts * ADVERT_INT_S * 1000;

const servers: TestServer[] = [];
const agents: FakeAgent[] = [];
const sockets: Socket[] = [];
let replicas: Replicas | null = null;
let lb: TestNginx | null = null;
let chromium: BrowserHarness | null = null;

before(async () => {
  if (skip) return;
  // KAM_TRUSTED_PROXIES as docs/LOAD-BALANCER.md says for a balancer on the same host
  replicas = await startReplicas(REPLICAS, { KAM_TRUSTED_PROXIES: "loopback" });
  servers.push(...replicas.servers);
  lb = await startNginx(servers.map((s) => ({ host: "127.0.0.1", port: s.port })));
}, { timeout: 300_000 });

after(async () => {
  const t = teardown();
  for (const a of agents) await t.step(`agent ${a.node}`, () => a.close());
  for (const s of sockets) await t.step("a /live socket", () => s.close());
  await t.step("Chromium", () => chromium?.close());
  await t.step("nginx", () => lb?.stop());
  await t.step("the replicas and their database", () => replicas?.close());
  t.done();
});

/** what each replica and nginx said last: appended to a failed wait */
function tails(): string {
  const parts = servers.map((s, i) => `--- replica ${i} (${s.url}) ---\n${s.output().slice(-2500)}`);
  if (lb) parts.push(`--- nginx ---\n${lb.output().slice(-1500)}`);
  return parts.join("\n");
}

async function within<T>(what: string, fn: () => T | Promise<T>, ms: number): Promise<NonNullable<T>> {
  try {
    return await waitFor(what, fn, ms, 20);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${tails()}`, { cause: e });
  }
}

/** one counter of every replica, read directly from each (not through nginx) */
const perReplica = (name: string, labels: Record<string, string> = {}) => Promise.all(servers.map((s) => metricOf(s, name, labels)));

/** the one replica whose counter went up by exactly one between two readings */
function whichOne(what: string, before: number[], after: number[]): number {
  const up = after.map((v, i) => v - before[i]);
  const i = up.findIndex((d) => d === 1);
  assert.ok(i >= 0 && up.filter((d) => d !== 0).length === 1, `${what}: exactly one replica counted it once (changes per replica: ${up.join(", ")})`);
  return i;
}

interface Placed {
  agent: FakeAgent;
  replica: number;
}

/** an agent connected THROUGH nginx, its config snapshot stored: by which replica, from that replica's batch counter */
async function agentThroughLb(cluster: string, node: string, priority: number): Promise<Placed> {
  const token = await servers[0].token(cluster, node);
  const before = await perReplica("kam_ingest_batches_total");
  const agent = await connectFakeAgent(lb!.url, token, node, 500);
  agents.push(agent);
  const ack = await agent.send([
    { kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: createHash("sha256").update(`keepalived.conf of ${node}`).digest("hex"), routerId: null, netNamespace: null,
      instances: [instance({ name: "VI_1", vrid: 51, priority, advertInt: ADVERT_INT_S })], errors: [] },
  ]);
  assert.equal(ack.ok, true, `${node}'s config stored: ${JSON.stringify(ack)}`);
  return { agent, replica: whichOne(`the batch of ${node}`, before, await perReplica("kam_ingest_batches_total")) };
}

/** log lines of one agent, acknowledged: the time of the ack (performance.now()) */
async function logged(a: FakeAgent, ...lines: string[]): Promise<number> {
  const ack = await a.log(...lines);
  const at = performance.now();
  assert.equal(ack.ok, true, `${a.node}'s lines stored: ${JSON.stringify(ack)}`);
  return at;
}

interface LiveClient {
  name: string;
  socket: Socket;
  replica: number;
  clusters: Map<string, ClusterSummary>;
  /** every incident push, with its arrival time (performance.now()) */
  incidents: { at: number; change: string; incident: IncidentMsg }[];
  /** when this socket first saw a as MASTER */
  aMasterAt: number | null;
}

const stateOf = (clusters: Map<string, ClusterSummary>, node: string) =>
  clusters.get(CLUSTER)?.nodes.find((n) => n.name === node)?.instances.find((i) => i.name === "VI_1")?.state;

/**
 * A /live socket THROUGH nginx, as the dashboard opens it (a session cookie, the Origin of the page nginx serves).
 * Which replica holds it: the one that counts a subscription it refuses (an empty cluster list).
 */
async function liveThroughLb(name: string): Promise<LiveClient> {
  const { cookie } = await servers[0].session("viewer");
  const socket = io(`${lb!.url}/live`, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 10_000, extraHeaders: { cookie, origin: lb!.url } });
  sockets.push(socket);
  const c: LiveClient = { name, socket, replica: -1, clusters: new Map(), incidents: [], aMasterAt: null };
  socket.on("cluster", (s: ClusterSummary) => {
    c.clusters.set(s.name, s);
    if (c.aMasterAt === null && stateOf(c.clusters, "a") === "MASTER") c.aMasterAt = performance.now();
  });
  socket.on("incident", (m: { change: string; incident: IncidentMsg }) => c.incidents.push({ at: performance.now(), ...m }));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (e: Error & { data?: { code?: string } }) => reject(new Error(`/live ${name} through nginx: ${e.data?.code ?? ""} ${e.message}\n${lb!.output()}`)));
  });
  const before = await perReplica("kam_live_rejected_total", { code: "invalid_message" });
  const refused = (await socket.timeout(10_000).emitWithAck("subscribe", { clusters: [] })) as { ok: boolean; code?: string };
  assert.equal(refused.code, "invalid_message", `an empty subscription is refused: ${JSON.stringify(refused)}`);
  c.replica = whichOne(`the refused subscription of ${name}`, before, await perReplica("kam_live_rejected_total", { code: "invalid_message" }));
  assert.deepEqual(await socket.timeout(10_000).emitWithAck("subscribe", { clusters: ["*"] }), { ok: true });
  return c;
}

const dualOpened = (c: LiveClient) => c.incidents.filter((p) => p.incident.kind === "DUAL_MASTER" && p.change === "opened");

async function waitForBadge(page: Page, lane: string, state: string): Promise<void> {
  await page.locator(`[data-testid="lane-${lane}"] span[data-state="${state}"]`).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator(`[data-testid="lane-${lane}"] span[data-state]`).textContent(), state, `the lane ${lane} says ${state}`);
}

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");

describe("three replicas behind a real nginx (round robin, websocket transport)", { skip }, () => {
  it("agents and browsers spread over the replicas all see one live picture and the one split brain", { timeout: 180_000 }, async (t) => {
    // 1. agents THROUGH nginx: round robin spreads their batches over the replicas
    const placed: Placed[] = [];
    for (const [node, priority] of [["a", 150], ["b", 100], ["c", 50]] as const) placed.push(await agentThroughLb(CLUSTER, node, priority));
    const [agentA, agentB, agentC] = placed.map((p) => p.agent);
    t.diagnostic(`agents through nginx: ${placed.map((p) => `${p.agent.node} -> replica ${p.replica}`).join(", ")}`);

    // exactly one replica takes the cluster's detection lease (and keeps it: a second taker would show within two polls)
    await within("a replica takes the detection lease", async () => (await perReplica("kam_leases_acquired_total")).some((n) => n > 0), 15_000);
    await sleep(2 * LEASE_POLL_MS + 500);
    const leases = await perReplica("kam_leases_acquired_total");
    assert.deepEqual([...leases].sort(), [0, 0, 1], `one replica took the one lease (per replica: ${leases.join(", ")})`);
    const holder = leases.indexOf(1);
    t.diagnostic(`replica ${holder} holds the detection lease of ${CLUSTER}`);

    const storedBy = new Set(placed.map((p) => p.replica));
    for (let n = placed.length; storedBy.size < 2 && n < MAX_AGENTS; n++) {
      const spare = await agentThroughLb(SPARE_CLUSTER, `spare-${n}`, 100);
      storedBy.add(spare.replica);
      t.diagnostic(`round robin did not spread a, b and c: spare agent ${spare.agent.node} (cluster ${SPARE_CLUSTER}) -> replica ${spare.replica}`);
    }
    assert.ok(storedBy.size >= 2, `batches stored by at least two replicas (by: ${[...storedBy].join(", ")})`);
    const batches = await perReplica("kam_ingest_batches_total");
    t.diagnostic(`kam_ingest_batches_total per replica: ${batches.join(", ")}`);
    assert.equal(batches.filter((n) => n > 0).length, storedBy.size, "only the replicas that acknowledged a batch count one");

    // 2. /live sockets THROUGH nginx, spread over the replicas; at least one on a replica without the lease, whose
    // incident pushes reach it through the adapter only
    const clients: LiveClient[] = [];
    for (let i = 0; i < 3; i++) clients.push(await liveThroughLb(`live-${i}`));
    while ((new Set(clients.map((c) => c.replica)).size < 2 || clients.every((c) => c.replica === holder)) && clients.length < MAX_LIVE) {
      clients.push(await liveThroughLb(`live-${clients.length}`));
      t.diagnostic(`round robin did not spread the /live sockets: added ${clients.at(-1)!.name} -> replica ${clients.at(-1)!.replica}`);
    }
    t.diagnostic(`/live sockets through nginx: ${clients.map((c) => `${c.name} -> replica ${c.replica}`).join(", ")}`);
    assert.ok(new Set(clients.map((c) => c.replica)).size >= 2, "the /live sockets are on at least two replicas");
    assert.ok(clients.some((c) => c.replica !== holder), "a /live socket on a replica without the lease");

    // a MASTER, b and c BACKUP (a first: no moment without a MASTER, no NO_MASTER)
    const aMasterAck = await logged(agentA, "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
    await logged(agentB, "(VI_1) Entering BACKUP STATE");
    await logged(agentC, "(VI_1) Entering BACKUP STATE");
    for (const c of clients) {
      await within(`${c.name} (replica ${c.replica}) sees a MASTER, b and c BACKUP`,
        () => stateOf(c.clusters, "a") === "MASTER" && stateOf(c.clusters, "b") === "BACKUP" && stateOf(c.clusters, "c") === "BACKUP", 10_000);
    }
    // 4. latencies, printed as soon as measured: a's MASTER acknowledged -> each socket sees it
    const where = clients.map((c) => `${c.name}@${c.replica}${c.replica === holder ? "*" : ""}`).join(", ");
    t.diagnostic(`sockets (replica; * = lease holder): ${where}; a's batches stored by replica ${placed[0].replica}, b's by ${placed[1].replica}, detection on ${holder}`);
    t.diagnostic(`summary: a's MASTER acked -> socket sees a MASTER (ms; negative: before the ack): ${fmt(clients.map((c) => c.aMasterAt! - aMasterAck))}`);

    // 3. the cluster's page in Chromium THROUGH nginx: a MASTER, b and c BACKUP
    chromium = await launchBrowser();
    const page = await chromium.newPage({ width: 1600, height: 1000 });
    await signIn(page, { url: lb!.url, session: (role) => servers[0].session(role) }, "viewer");
    await page.goto(`${lb!.url}/clusters/${CLUSTER}?range=15m`, { waitUntil: "domcontentloaded" });
    await page.locator('[data-testid="timeline"][data-rendered="true"]').waitFor({ timeout: 30_000 });
    await waitForBadge(page, "a-51", "MASTER");
    await waitForBadge(page, "b-51", "BACKUP");
    await waitForBadge(page, "c-51", "BACKUP");
    await page.locator('[data-testid="connection"][data-connection="live"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid="incident-track"] [data-kind="DUAL_MASTER"]').count(), 0, "no split brain yet");
    let navigations = 0;
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations++;
    });

    // the split brain: b becomes MASTER too
    const bMasterAck = await logged(agentB, "(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
    for (const c of clients) await within(`the DUAL_MASTER push on ${c.name} (replica ${c.replica})`, () => dualOpened(c).length > 0, 15_000);
    // b's MASTER acknowledged -> each socket gets the DUAL_MASTER push; detection waits the grace first
    const pushMs = clients.map((c) => dualOpened(c)[0].at - bMasterAck);
    t.diagnostic(`split brain: b's MASTER acked -> DUAL_MASTER push (ms, raw): ${fmt(pushMs)}`);
    t.diagnostic(`split brain minus the grace of ${GRACE_MS} ms (ms): ${fmt(pushMs.map((x) => x - GRACE_MS))}`);
    // the page: the incident band and b's badge, live (no reload)
    const band = page.locator('[data-testid="incident-track"] [data-kind="DUAL_MASTER"]');
    await band.waitFor({ timeout: 20_000 });
    t.diagnostic(`split brain on the page (b's ack -> band drawn, as polled through Playwright, ms): ${(performance.now() - bMasterAck).toFixed(0)}`);
    assert.match((await band.getAttribute("title")) ?? "", /^DUAL MASTER \(critical, open\): b became MASTER .* while a was still MASTER/i, "the band says what it is");
    assert.equal(((await band.textContent()) ?? "").trim(), "DUAL MASTER");
    await waitForBadge(page, "b-51", "MASTER");
    await waitForBadge(page, "a-51", "MASTER");
    assert.equal(navigations, 0, "the page showed the split brain without a reload");
    await band.click();
    await page.locator('[data-testid="details-kind"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="details-kind"]').textContent(), "DUAL MASTER", "a click on the band names the incident");
    await screenshot(page, "replicas-lb-dual-master");

    // once: one push per socket, all of the one stored incident (a duplicate push or row would be due by now)
    await sleep(2000);
    const ids = new Set(clients.flatMap((c) => dualOpened(c).map((p) => p.incident.id)));
    for (const c of clients) assert.equal(dualOpened(c).length, 1, `${c.name} got one DUAL_MASTER opening (got ${dualOpened(c).length})`);
    assert.equal(ids.size, 1, `one incident pushed to every socket (ids: ${[...ids].join(", ")})`);
    const rows = await queryDb<{ id: string; nodes: string[]; closed: boolean }>(servers[0],
      "SELECT id::text AS id, nodes, closed_at IS NOT NULL AS closed FROM incident WHERE kind = 'DUAL_MASTER'");
    assert.equal(rows.length, 1, `one DUAL_MASTER row: ${JSON.stringify(rows)}`);
    assert.equal(rows[0].id, [...ids][0], "the row is the pushed incident");
    assert.deepEqual([...rows[0].nodes].sort(), ["a", "b"]);
    assert.equal(rows[0].closed, false);
    const opened = await perReplica("kam_incidents_opened_total", { kind: "DUAL_MASTER" });
    assert.deepEqual(opened, servers.map((_, i) => (i === holder ? 1 : 0)), `opened by the lease holder only (per replica: ${opened.join(", ")})`);
    assert.deepEqual(chromium.errors, [], "no page or console errors");
  });
});
