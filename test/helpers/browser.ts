/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core
 * (`npx playwright install` cannot download browsers on these machines).
 *
 * Each launch gets a fresh, throw-away profile: playwright-core creates a temporary
 * --user-data-dir for `launch()` and deletes it on close (it refuses a --user-data-dir argument).
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startTestServer, type TestServer, type TestServerOptions } from "./server";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-results", "screenshots");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Viewport {
  width: number;
  height: number;
}

export interface BrowserHarness {
  browser: Browser;
  /** a page in its own context (no shared cookies/storage) with the given viewport (default 1280x800) */
  newPage(viewport?: Viewport): Promise<Page>;
  /** uncaught page errors and console errors seen so far, "<page url>: <message>" */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Skip (t.skip, returns false) when Chromium is missing, unless CI=true: then throw, naming the fix.
 * Call at the top of a browser test: `if (!requireChromium(t)) return;`.
 */
export function requireChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const reason = `Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`;
  if (process.env.CI === "true") throw new Error(reason);
  t.skip(reason);
  return false;
}

export async function launchBrowser(): Promise<BrowserHarness> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  const errors: string[] = [];
  return {
    browser,
    errors,
    async newPage(viewport: Viewport = { width: 1280, height: 800 }) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.on("pageerror", (err) => errors.push(`${page.url()}: ${err.message}`));
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(`${page.url()}: ${msg.text()}`);
      });
      return page;
    },
    async close() {
      await browser.close();
    },
  };
}

/** Full-page PNG at test-results/screenshots/<name>.png (git-ignored); returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`screenshot name must be a plain file name: ${name}`);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Signs the page's browser context in as a session of the test server (the
 * cookie a real sign-in sets, created with the server's own session store).
 */
export async function signIn(page: Page, srv: { url: string; session(role?: "viewer" | "operator" | "admin"): Promise<{ secret: string; user: string }> }, role: "viewer" | "operator" | "admin" = "viewer"): Promise<string> {
  const s = await srv.session(role);
  await page.context().addCookies([{ name: "kam_session", value: s.secret, url: srv.url, httpOnly: true, sameSite: "Lax" }]);
  return s.user;
}

/** Build the UI (scripts/ensure-build.mjs: next build when .next is missing or older than its sources): the browser tests run the built app. */
export async function ensureUiBuilt(): Promise<void> {
  const script = "../../scripts/ensure-build.mjs";
  const mod = (await import(script)) as { ensureBuild(): void };
  mod.ensureBuild();
}

/** the page fits its viewport's width: no horizontal scrolling (phone layouts) */
export async function noOverflow(page: Page, what: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`${what}: horizontal scrolling at this width (overflow ${overflow}px)`);
}

/**
 * The prelude every browser test shares: Chromium present (else the test is skipped, and fails under
 * CI=true), the UI built, a real server and a browser, both closed after the test (even when it fails).
 * null: skipped.
 */
export async function browserTest(t: TestContext, opts: TestServerOptions = {}): Promise<{ srv: TestServer; browser: BrowserHarness } | null> {
  if (!requireChromium(t)) return null;
  await ensureUiBuilt();
  const srv = await startTestServer(opts);
  t.after(() => srv.close());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  return { srv, browser };
}
