/**
 * The live overview in headless Chromium against the REAL server (Next + socket.io + database):
 * an agent reports a keepalived node, the page shows it, and a later state change reaches the open
 * page without a reload. Screenshots: test-results/screenshots/live-overview-*.png.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { io, type Socket } from "socket.io-client";
import {
  DUMP_COUNTERS,
  PROTOCOL_VERSION,
  type AgentClientToServer,
  type AgentRecord,
  type AgentServerToClient,
  type BatchAck,
  type ConfigInstance,
} from "../../server/protocol";
import { browserTest, screenshot, signIn } from "../helpers/browser";

type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;

const CLUSTER = "edge";
const VIP = "198.18.0.100/24";
/** the server shows a VIP by its address (keepalived.conf may add a prefix, dev, label...) */
const VIP_ADDRESS = "198.18.0.100";

/** keepalived's console prefix ("%c"), read by the server as UTC. */
function keepalivedLine(ts: number, message: string): string {
  const d = new Date(ts);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
  const p2 = (n: number) => String(n).padStart(2, "0");
  const time = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  return `${day} ${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()}: ${message}`;
}

function instance(name: string, vrid: number, priority: number, vips: string[]): ConfigInstance {
  return {
    name,
    vrid,
    interface: "eth0",
    state: "BACKUP",
    priority,
    advertInt: 1,
    authType: "PASS",
    authPassHash: null,
    vips,
    trackScripts: [],
    trackInterfaces: [],
    unicastSrcIp: null,
    unicastPeers: [],
    nopreempt: false,
    vrrpVersion: 2,
    syncGroup: null,
  };
}

/** A scripted agent: real socket.io client on /agent, numbering its records. */
class FakeAgent {
  private seq = 0;
  private constructor(
    readonly node: string,
    private readonly socket: AgentSocket,
  ) {}

  static async connect(url: string, token: string, node: string, version = "test"): Promise<FakeAgent> {
    const socket: AgentSocket = io(`${url}/agent`, {
      auth: { protocol: PROTOCOL_VERSION, token, agentId: randomUUID(), node, hostname: node, version },
      transports: ["websocket"],
      reconnection: false,
      timeout: 10_000,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (err) => reject(new Error(`agent ${node} could not connect: ${err.message}`)));
    });
    return new FakeAgent(node, socket);
  }

  private next(): number {
    return ++this.seq;
  }

  config(ts: number, instances: ConfigInstance[]): AgentRecord {
    return {
      kind: "config",
      seq: this.next(),
      ts,
      path: "/etc/keepalived/keepalived.conf",
      hash: "a".repeat(63) + String(this.seq % 10),
      routerId: this.node,
      netNamespace: null,
      instances,
      errors: [],
    };
  }

  vips(ts: number, addresses: string[]): AgentRecord {
    return {
      kind: "vips",
      seq: this.next(),
      ts,
      addresses: addresses.map((a) => {
        const [address, prefix] = a.split("/");
        return { address: address!, prefixlen: Number(prefix), iface: "eth0" };
      }),
    };
  }

  log(ts: number, message: string): AgentRecord {
    const seq = this.next();
    return { kind: "log", seq, ts, source: "file", line: keepalivedLine(ts, message), inode: "4242", offset: seq * 100 };
  }

  /** keepalived's process as the agent's process watch reports it */
  process(ts: number, running: boolean, event: "observed" | "vanished"): AgentRecord {
    return { kind: "process", seq: this.next(), ts, running, event, pid: running ? 4100 : null, vrrpPid: running ? 4101 : null, via: "pidfile", exit: null };
  }

  /** keepalived's dump as the agent sends it with --dumps-interval: the instance's effective priority */
  dump(ts: number, name: string, vrid: number, basePriority: number, effectivePriority: number): AgentRecord {
    const stats = Object.fromEntries(DUMP_COUNTERS.map((k) => [k, 0])) as Record<(typeof DUMP_COUNTERS)[number], number>;
    return { kind: "dumps", seq: this.next(), ts, source: "json", pid: 4100, instances: [{ name, vrid, state: "MASTER", basePriority, effectivePriority, stats }] };
  }

  async send(...records: AgentRecord[]): Promise<void> {
    const ack: BatchAck = await this.socket.timeout(15_000).emitWithAck("batch", { records });
    assert.ok(ack.ok, `batch refused: ${JSON.stringify(ack)}`);
    assert.deepEqual(ack.acked.sort((a, b) => a - b), records.map((r) => r.seq).sort((a, b) => a - b));
  }

  /** a heartbeat stamped by a node clock `offsetMs` off the real one */
  async heartbeat(offsetMs: number): Promise<void> {
    await this.socket.timeout(15_000).emitWithAck("heartbeat", { ts: Date.now() + offsetMs, outbox: 0, sources: {} });
  }

  close(): void {
    this.socket.close();
  }
}

async function badgeText(page: Page, node: string, inst: string): Promise<string | null> {
  return page.locator(`[data-testid="state-${node}-${inst}"]`).textContent();
}

async function waitForBadge(page: Page, node: string, inst: string, state: string): Promise<void> {
  await page.waitForFunction(
    ([id, want]) => document.querySelector(`[data-testid="${id}"]`)?.textContent === want,
    [`state-${node}-${inst}`, state] as const,
    { timeout: 15_000 },
  );
}

