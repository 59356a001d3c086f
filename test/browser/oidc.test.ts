/**
 * Sign-in with the identity provider in headless Chromium against the REAL server and a REAL OpenID Connect
 * provider (oidc-provider on 127.0.0.1, test/helpers/oidc.ts): the login page offers "Sign in with Test IdP"
 * beside the local form; the provider's own login and consent pages are filled in; the browser lands on the
 * dashboard signed in with the role the user's group maps to. A user without a mapped group lands back on
 * the login page, which says why. The dashboard's pages run under the production CSP: any error on them fails.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { browserTest, screenshot } from "../helpers/browser";
import { startTestIdp } from "../helpers/oidc";

test("signs in with the identity provider from the login page and lands on the dashboard", { timeout: 300_000 }, async (t) => {
  const idp = await startTestIdp({ alice: { groups: ["ops-admins"] }, carol: { groups: ["marketing"] } });
  t.after(() => idp.close());
  const ui = await browserTest(t, {
    env: {
      KAM_OIDC_ISSUER: idp.issuer, KAM_OIDC_CLIENT_ID: idp.clientId, KAM_OIDC_CLIENT_SECRET: idp.clientSecret,
      KAM_OIDC_SCOPES: "openid profile groups", KAM_OIDC_ROLE_MAP: "admin=ops-admins,operator=ops", KAM_OIDC_PROVIDER_NAME: "Test IdP",
    },
  });
  if (!ui) return;
  const { srv, browser } = ui;
  idp.attach(`${srv.url}/api/auth/oidc/callback`);

  // 1. a page without a session goes to /login, which offers the provider and the local form
  const page = await browser.newPage();
  await page.goto(`${srv.url}/`, { waitUntil: "domcontentloaded" });
  assert.match(page.url(), /\/login\?next=%2F$/);
  const button = page.locator('[data-testid="oidc-sign-in"]');
  await button.waitFor();
  assert.equal((await button.textContent())?.trim(), "Sign in with Test IdP");
  await page.locator('[data-testid="login-form"][data-ready="true"]').waitFor();
  await screenshot(page, "oidc-login-page");

  // 2. the provider's pages: its login form (any password), then its consent
  await button.click();
  await page.waitForURL((u) => u.origin === idp.issuer, { timeout: 20_000 });
  await page.locator('input[name="login"]').waitFor();
  await screenshot(page, "oidc-provider-login");
  await page.fill('input[name="login"]', "alice");
  await page.fill('input[name="password"]', "anything");
  await page.click('button[type="submit"]');
  await page.locator('button:has-text("Continue")').waitFor({ timeout: 20_000 });
  await page.click('button:has-text("Continue")');

  // 3. back on the dashboard, signed in as the provider's user with the mapped role
  await page.waitForURL(`${srv.url}/`, { timeout: 20_000 });
  await page.locator('[data-testid="signed-in-user"]').waitFor();
  assert.match((await page.locator('[data-testid="signed-in-user"]').textContent()) ?? "", /alice.*admin/);
  const session = (await page.context().cookies()).find((c) => c.name === "kam_session");
  assert.ok(session?.httpOnly, "the same session cookie as a password sign-in");
  assert.equal((await page.context().cookies()).find((c) => c.name === "kam_oidc"), undefined, "the flow cookie is gone");
  await screenshot(page, "oidc-signed-in-dashboard");
  // the admin page marks the provider's user
  await page.goto(`${srv.url}/admin`, { waitUntil: "domcontentloaded" });
  await page.locator('[data-testid="user-alice-oidc"]').waitFor({ timeout: 20_000 });
  assert.equal((await page.locator('[data-testid="user-alice-oidc"]').textContent())?.trim(), "SSO");

  // 4. a user none of whose groups maps to a role: back on the login page, told why, not signed in
  const other = await browser.newPage();
  await other.goto(`${srv.url}/login`, { waitUntil: "domcontentloaded" });
  await other.locator('[data-testid="oidc-sign-in"]').click();
  await other.locator('input[name="login"]').waitFor({ timeout: 20_000 });
  await other.fill('input[name="login"]', "carol");
  await other.fill('input[name="password"]', "anything");
  await other.click('button[type="submit"]');
  await other.locator('button:has-text("Continue")').click({ timeout: 20_000 });
  await other.waitForURL(`${srv.url}/login?oidc_error=no_role`, { timeout: 20_000 });
  const refusal = other.locator('[data-testid="oidc-error"]');
  await refusal.waitFor();
  assert.match((await refusal.textContent()) ?? "", /none of your groups gives access/);
  assert.equal((await other.context().cookies()).find((c) => c.name === "kam_session"), undefined);
  await screenshot(other, "oidc-refused-no-role");

  // the dashboard's pages ran clean (the provider's development pages are not ours to judge)
  const ours = browser.errors.filter((e) => e.startsWith(srv.url));
  assert.deepEqual(ours, []);
});
