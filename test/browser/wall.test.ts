/**
 * The NOC wall in headless Chromium against the REAL server: tiles per cluster, problems first
 * with an unmistakable CRITICAL + incident kind, a ticking clock and last update, a live change
 * without reload, page rotation when the clusters do not fit, and a STALE banner while the server
 * is down that goes away when it is back. Screenshots at 1920x1080 and 3840x2160:
 * test-results/screenshots/wall-*.png.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { capacityFor } from "../../components/wall/wall";
import { browserTest, screenshot, signIn } from "../helpers/browser";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import type { TestServer } from "../helpers/server";

async function node(srv: TestServer, token: string, name: string, prio: number, agents: FakeAgent[]): Promise<FakeAgent> {
  const fa = await connectFakeAgent(srv.url, token, name);
  agents.push(fa);
  await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: "1".repeat(64), routerId: name,
    netNamespace: null, errors: [], instances: [instance({ name: "VI_1", vrid: 51, priority: prio })] }]);
  await fa.log("(VI_1) Entering BACKUP STATE (init)");
  return fa;
}

/** what `ip addr` shows on the node: the VIP, or not */
async function hold(fa: FakeAgent, held: boolean): Promise<void> {
  await fa.send([{ kind: "vips", ts: Date.now(), addresses: held ? [{ address: "198.18.0.100", prefixlen: 24, iface: "eth0" }] : [] }]);
}

const tile = (page: Page, name: string) => page.locator(`[data-testid="wall-tile-${name}"]`);

async function waitStatus(page: Page, name: string, status: string): Promise<void> {
  await page.waitForFunction(
    ([n, s]) => document.querySelector(`[data-testid="wall-tile-${n}"]`)?.getAttribute("data-status") === s,
    [name, status] as const,
    { timeout: 20_000 },
  );
}

