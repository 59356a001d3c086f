/**
 * "Add a node" (issue 14) in headless Chromium against the REAL server, under the production CSP: an admin
 * goes from /admin to the page, picks an existing cluster (offered from the live picture), types a node name
 * and a lifetime, gets the code once with its expiry and the install command, copies the command to the
 * clipboard, sees the code pending in the list, and revokes it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { browserTest, screenshot, signIn } from "../helpers/browser";
import { connectFakeAgent } from "../helpers/fake-agent";

test("an admin makes an enrolment code with its install command, copies it, and revokes it", { timeout: 300_000 }, async (t) => {
  const ui = await browserTest(t);
  if (!ui) return;
  const { srv, browser } = ui;
  const agent = await connectFakeAgent(srv.url, await srv.token("shop-lb", "lb1"), "lb1");
  t.after(() => agent.close());

  const page = await browser.newPage();
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: srv.url });
  await signIn(page, srv, "admin");
  await page.goto(`${srv.url}/admin`, { waitUntil: "domcontentloaded" });
  await page.getByRole("link", { name: /Add a node/ }).click();
  await page.waitForURL(`${srv.url}/admin/nodes/new`, { timeout: 20_000 });
  await page.locator('[data-testid="add-node"]').waitFor();
  const offered = await page.locator("#known-clusters option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.deepEqual(offered, ["shop-lb"], "existing clusters are offered");

  await page.fill('input[name="cluster"]', "shop-lb");
  await page.fill('input[name="node"]', "lb9");
  await page.selectOption('select[name="ttl"]', "240");
  const before = Date.now();
  await page.getByRole("button", { name: "Create code" }).click();
  await page.locator('[data-testid="new-code"]').waitFor({ timeout: 10_000 });
  const code = ((await page.locator('[data-testid="new-code-code"]').textContent()) ?? "").trim();
  assert.match(code, /^kame_[A-Za-z0-9_-]{43}$/);
  const command = await page.locator('[data-testid="install-command"]').inputValue();
  assert.equal(command, `curl -fsSL ${srv.url}/downloads/install.sh | sh -s -- --server ${srv.url} --node lb9 --code ${code}`);
  const listed = await srv.withPrisma((db) => db.enrolmentCode.findFirstOrThrow({ where: { nodeName: "lb9" } }));
  assert.ok(Math.abs(listed.expiresAt.getTime() - before - 4 * 3600_000) < 60_000, `valid 4 h: ${listed.expiresAt.toISOString()}`);
  assert.match((await page.locator('[data-testid="new-code-expiry"]').textContent()) ?? "", /\d{4}-\d{2}-\d{2}|\d{2}:\d{2}/);

  await page.getByRole("button", { name: "Copy command" }).click();
  await page.getByRole("status").filter({ hasText: "copied" }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);

  const row = page.locator(`[data-testid="code-${listed.id}"]`);
  assert.match((await page.locator(`[data-testid="code-${listed.id}-state"]`).textContent()) ?? "", /^pending, expires/);
  assert.ok(!((await row.textContent()) ?? "").includes(code), "the list shows a prefix, not the code");
  await screenshot(page, "add-node");
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator(`[data-testid="code-${listed.id}-state"]`).filter({ hasText: /^revoked/ }).waitFor({ timeout: 10_000 });
  assert.equal(await row.getByRole("button", { name: "Revoke" }).count(), 0);

  assert.deepEqual(browser.errors, [], "no page errors, no CSP violations");
});
