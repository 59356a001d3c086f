/**
 * The cluster timeline in headless Chromium against the REAL server (Next +
 * socket.io + database), fed by socket.io clients speaking the agent protocol:
 * lanes and incidents render, a click shows the log lines around a segment, a
 * live state change appears without a reload, and the range round-trips
 * through the URL. Screenshots: test-results/screenshots/timeline-*.png.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { browserTest, screenshot, signIn } from "../helpers/browser";
import { connectFakeAgent, consoleStamp, instance, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";

type Rec = Parameters<FakeAgent["send"]>[0][number];
const CLUSTER = "edge";

const log = (ts: number, message: string): Rec => ({ kind: "log", ts, source: "file", line: `${consoleStamp(new Date(ts))}: ${message}`, inode: "1", offset: 0 });
const vips = (ts: number, ...addresses: string[]): Rec => ({ kind: "vips", ts, addresses: addresses.map((address) => ({ address, prefixlen: 24, iface: "eth0" })) });
const config = (ts: number, prio: number): Rec => ({
  kind: "config", ts, path: "/etc/keepalived/keepalived.conf", hash: "2".repeat(64), routerId: null, netNamespace: null, errors: [],
  instances: [
    instance({ name: "VI_WEB", vrid: 51, priority: prio, vips: ["198.18.0.100/24"] }),
    instance({ name: "VI_DB", vrid: 52, priority: 250 - prio, vips: ["198.18.0.200/24"] }),
  ],
});

async function send(a: FakeAgent, recs: Rec[]) {
  const ack = await a.send(recs);
  assert.ok(ack.ok, JSON.stringify(ack));
}

/** the states of a lane's rects, left to right (repeats collapsed: a sub-pixel start merges into its pixel) */
async function laneStates(page: Page, lane: string): Promise<string[]> {
  const all = await page.$$eval(`[data-testid="lane-${lane}"] rect[data-state]`, (els) => els.map((e) => e.getAttribute("data-state") ?? ""));
  return all.filter((s, i) => i === 0 || all[i - 1] !== s);
}

async function waitRendered(page: Page) {
  await page.locator('[data-testid="timeline"][data-rendered="true"]').waitFor({ timeout: 20_000 });
}

