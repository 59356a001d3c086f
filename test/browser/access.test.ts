/**
 * Access control in headless Chromium against the REAL server: the sign-in
 * flow (redirect with next, a wrong password, the right one, sign-out), an
 * operator acknowledging an incident, the admin page, and a NOC wall link
 * exchanged for a wall-only session. The page must run under the production
 * CSP: any CSP violation is a console error and fails the test.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { randomUUID } from "node:crypto";
import { browserTest, screenshot } from "../helpers/browser";
import { connectFakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";

test("signs in through /login, acknowledges as operator, and opens the wall with a wall link only", { timeout: 300_000 }, async (t) => {
  const ui = await browserTest(t);
  if (!ui) return;
  const { srv, browser } = ui;

  // a node that reports, so the wall has a tile to show
  const agent = await connectFakeAgent(srv.url, await srv.token("shop-lb"), "lb1");
  t.after(() => agent.close());
  await agent.log("(VI_1) Entering BACKUP STATE (init)");
  const incidentId = await srv.withPrisma(async (db) => {
    const c = await db.cluster.findUniqueOrThrow({ where: { name: "shop-lb" } });
    const now = new Date();
    const row = await db.incident.create({
      data: { clusterId: c.id, kind: "FAULT", severity: "critical", nodes: ["lb1"], openedAt: now, causeCode: "test", causeSummary: "eth1 went down",
        dedupKey: randomUUID(), updatedAt: now },
    });
    return String(row.id);
  });
  const op = await srv.user("operator", "olga");

  // 0. the sign-in form as served, before any script ran: a POST form whose button is disabled until React
  // attached its handler (a click before hydration once sent the password in the URL: /login?name=..&password=..)
  const served = await (await fetch(`${srv.url}/login`)).text();
  const formTag = /<form[^>]*data-testid="login-form"[^>]*>/.exec(served)?.[0] ?? "";
  assert.match(formTag, /method="post"/, `the served form: ${formTag}`);
  assert.match(/<button[^>]*type="submit"[^>]*>/.exec(served)?.[0] ?? "", /disabled=""/, "the submit button is disabled until hydration");

  // 1. a page without a session goes to /login and comes back after signing in
  const page = await browser.newPage();
  await page.goto(`${srv.url}/incidents/${incidentId}`, { waitUntil: "domcontentloaded" });
  assert.match(page.url(), /\/login\?next=%2Fincidents%2F/);
  await page.locator('[data-testid="login-form"]').waitFor();
  await page.fill('input[name="name"]', op.name);
  await page.fill('input[name="password"]', "not the password");
  await page.click('button[type="submit"]');
  await page.locator('[data-testid="login-error"]').waitFor({ timeout: 15_000 });
  assert.match((await page.locator('[data-testid="login-error"]').textContent()) ?? "", /wrong user name or password/);
  await page.fill('input[name="password"]', op.password);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${srv.url}/incidents/${incidentId}`, { timeout: 20_000 });
  await page.locator('[data-testid="incident-detail"]').waitFor();
  assert.match((await page.locator('[data-testid="signed-in-user"]').textContent()) ?? "", /olga.*operator/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "kam_session")!;
  assert.ok(session.httpOnly, "HttpOnly");
  assert.equal(session.sameSite, "Lax");
  assert.equal(await page.evaluate(() => document.cookie.includes("kam_session")), false, "scripts cannot read the session");

  // 2. an operator acknowledges; the page shows who
  await page.click('[data-testid="ack-button"]');
  await page.locator('[data-testid="incident-ack"]').waitFor({ timeout: 10_000 });
  assert.match((await page.locator('[data-testid="incident-ack"]').textContent()) ?? "", /Acknowledged by olga/);
  await page.reload({ waitUntil: "domcontentloaded" });
  await page.locator('[data-testid="incident-ack"]').waitFor({ timeout: 10_000 });
  await screenshot(page, "access-incident-acked");

  // 3. sign out
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/, { timeout: 10_000 });
  await page.goto(`${srv.url}/`, { waitUntil: "domcontentloaded" });
  assert.match(page.url(), /\/login\?next=%2F$/);

  // 4. an admin sees the admin page and creates a wall link there
  const admin = await srv.user("admin", "ada");
  const adminPage = await browser.newPage();
  await adminPage.goto(`${srv.url}/login`, { waitUntil: "domcontentloaded" });
  await adminPage.fill('input[name="name"]', admin.name);
  await adminPage.fill('input[name="password"]', admin.password);
  await adminPage.click('button[type="submit"]');
  await adminPage.waitForURL(`${srv.url}/`, { timeout: 20_000 });
  await adminPage.goto(`${srv.url}/admin`, { waitUntil: "domcontentloaded" });
  await adminPage.locator('[data-testid="user-olga"]').waitFor({ timeout: 10_000 });
  // olga limited to shop-lb there (per-cluster permissions): stored, and shown after a reload
  const olgaClusters = adminPage.locator('[data-testid="user-olga-clusters"]');
  await olgaClusters.locator('input[name="clusters"]').fill("shop-lb");
  await olgaClusters.getByRole("button", { name: "Set" }).click();
  await waitFor("olga's clusters stored", () =>
    srv.withPrisma(async (db) => JSON.stringify(await db.user.findUniqueOrThrow({ where: { name: "olga" }, select: { allClusters: true, clusters: true } })) === '{"allClusters":false,"clusters":["shop-lb"]}'));
  await adminPage.reload({ waitUntil: "domcontentloaded" });
  await waitFor("olga's clusters shown", async () => (await olgaClusters.locator('input[name="clusters"]').inputValue()) === "shop-lb");
  const wallForm = adminPage.locator("section", { hasText: "NOC wall links" });
  await wallForm.locator('input[name="name"]').fill("lobby");
  await wallForm.getByRole("button", { name: "Create" }).click();
  const secret = (await adminPage.locator('[data-testid="admin-secret"]').textContent({ timeout: 10_000 })) ?? "";
  const wallUrl = /(http\S+\/wall\?token=kamw_[A-Za-z0-9_-]{43})/.exec(secret)?.[1];
  assert.ok(wallUrl, secret);
  await screenshot(adminPage, "access-admin");

  // 5. the wall link: a wall-only session, the token gone from the URL, live data flowing
  const wall = await browser.newPage({ width: 1920, height: 1080 });
  await wall.goto(wallUrl!, { waitUntil: "domcontentloaded" });
  assert.equal(wall.url(), `${srv.url}/wall`);
  await wall.locator('[data-testid="wall-tile-shop-lb"]').waitFor({ timeout: 20_000 });
  await wall.waitForFunction(() => document.querySelector('[data-testid="wall"]')?.getAttribute("data-stale") === "false", undefined, { timeout: 20_000 });
  await wall.goto(`${srv.url}/incidents`, { waitUntil: "domcontentloaded" });
  assert.equal(wall.url(), `${srv.url}/wall`, "a wall session sees only the wall");

  assert.deepEqual(browser.errors.filter((e) => !/401|403|Failed to load resource/.test(e)), [], "no page errors, no CSP violations");
});
