/**
 * Incident review in headless Chromium against the REAL server: incidents made by agents through
 * the real ingest and detectors are listed, a new one appears without a reload, filters round-trip
 * through the URL, the detail shows cause, evidence, config differences and a mini timeline, and the
 * JSON and CSV exports download and parse. Screenshots: test-results/screenshots/incidents-*.png.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import type { Page } from "playwright-core";
import type { IncidentMsg } from "../../server/protocol";
import { waitFor } from "../helpers/wait";
import { browserTest, noOverflow, screenshot, signIn } from "../helpers/browser";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import type { TestServer } from "../helpers/server";
import { parseCsv } from "../helpers/csv";

/** Two nodes of one cluster reporting VRID 51 in BACKUP; `authB` gives b another password hash. */
async function pair(srv: TestServer, cluster: string, agents: FakeAgent[], authB = "a".repeat(64)): Promise<[FakeAgent, FakeAgent]> {
  const token = await srv.token(cluster);
  const out: FakeAgent[] = [];
  for (const [node, prio, auth] of [["a", 150, "a".repeat(64)], ["b", 100, authB]] as const) {
    const fa = await connectFakeAgent(srv.url, token, node);
    agents.push(fa);
    await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: "1".repeat(64), routerId: node,
      netNamespace: null, errors: [], instances: [instance({ name: "VI_1", vrid: 51, priority: prio, authPassHash: auth })] }]);
    await fa.log("(VI_1) Entering BACKUP STATE (init)");
    out.push(fa);
  }
  return out as [FakeAgent, FakeAgent];
}

async function incidents(srv: TestServer, qs = ""): Promise<IncidentMsg[]> {
  return (await (await fetch(`${srv.url}/api/incidents?${qs}`)).json()) as IncidentMsg[];
}

/** ids of the rows the list shows, top to bottom */
async function rowIds(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="incident-list"] > li', (lis) => lis.map((li) => li.getAttribute("data-testid")!.replace("incident-", "")));
}