test("cluster timeline: lanes, incidents, logs on click, live updates and the range in the URL", { timeout: 180_000 }, async (t) => {
  const ui = await browserTest(t, { env: { KAM_AGENT_OFFLINE_SECONDS: "3" } });
  if (!ui) return;
  const { srv: server, browser } = ui;

  const token = await server.token(CLUSTER);
  const a = await connectFakeAgent(server.url, token, "lb1");
  t.after(() => a.close());
  const b = await connectFakeAgent(server.url, token, "lb2");
  t.after(() => b.close());
  // a third node whose agent goes away after its history: its lanes end in UNKNOWN
  const c = await connectFakeAgent(server.url, token, "lb3");

  // 70 minutes of history (the start lies before the 1 h range): lb1 MASTER of VI_WEB, a FAULT with failover
  // to lb2, failback; lb2 MASTER of VI_DB. Sent in time order across both nodes, as live agents deliver it.
  const t0 = Date.now() - 70 * 60_000;
  const m = (min: number, ms = 0) => t0 + min * 60_000 + ms;
  const history: [FakeAgent, Rec][] = [
    [a, config(m(0), 150)], [a, vips(m(0), "198.18.0.10")], [b, config(m(0), 100)], [b, vips(m(0), "198.18.0.11")],
    [c, config(m(0), 50)], [c, log(m(0, 1000), "(VI_WEB) Entering BACKUP STATE (init)")], [c, log(m(0, 1001), "(VI_DB) Entering BACKUP STATE (init)")],
    [a, log(m(0, 1000), "(VI_WEB) Entering BACKUP STATE (init)")], [a, log(m(0, 1001), "(VI_DB) Entering BACKUP STATE (init)")],
    [b, log(m(0, 1000), "(VI_WEB) Entering BACKUP STATE (init)")], [b, log(m(0, 1001), "(VI_DB) Entering BACKUP STATE (init)")],
    [a, log(m(0, 1500), "(VI_WEB) Entering MASTER STATE")], [a, vips(m(0, 1500), "198.18.0.10", "198.18.0.100")],
    [b, log(m(0, 1500), "(VI_DB) Entering MASTER STATE")], [b, vips(m(0, 1500), "198.18.0.11", "198.18.0.200")],
    [a, log(m(40), "Netlink reports eth0 down")], [a, log(m(40, 5), "(VI_WEB) Entering FAULT STATE")], [a, vips(m(40, 5), "198.18.0.10")],
    [b, log(m(40, 1000), "(VI_WEB) Entering MASTER STATE")], [b, vips(m(40, 1000), "198.18.0.11", "198.18.0.200", "198.18.0.100")],
    [a, log(m(44), "Netlink reports eth0 up")], [a, log(m(44, 5), "(VI_WEB) Entering BACKUP STATE")],
    [b, log(m(44, 10000), "(VI_WEB) Master received advert from 198.18.0.10 with higher priority 150, ours 100")],
    [b, log(m(44, 10000), "(VI_WEB) Entering BACKUP STATE")], [b, vips(m(44, 10000), "198.18.0.11", "198.18.0.200")],
    [a, log(m(44, 10000), "(VI_WEB) Entering MASTER STATE")], [a, vips(m(44, 10000), "198.18.0.10", "198.18.0.100")],
    // lb2's agent lost records (its outbox overflowed): the hole must be visible
    [b, { kind: "gap", ts: m(50), fromSeq: 100_000, toSeq: 101_233, dropped: 1234, reason: "outbox full" }],
  ];
  for (let i = 0; i < history.length; ) {
    let j = i;
    while (j < history.length && history[j][0] === history[i][0]) j++;
    await send(history[i][0], history.slice(i, j).map(([, r]) => r));
    i = j;
  }
  c.close();
  await waitFor("the FAULT incident", async () => {
    const r = (await (await fetch(`${server.url}/api/incidents?cluster=${CLUSTER}&kind=FAULT`)).json()) as { id: string }[];
    return r.length > 0 ? r : null;
  }, 20_000);

  const page = await browser.newPage({ width: 1920, height: 1080 });

  await signIn(page, server);
  await page.goto(`${server.url}/clusters/${CLUSTER}?range=1h`, { waitUntil: "domcontentloaded" });
  await waitRendered(page);
  // the first request was started by the inline script while the page loaded (the fallback lays out the
  // plot it measures), without the incidents' evidence lines
  const first = await page.evaluate(() => {
    const tl = performance.getEntriesByType("resource").filter((e) => e.name.includes("/timeline?"));
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    return { urls: tl.map((e) => e.name), start: tl[0]?.startTime ?? null, domContentLoaded: nav.domContentLoadedEventStart };
  });
  assert.match(first.urls[0] ?? "", /[?&]evidence=none(&|$)/);
  assert.ok(first.start !== null && first.start < first.domContentLoaded, `prefetched before DOMContentLoaded (${JSON.stringify(first)})`);
  // the silent node turns UNKNOWN (hatched, with its word in the lane's badge), live
  for (const l of ["lb3-51", "lb3-52"]) {
    await page.locator(`[data-testid="lane-${l}"] svg[data-lane] [data-state="UNKNOWN"]`).first().waitFor({ timeout: 20_000 });
    await page.locator(`[data-testid="lane-${l}"] span[data-state="UNKNOWN"]`).waitFor({ timeout: 20_000 });
  }

  // lanes: one per node x VRID, grouped by VRID
  const lanes = await page.$$eval("[data-testid^=lane-]", (els) => els.map((e) => e.getAttribute("data-testid")));
  assert.deepEqual(lanes, ["lane-lb1-51", "lane-lb2-51", "lane-lb3-51", "lane-lb1-52", "lane-lb2-52", "lane-lb3-52"]);
  assert.deepEqual(await laneStates(page, "lb1-51"), ["MASTER", "FAULT", "BACKUP", "MASTER"]);
  assert.deepEqual(await laneStates(page, "lb2-51"), ["BACKUP", "MASTER", "BACKUP"]);
  assert.deepEqual(await laneStates(page, "lb2-52"), ["MASTER"]);
  assert.ok((await page.locator('[data-testid="lane-lb1-51"] rect[data-vip="held"]').count()) >= 2, "VIP ownership drawn, interrupted by the FAULT");
  assert.equal(await page.locator('[data-testid="lane-lb1-52"] rect[data-vip="held"]').count(), 0);
  // incidents: the FAULT band, on the incident track and on its lane
  const fault = page.locator('[data-testid="incident-track"] [data-kind="FAULT"]').first();
  await fault.waitFor();
  assert.match((await fault.textContent()) ?? "", /FAULT/);
  const faultId = (await fault.getAttribute("data-testid"))!.replace("incident-", "");
  assert.ok((await page.locator(`[data-testid="lane-lb1-51"] rect[data-incidents~="${faultId}"]`).count()) === 1, "the FAULT on its lane");
  for (const other of ["lb2-51", "lb1-52", "lb2-52"]) {
    assert.equal(await page.locator(`[data-testid="lane-${other}"] rect[data-incidents~="${faultId}"]`).count(), 0, `not on ${other}`);
  }
  // colour is not the only signal: state words are drawn inside wide segments
  const words = await page.$$eval('[data-testid="lane-lb2-51"] text', (els) => els.map((e) => e.textContent));
  assert.ok(words.includes("MASTER") && words.includes("BACKUP"), `state words drawn: ${words.join(",")}`);
  await page.locator('[data-testid="connection"][data-connection="live"]').waitFor({ timeout: 15_000 });
  await screenshot(page, "timeline-desktop");

  // click the FAULT segment: the log lines around it, the transition marked
  await page.locator('[data-testid="lane-lb1-51"] rect[data-state="FAULT"]').click();
  await page.locator('[data-testid="details-state"]').waitFor();
  assert.equal(await page.locator('[data-testid="details-state"]').textContent(), "FAULT");
  const marked = page.locator('[data-testid="log-lines"] tr[data-marked="true"]');
  await marked.first().waitFor({ timeout: 10_000 });
  assert.match((await marked.first().textContent()) ?? "", /Entering FAULT STATE/);
  assert.match((await page.locator('[data-testid="log-lines"]').textContent()) ?? "", /Netlink reports eth0 down/);
  await screenshot(page, "timeline-segment-logs");

  // click the incident: its kind, and its evidence among the lines
  await fault.click();
  await page.locator('[data-testid="details-kind"]').waitFor();
  assert.equal(await page.locator('[data-testid="details-kind"]').textContent(), "FAULT");
  await page.locator('[data-testid="log-lines"] tr[data-marked="true"]').first().waitFor({ timeout: 10_000 });
  // the timeline came without evidence lines: the panel fetched this incident's own to mark them
  const evidenceMarks = await page.locator('[data-testid="log-lines"] tr[data-marked="true"]').allTextContents();
  assert.ok(evidenceMarks.some((m) => /Entering FAULT STATE/.test(m)), `the FAULT line is marked as evidence: ${evidenceMarks.join(" | ")}`);
  const asked = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));
  assert.ok(asked.some((u) => u.endsWith(`/api/incidents/${faultId}`)), "the incident's evidence fetched");

  // the data gap: on its own track, from lb2's last delivered line to the report, with its details on click
  const gap = page.locator('[data-testid="gap-track"] [data-testid="gap"][data-node="lb2"]');
  assert.equal(await gap.count(), 1);
  assert.equal(await gap.getAttribute("data-dropped"), "1234");
  assert.match((await gap.getAttribute("title")) ?? "", /lb2: 1,234 records lost \(outbox full\), seq 100000–101233; history incomplete from .* \(5 min 50 s\)/);
  await gap.click();
  await page.locator('[data-testid="gap-details"]').waitFor();
  assert.match((await page.locator('[data-testid="gap-details"]').textContent()) ?? "", /Data gap on lb2.*1,234 records lost/);
  await page.locator('[data-testid="log-lines"] tr').first().waitFor({ timeout: 10_000 });
  assert.match((await page.locator('[data-testid="log-lines"]').textContent()) ?? "", /Master received advert from 198\.18\.0\.10/, "lb2's last lines before the hole");
  await screenshot(page, "timeline-gap");

  // live: a new state appears at the right edge without a reload
  await page.evaluate(() => Object.assign(window, { __noReload: true }));
  let navigations = 0;
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations++);
  await send(b, [log(Date.now(), "(VI_DB) Entering FAULT STATE")]);
  // drawn at the right edge (a few pixels wide at first: maybe a thin path rather than a rect), and the lane's badge says it
  await page.locator('[data-testid="lane-lb2-52"] svg[data-lane] [data-state="FAULT"]').first().waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="lane-lb2-52"] span[data-state="FAULT"]').waitFor({ timeout: 15_000 });
  const edge = await page.evaluate(() => {
    const svg = document.querySelector('[data-testid="lane-lb2-52"] svg[data-lane]')!;
    const box = svg.getBoundingClientRect();
    const fault = [...svg.querySelectorAll('[data-state="FAULT"]')].map((e) => e.getBoundingClientRect());
    return { right: box.right, faultRight: Math.max(...fault.map((r) => r.right)) };
  });
  assert.ok(edge.right - edge.faultRight < 3, `the FAULT reaches the right edge (${JSON.stringify(edge)})`);
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
  assert.equal(navigations, 0);
  // its incident: on the lane's strip at once (and on the track, alone or in a group of short ones)
  await page.locator('[data-testid="lane-lb2-52"] rect[data-incidents][data-severity="critical"]').waitFor({ timeout: 15_000 });
  await screenshot(page, "timeline-live-fault");

  // zoom by dragging across the lanes: the range goes to the URL...
  const box = (await page.locator('[data-testid="lane-lb1-51"] svg[data-lane]').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + 10);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, box.y + 20, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.6, box.y + 30, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => new URL(location.href).searchParams.has("from"));
  const url = new URL(page.url());
  const from = url.searchParams.get("from")!;
  const to = url.searchParams.get("to")!;
  const span = Date.parse(to) - Date.parse(from);
  assert.ok(span > 10 * 60_000 && span < 20 * 60_000, `about 30% of an hour selected (${span} ms)`);
  await waitRendered(page);
  await page.locator(`[data-testid="timeline"][data-from="${from}"][data-to="${to}"]`).waitFor();
  assert.ok((await laneStates(page, "lb1-51")).includes("FAULT"), "the zoomed range still shows the FAULT");
  await screenshot(page, "timeline-zoomed");

  // ...and a shared link opens the same range
  const shared = await browser.newPage({ width: 1920, height: 1080 });
  await signIn(shared, server);
  await shared.goto(url.toString(), { waitUntil: "domcontentloaded" });
  await waitRendered(shared);
  await shared.locator(`[data-testid="timeline"][data-from="${from}"][data-to="${to}"]`).waitFor();
  assert.deepEqual(await laneStates(shared, "lb1-51"), await laneStates(page, "lb1-51"));
  assert.match((await shared.locator('[data-testid="range-text"]').textContent()) ?? "", /→/);

  // presets are live ranges in the URL; Back returns to the zoomed range
  await page.locator('[data-testid="preset-24h"]').click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("range") === "24h");
  await page.locator('[data-testid="timeline"][data-range="24h"]').waitFor();
  await page.goBack();
  await page.locator(`[data-testid="timeline"][data-from="${from}"][data-to="${to}"]`).waitFor();

  // phone width, light and dark
  const phone = await browser.newPage({ width: 390, height: 844 });
  await signIn(phone, server);
  await phone.goto(`${server.url}/clusters/${CLUSTER}?range=1h`, { waitUntil: "domcontentloaded" });
  await waitRendered(phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
  await screenshot(phone, "timeline-phone");
  await phone.emulateMedia({ colorScheme: "dark" });
  await screenshot(phone, "timeline-phone-dark");
  await page.emulateMedia({ colorScheme: "dark" });
  await page.locator('[data-testid="preset-1h"]').click();
  await waitRendered(page);
  await screenshot(page, "timeline-desktop-dark");

  assert.deepEqual(browser.errors, [], "no page or console errors");
});