test("NOC wall shows problems first, follows changes live, rotates pages and says STALE when data stops", { timeout: 300_000 }, async (t) => {
  const ui = await browserTest(t);
  if (!ui) return;
  const { srv, browser } = ui;
  const agents: FakeAgent[] = [];
  t.after(() => agents.forEach((a) => a.close()));

  // calm: one MASTER, one BACKUP; split: two MASTERs past the grace period
  const calmToken = await srv.token("calm");
  const calmA = await node(srv, calmToken, "lb1", 150, agents);
  await node(srv, calmToken, "lb2", 100, agents);
  await calmA.log("(VI_1) Entering MASTER STATE");
  await hold(calmA, true);
  const splitToken = await srv.token("split");
  const sa = await node(srv, splitToken, "db1", 150, agents);
  const sb = await node(srv, splitToken, "db2", 100, agents);
  await sa.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE");
  await sb.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE");
  await hold(sa, true);
  await hold(sb, true);

  const page = await browser.newPage({ width: 1920, height: 1080 });

  await signIn(page, srv);
  await page.goto(`${srv.url}/wall`, { waitUntil: "domcontentloaded" });
  await tile(page, "calm").waitFor({ timeout: 20_000 });
  await waitStatus(page, "split", "critical");
  await waitStatus(page, "calm", "ok");
  const split = tile(page, "split");
  assert.match((await split.textContent()) ?? "", /CRITICAL/);
  await split.locator('[data-testid="wall-incident"][data-kind="DUAL_MASTER"]').waitFor({ timeout: 10_000 });
  assert.match((await split.textContent()) ?? "", /DUAL MASTER/);
  assert.match((await tile(page, "calm").locator('[data-testid="wall-status"]').textContent()) ?? "", /OK/);
  await page.waitForFunction(() => document.querySelector('[data-testid="wall-tile-split"] [data-testid="wall-vip"]')?.getAttribute("data-holders") === "2");
  assert.match((await split.locator('[data-testid="wall-vip"]').textContent()) ?? "", /198\.18\.0\.100.*db1 \+ db2 \(held twice\)/);
  assert.match((await tile(page, "calm").locator('[data-testid="wall-vip"]').textContent()) ?? "", /198\.18\.0\.100.*lb1/);
  const order = await page.$$eval('[data-testid^="wall-tile-"]', (els) => els.map((e) => e.getAttribute("data-testid")));
  assert.deepEqual(order, ["wall-tile-split", "wall-tile-calm"], "problems first");
  assert.equal(await page.locator('[data-testid="wall-stale"]').count(), 0, "not stale while live");
  assert.doesNotMatch((await page.locator('[data-testid="wall-last-update"]').textContent()) ?? "", /never/);
  const clock1 = await page.locator('[data-testid="wall-clock"]').textContent();
  await page.waitForFunction((c) => document.querySelector('[data-testid="wall-clock"]')?.textContent !== c, clock1, { timeout: 3000 });
  // readable from across the room: the status word is large
  const statusPx = await split.locator('[data-testid="wall-status"]').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(statusPx >= 24, `status word ${statusPx}px`);
  await screenshot(page, "wall-1920x1080");

  // live: a FAULT turns the calm tile critical without a reload
  await page.evaluate(() => Object.assign(window, { __noReload: true }));
  await calmA.log("Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
  await hold(calmA, false);
  await waitStatus(page, "calm", "critical");
  await tile(page, "calm").locator('[data-testid="wall-incident"][data-kind="FAULT"]').waitFor({ timeout: 10_000 });
  assert.match((await tile(page, "calm").textContent()) ?? "", /CRITICAL[\s\S]*FAULT/);
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
  await screenshot(page, "wall-1920x1080-two-critical");

  // more clusters than fit a small screen: problems on every page, the rest rotating
  const small = { width: 1280, height: 720 };
  const capacity = capacityFor(small.width, small.height);
  const okNames = Array.from({ length: capacity }, (_, i) => `ok${i + 1}`);
  for (const name of okNames) {
    const fa = await node(srv, await srv.token(name), "n1", 150, agents);
    await fa.log("(VI_1) Entering MASTER STATE");
    await hold(fa, true);
  }
  const rot = await browser.newPage(small);
  await signIn(rot, srv);
  await rot.goto(`${srv.url}/wall`, { waitUntil: "domcontentloaded" });
  await tile(rot, okNames[0]!).or(tile(rot, okNames.at(-1)!)).first().waitFor({ timeout: 20_000 });
  const pages = Number(await rot.locator('[data-testid="wall-grid"]').getAttribute("data-pages"));
  assert.ok(pages >= 2, `${okNames.length + 2} clusters over ${capacity} slots need several pages (got ${pages})`);
  const shownNow = async () => rot.$$eval('[data-testid^="wall-tile-"]', (els) => els.map((e) => e.getAttribute("data-testid")!.slice(10)));
  const first = await shownNow();
  assert.ok(first.length <= capacity);
  assert.deepEqual(first.slice(0, 2).sort(), ["calm", "split"], "problems lead the page");
  const pageNo = await rot.locator('[data-testid="wall-grid"]').getAttribute("data-page");
  await rot.waitForFunction((p) => document.querySelector('[data-testid="wall-grid"]')?.getAttribute("data-page") !== p, pageNo, { timeout: 15_000 });
  const second = await shownNow();
  assert.deepEqual(second.slice(0, 2).sort(), ["calm", "split"], "problems stay on every page");
  assert.notDeepEqual(second.slice(2), first.slice(2), "the others rotate");
  await screenshot(rot, "wall-1280x720-rotating");

  // 4K: same layout, scaled up
  const big = await browser.newPage({ width: 3840, height: 2160 });
  await signIn(big, srv);
  await big.goto(`${srv.url}/wall`, { waitUntil: "domcontentloaded" });
  await waitStatus(big, "split", "critical");
  const bigPx = await tile(big, "split").locator('[data-testid="wall-status"]').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  const px1080 = await split.locator('[data-testid="wall-status"]').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(bigPx >= px1080 * 1.5, `text scales up at 4K (${px1080}px -> ${bigPx}px)`);
  await screenshot(big, "wall-3840x2160");
  await big.close();

  // the server goes away: STALE at once, and gone again when it is back (no interaction)
  await srv.kill();
  await page.locator('[data-testid="wall-stale"]').waitFor({ timeout: 15_000 });
  assert.match((await page.locator('[data-testid="wall-stale"]').textContent()) ?? "", /STALE/);
  await screenshot(page, "wall-1920x1080-stale");
  await srv.restart();
  await page.locator('[data-testid="wall-stale"]').waitFor({ state: "detached", timeout: 30_000 });
  await page.locator('[data-testid="wall-connection"][data-connection="live"]').waitFor({ timeout: 10_000 });
  await tile(page, "split").waitFor();
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true, "recovered without a reload");

  const errors = browser.errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection|Failed to load resource/.test(e));
  assert.deepEqual(errors, [], "no page or console errors (besides the refused connections while the server was down)");
});