test("incident review lists live incidents, filters through the URL, and exports an incident", { timeout: 240_000 }, async (t) => {
  const ui = await browserTest(t);
  if (!ui) return;
  const { srv, browser } = ui;
  const agents: FakeAgent[] = [];
  t.after(() => agents.forEach((a) => a.close()));

  // a split brain whose peers disagree on the password (config evidence), and a FAULT elsewhere
  const [a, b] = await pair(srv, "shop", agents, "b".repeat(64));
  await a.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
  await b.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
  const [e1] = await pair(srv, "edge", agents);
  await e1.log("Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
  const dual = await waitFor("DUAL_MASTER stored", async () => (await incidents(srv, "cluster=shop&kind=DUAL_MASTER"))[0], 20_000);
  const fault = await waitFor("FAULT stored", async () => (await incidents(srv, "cluster=edge&kind=FAULT"))[0], 20_000);

  const page = await browser.newPage({ width: 1920, height: 1080 });

  await signIn(page, srv);
  await page.goto(`${srv.url}/incidents`, { waitUntil: "domcontentloaded" });
  await page.locator(`[data-testid="incident-${dual.id}"]`).waitFor({ timeout: 20_000 });
  await page.locator(`[data-testid="incident-${fault.id}"]`).waitFor();
  const dualRow = page.locator(`[data-testid="incident-${dual.id}"]`);
  assert.equal(await dualRow.getAttribute("data-kind"), "DUAL_MASTER");
  assert.match((await dualRow.textContent()) ?? "", /CRITICAL.*OPEN.*DUAL MASTER.*split brain.*shop.*VRID 51/s);
  await page.locator('[data-testid="stats-shop"]').waitFor();
  await page.locator('[data-testid="connection"][data-connection="live"]').waitFor({ timeout: 15_000 });
  await screenshot(page, "incidents-list-desktop");

  // live: a new incident joins the open page without a reload
  await page.evaluate(() => Object.assign(window, { __noReload: true }));
  const [l1] = await pair(srv, "late", agents);
  await l1.log("Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
  const late = await waitFor("late FAULT stored", async () => (await incidents(srv, "cluster=late"))[0], 20_000);
  const lateRow = page.locator(`[data-testid="incident-${late.id}"]`);
  await lateRow.waitFor({ timeout: 15_000 });
  assert.equal(await lateRow.locator('[data-testid="new-marker"]').count(), 1, "marked as new");
  assert.equal((await rowIds(page))[0], late.id, "newest first");
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true, "no reload");

  // filters go to the URL and come back from it
  await page.selectOption('[data-testid="filter-kind"]', "FAULT");
  await page.waitForFunction(() => new URL(location.href).searchParams.get("kind") === "FAULT");
  await page.waitForFunction(
    (want) => [...document.querySelectorAll('[data-testid="incident-list"] > li')].map((li) => li.getAttribute("data-kind")).join() === want,
    "FAULT,FAULT",
  );
  await page.selectOption('[data-testid="filter-cluster"]', "edge");
  await page.waitForFunction(() => new URL(location.href).searchParams.get("cluster") === "edge");
  await page.waitForFunction((id) => document.querySelectorAll('[data-testid="incident-list"] > li').length === 1 && !!document.querySelector(`[data-testid="incident-${id}"]`), fault.id);
  const filteredUrl = page.url();
  await page.reload({ waitUntil: "domcontentloaded" });
  assert.equal(page.url(), filteredUrl);
  await page.locator(`[data-testid="incident-${fault.id}"]`).waitFor();
  assert.equal(await page.inputValue('[data-testid="filter-kind"]'), "FAULT");
  assert.equal(await page.inputValue('[data-testid="filter-cluster"]'), "edge");
  assert.deepEqual(await rowIds(page), [fault.id]);
  assert.equal(await page.locator('[data-testid="stats"] tbody tr').count(), 1, "statistics follow the cluster filter");

  // a hand-written URL with a time range and open=true
  const from = new Date(Date.parse(dual.openedAt) - 60_000).toISOString();
  const fresh = await browser.newPage({ width: 1280, height: 800 });
  await signIn(fresh, srv);
  await fresh.goto(`${srv.url}/incidents?kind=DUAL_MASTER&open=true&from=${encodeURIComponent(from)}`, { waitUntil: "domcontentloaded" });
  await fresh.locator(`[data-testid="incident-${dual.id}"]`).waitFor();
  assert.deepEqual(await rowIds(fresh), [dual.id]);
  assert.equal(await fresh.inputValue('[data-testid="filter-open"]'), "true");
  assert.equal(await fresh.inputValue('[data-testid="filter-from"]'), from.slice(0, 16));
  await fresh.click('[data-testid="filter-clear"]');
  await fresh.waitForFunction(() => location.search === "");
  await fresh.locator(`[data-testid="incident-${late.id}"]`).waitFor();

  // detail of the split brain
  await fresh.click(`[data-testid="incident-${dual.id}"] a`);
  await fresh.waitForURL(`**/incidents/${dual.id}`);
  const detail = fresh.locator('[data-testid="incident-detail"]');
  await detail.waitFor();
  assert.equal(await detail.getAttribute("data-kind"), "DUAL_MASTER");
  assert.equal(((await fresh.locator('[data-testid="cause-summary"]').textContent()) ?? "").trim(), dual.cause.summary);
  const lines = fresh.locator('[data-testid="evidence-line"]');
  assert.equal(await lines.count(), dual.cause.evidence.length);
  const evNodes = new Set(await lines.evaluateAll((els) => els.map((e) => e.getAttribute("data-node"))));
  assert.ok(evNodes.has("a") && evNodes.has("b"), "evidence of both nodes on one list");
  const times = await lines.evaluateAll((els) => els.map((e) => e.querySelector("time")!.getAttribute("datetime")!));
  assert.deepEqual(times, [...times].sort(), "one clock: in time order");
  // the mini timeline draws from the cluster timeline API when it answers, else from the evidence
  const w = { from: new Date(Date.parse(dual.openedAt) - 5000).toISOString(), to: new Date().toISOString() };
  const timelineApi = await fetch(`${srv.url}/api/clusters/shop/timeline?from=${w.from}&to=${w.to}`);
  const source = timelineApi.status === 200 ? "timeline" : "evidence";
  await fresh.locator(`[data-testid="mini-timeline"][data-source="${source}"]`).waitFor({ timeout: 10_000 });
  const lanes = await fresh.locator('[data-testid="mini-lane"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-node")));
  assert.deepEqual([...lanes].sort(), ["a", "b"]);
  assert.ok((await fresh.locator('[data-testid="mini-lane"] [data-state="MASTER"]').count()) >= 2, "both nodes drawn MASTER");
  if (dual.cause.evidence.some((e) => e.kind === "config")) {
    await fresh.locator('[data-testid="config-diff"]').waitFor();
    assert.ok((await fresh.locator('[data-testid="config-diff"] [data-differs="true"]').count()) >= 1);
  }
  await fresh.setViewportSize({ width: 1920, height: 1080 });
  await screenshot(fresh, "incidents-detail-desktop");

  // exports
  const [json] = await Promise.all([fresh.waitForEvent("download"), fresh.click('[data-testid="export-json"]')]);
  assert.match(json.suggestedFilename(), new RegExp(`^incident-${dual.id}-shop-DUAL_MASTER\\.json$`));
  const exported = JSON.parse(await readFile((await json.path())!, "utf8")) as IncidentMsg;
  assert.equal(exported.id, dual.id);
  assert.equal(exported.cause.evidence.length, dual.cause.evidence.length);
  const [csv] = await Promise.all([fresh.waitForEvent("download"), fresh.click('[data-testid="export-csv"]')]);
  assert.match(csv.suggestedFilename(), /\.csv$/);
  const rows = parseCsv(await readFile((await csv.path())!, "utf8"));
  assert.equal(rows.length, dual.cause.evidence.length + 1, "header + one row per evidence line");
  assert.deepEqual(rows[0], ["node", "at", "kind", "line"]);
  assert.ok(rows.slice(1).every((r) => r.length === 4));

  // on call, on a phone, in both themes
  const phone = await browser.newPage({ width: 390, height: 844 });
  await signIn(phone, srv);
  await phone.goto(`${srv.url}/incidents`, { waitUntil: "domcontentloaded" });
  await phone.locator(`[data-testid="incident-${dual.id}"]`).waitFor();
  await noOverflow(phone, "incident list");
  await screenshot(phone, "incidents-list-phone");
  await phone.emulateMedia({ colorScheme: "dark" });
  await screenshot(phone, "incidents-list-phone-dark");
  await phone.goto(`${srv.url}/incidents/${dual.id}`, { waitUntil: "domcontentloaded" });
  await phone.locator('[data-testid="incident-detail"]').waitFor();
  await noOverflow(phone, "incident detail");
  await screenshot(phone, "incidents-detail-phone-dark");
  await phone.emulateMedia({ colorScheme: "light" });
  await screenshot(phone, "incidents-detail-phone");

  // an unknown incident is a clean 404 page
  const missing = await phone.goto(`${srv.url}/incidents/999999`);
  assert.equal(missing?.status(), 404);
  await phone.locator('[data-testid="incident-not-found"]').waitFor();

  const errors = browser.errors.filter((e) => !/\/incidents\/999999: Failed to load resource/.test(e));
  assert.deepEqual(errors, [], "no page or console errors");
});
