/**
 * The settings pages of issue 15 in headless Chromium against the REAL server, under the production CSP:
 * an admin adds a signed json channel at /admin/channels (the signing secret shown once), sends a test that a
 * real receiver on loopback gets, and disables it; the audit log at /admin/audit lists those changes; the
 * admin changes a detector setting at /admin/settings; an operator opens a maintenance window at
 * /maintenance and ends it early.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ensureUiBuilt, launchBrowser, requireChromium, screenshot, signIn } from "../helpers/browser";
import { startHttpReceiver } from "../helpers/receivers";
import { startTestServer } from "../helpers/server";

test("manages a channel, reads the audit log and ends a maintenance window from the pages", { timeout: 300_000 }, async (t) => {
  if (!requireChromium(t)) return;
  await ensureUiBuilt();
  const srv = await startTestServer();
  t.after(() => srv.close());
  const receiver = await startHttpReceiver(200);
  t.after(() => receiver.close());
  await srv.token("shop-lb");
  const browser = await launchBrowser();
  t.after(() => browser.close());

  // 1. an admin adds a json channel, sees its signing secret once, tests it and disables it
  const page = await browser.newPage();
  const admin = await signIn(page, srv, "admin");
  await page.goto(`${srv.url}/admin/channels`, { waitUntil: "domcontentloaded" });
  const form = page.locator('[data-testid="channel-add"][data-ready="true"]');
  await form.waitFor();
  await form.locator('input[name="cluster"]').fill("shop-lb");
  await form.locator('input[name="url"]').fill(`${receiver.url}/hook/secret-path-token`);
  await form.getByRole("button", { name: "Add" }).click();
  await page.locator('[data-testid="channels-secret"]').waitFor({ timeout: 10_000 });
  assert.match((await page.locator('[data-testid="channels-secret"]').textContent()) ?? "", /whsec_/);
  assert.equal(new URL(page.url()).search, "", "the form never lands in the URL");
  const row = page.locator('[data-testid^="channel-"]').filter({ hasText: "shop-lb" }).first();
  await row.waitFor();
  const text = (await row.textContent()) ?? "";
  assert.ok(text.includes(`${receiver.url}/…`) && !text.includes("secret-path-token"), text);
  await row.getByRole("button", { name: "Send test" }).click();
  await page.locator('[data-testid="channels-message"]').filter({ hasText: "delivered" }).waitFor({ timeout: 15_000 });
  assert.equal(receiver.got.length, 1, "the receiver got the test");
  assert.equal(receiver.got[0].path, "/hook/secret-path-token");
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByRole("button", { name: "Enable" }).waitFor({ timeout: 10_000 });
  await screenshot(page, "settings-channels");

  // 2. the audit log lists those changes with the admin as actor
  await page.goto(`${srv.url}/admin/audit`, { waitUntil: "domcontentloaded" });
  await page.locator('[data-testid="audit-entry"]').first().waitFor({ timeout: 10_000 });
  const actions = await page.locator('[data-testid="audit-entry"] td:nth-child(3)').allTextContents();
  assert.deepEqual(actions.slice(0, 3), ["webhook.edit", "webhook.test", "webhook.add"]);
  assert.ok((await page.locator('[data-testid="audit-entry"]').first().textContent())?.includes(admin));
  await page.locator('input[name="action"]').fill("webhook.test");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-entry"]').length === 1, undefined, { timeout: 10_000 });
  assert.match((await page.locator('[data-testid="audit-csv"]').getAttribute("href")) ?? "", /^\/api\/audit\/export\?action=webhook\.test$/);
  await screenshot(page, "settings-audit");

  // 3. the admin changes a detector setting of the cluster; the API then says so
  await page.goto(`${srv.url}/admin/settings`, { waitUntil: "domcontentloaded" });
  await page.locator('[data-testid="settings-panel"] input[name="cluster"]').fill("shop-lb");
  await page.getByRole("button", { name: "Show" }).click();
  const flap = page.locator('input[name="flapCount"]');
  await flap.waitFor({ timeout: 10_000 });
  assert.equal(await flap.getAttribute("placeholder"), "default: 4");
  await flap.fill("6");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator('[data-testid="settings-message"]').filter({ hasText: "saved" }).waitFor({ timeout: 10_000 });
  const stored = await srv.withPrisma((db) => db.cluster.findUniqueOrThrow({ where: { name: "shop-lb" } }));
  assert.deepEqual(stored.settings, { flapCount: 6 });
  await screenshot(page, "settings-detector");

  // 4. an operator opens a maintenance window and ends it early
  const op = await browser.newPage();
  await signIn(op, srv, "operator");
  await op.goto(`${srv.url}/maintenance`, { waitUntil: "domcontentloaded" });
  const add = op.locator('[data-testid="maintenance-add"][data-ready="true"]');
  await add.waitFor();
  await add.locator('input[name="cluster"]').fill("shop-lb");
  await add.locator('input[name="vrid"]').fill("51");
  await add.locator('input[name="to"]').fill(new Date(Date.now() + 2 * 3600_000).toISOString().slice(0, 16));
  await add.locator('input[name="reason"]').fill("switch upgrade");
  await add.getByRole("button", { name: "Open window" }).click();
  const state = op.locator('[data-testid$="-state"]').first();
  await state.filter({ hasText: "active" }).waitFor({ timeout: 10_000 });
  await op.getByRole("button", { name: "End now" }).click();
  await state.filter({ hasText: "over" }).waitFor({ timeout: 10_000 });
  await screenshot(op, "settings-maintenance");

  assert.deepEqual(browser.errors, [], "no page or console errors (CSP included)");
});