test("live overview shows an agent's node and follows its state changes without a reload", async (t) => {
  const ui = await browserTest(t);
  if (!ui) return;
  const { srv: server, browser } = ui;

  const t0 = Date.now() - 60_000;
  const lb1 = await FakeAgent.connect(server.url, await server.token(CLUSTER), "lb1");
  t.after(() => lb1.close());
  // lb2's agent is of an older release than the server (same protocol): accepted, and marked
  const lb2 = await FakeAgent.connect(server.url, await server.token(CLUSTER), "lb2", "0.0.1");
  t.after(() => lb2.close());

  await lb1.send(
    lb1.config(t0, [instance("VI_1", 51, 150, [VIP])]),
    lb1.vips(t0 + 1, [VIP]),
    lb1.log(t0 + 2_000, "(VI_1) Entering BACKUP STATE (init)"),
    lb1.log(t0 + 5_000, "(VI_1) Entering MASTER STATE"),
  );
  await lb2.send(
    lb2.config(t0, [instance("VI_1", 51, 100, [VIP])]),
    lb2.vips(t0 + 1, []),
    lb2.log(t0 + 2_000, "(VI_1) Entering BACKUP STATE (init)"),
  );

  const page = await browser.newPage({ width: 1920, height: 1080 });

  await signIn(page, server);
  await page.goto(server.url, { waitUntil: "domcontentloaded" });

  const card = page.locator(`[data-testid="cluster-${CLUSTER}"]`);
  await card.waitFor({ timeout: 20_000 });
  assert.equal(await card.locator("h2").textContent(), CLUSTER);
  await page.locator('[data-testid="node-lb1"]').waitFor();
  await page.locator('[data-testid="node-lb2"]').waitFor();
  await waitForBadge(page, "lb1", "VI_1", "MASTER");
  await waitForBadge(page, "lb2", "VI_1", "BACKUP");
  assert.match((await card.textContent()) ?? "", /nodes online 2\/2/);

  const vip1 = page.locator(`[data-testid="vip-lb1-VI_1-${VIP_ADDRESS}"]`);
  assert.equal(await vip1.getAttribute("data-held"), "true");
  assert.match((await vip1.textContent()) ?? "", /holds/);
  assert.equal(await page.locator(`[data-testid="vip-lb2-VI_1-${VIP_ADDRESS}"]`).getAttribute("data-held"), "false");

  // a node whose clock is 3 minutes behind says so; the other says nothing
  await lb2.heartbeat(-3 * 60_000);
  await lb1.heartbeat(0);
  await page.locator('[data-testid="node-lb2"] [data-testid="skew"]').waitFor({ timeout: 15_000 });
  assert.match((await page.locator('[data-testid="node-lb2"] [data-testid="skew"]').textContent()) ?? "", /^clock 3 min behind$/);
  assert.equal(await page.locator('[data-testid="node-lb1"] [data-testid="skew"]').count(), 0);
  assert.equal((await page.locator('[data-testid="node-lb2"] [data-testid="agent-outdated"]').textContent())?.trim(), "agent 0.0.1: older");
  assert.equal(await page.locator('[data-testid="node-lb1"] [data-testid="agent-outdated"]').count(), 0, "lb1's agent (\"test\") is not an x.y.z version: never called older");

  // configured vs effective priority: only where the node's agent sends keepalived's dumps (lb1)
  assert.equal(await page.locator('[data-testid="prio-lb1-VI_1"]').textContent(), "150");
  await lb1.send(lb1.dump(Date.now(), "VI_1", 51, 150, 130));
  await page.locator('[data-testid="prio-lb1-VI_1-configured"]').waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('[data-testid="prio-lb1-VI_1"]').textContent(), "130cfg 150");
  assert.match((await page.locator('[data-testid="prio-lb1-VI_1"]').getAttribute("title")) ?? "", /^effective priority 130 in keepalived's dump of .*; configured 150$/);
  assert.equal(await page.locator('[data-testid="prio-lb2-VI_1"]').textContent(), "100");
  assert.equal(await page.locator('[data-testid="prio-lb2-VI_1-configured"]').count(), 0);

  await page.locator('[data-testid="connection"][data-connection="live"]').waitFor({ timeout: 15_000 });
  await screenshot(page, "live-overview-desktop");

  // A marker that survives only if the page is never reloaded.
  await page.evaluate(() => Object.assign(window, { __noReload: true }));
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });

  await lb1.send(lb1.log(Date.now(), "(VI_1) Entering FAULT STATE"), lb1.vips(Date.now(), []));
  await waitForBadge(page, "lb1", "VI_1", "FAULT");
  assert.equal(await badgeText(page, "lb1", "VI_1"), "FAULT");
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
  assert.equal(navigations, 0, "the page did not navigate");
  await page.waitForFunction(
    (vip) => document.querySelector(`[data-testid="vip-lb1-VI_1-${vip}"]`)?.getAttribute("data-held") === "false",
    VIP_ADDRESS,
    { timeout: 15_000 },
  );
  await screenshot(page, "live-overview-fault-desktop");

  // keepalived SIGKILLed on lb2 (it logs nothing): the process watch says so, its instance shows STOP
  assert.equal(await page.locator('[data-testid="node-lb2"] [data-testid="keepalived-down"]').count(), 0);
  await lb2.send(lb2.process(Date.now(), false, "vanished"));
  await page.locator('[data-testid="node-lb2"] [data-testid="keepalived-down"]').waitFor({ timeout: 15_000 });
  await waitForBadge(page, "lb2", "VI_1", "STOP");
  assert.equal(await page.locator('[data-testid="node-lb1"] [data-testid="keepalived-down"]').count(), 0);

  const phone = await browser.newPage({ width: 390, height: 844 });

  await signIn(phone, server);
  await phone.goto(server.url, { waitUntil: "domcontentloaded" });
  await waitForBadge(phone, "lb1", "VI_1", "FAULT");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
  await screenshot(phone, "live-overview-phone");
  await phone.emulateMedia({ colorScheme: "dark" });
  await screenshot(phone, "live-overview-phone-dark");

  assert.deepEqual(browser.errors, [], "no page or console errors");
});
