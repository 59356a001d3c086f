/**
 * The /reports page in headless Chromium against the REAL server: a split brain and two failovers made by
 * agents through the real ingest and detectors; GET /api/reports answers the /api/stats figures for the
 * same range and its days add up to them; the page draws its recharts charts, a tooltip shows a bar's
 * value, the availability table and CSV exports carry the API's figures, and the page fits a phone.
 * Screenshots: test-results/screenshots/reports-*.png.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import type { IncidentMsg } from "../../server/protocol";
import type { ReportResponse } from "../../server/stats/report";
import type { StatsResponse } from "../../server/stats/types";
import { formatAvailability } from "../../components/format";
import { fetchChecked } from "../helpers/api-schema";
import { browserTest, noOverflow, screenshot, signIn } from "../helpers/browser";
import { parseCsv } from "../helpers/csv";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";

test("reports: the API agrees with /api/stats, the page draws its charts with tooltips, exports CSV and fits a phone", { timeout: 240_000 }, async (t) => {
  const ui = await browserTest(t);
  if (!ui) return;
  const { srv, browser } = ui;
  const agents: FakeAgent[] = [];
  t.after(() => agents.forEach((a) => a.close()));

  const token = await srv.token("shop");
  const [a, b] = await Promise.all(["a", "b"].map((n) => connectFakeAgent(srv.url, token, n)));
  agents.push(a, b);
  for (const [fa, prio] of [[a, 150], [b, 100]] as const) {
    await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: "1".repeat(64), routerId: fa === a ? "a" : "b",
      netNamespace: null, errors: [], instances: [instance({ name: "VI_1", vrid: 51, priority: prio })] }]);
    await fa.log("(VI_1) Entering BACKUP STATE (init)");
  }
  // a MASTER, then b takes over (a failover), then both MASTER (a split brain), then b steps back
  await a.log("(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
  await b.log("(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
  await a.log("(VI_1) Entering BACKUP STATE");
  await a.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs.");
  const dual = await waitFor("DUAL_MASTER opened", async () => {
    const l = (await (await fetch(`${srv.url}/api/incidents?cluster=shop&kind=DUAL_MASTER`)).json()) as IncidentMsg[];
    return l[0] ?? null;
  }, 20_000);
  await b.log("(VI_1) Master received advert from 198.18.0.1 with higher priority 150, ours 100", "(VI_1) Entering BACKUP STATE");
  await waitFor("DUAL_MASTER closed", async () => {
    const i = (await (await fetch(`${srv.url}/api/incidents/${dual.id}`)).json()) as IncidentMsg;
    return i.closedAt ? i : null;
  }, 30_000);

  // the API: the range's figures are /api/stats', and the days add up to them
  const from = new Date(Date.now() - 2 * 24 * 3600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const rep = (await fetchChecked<ReportResponse>(srv.url, `/api/reports?cluster=shop&${range}`)).body;
  const stats = (await fetchChecked<StatsResponse>(srv.url, `/api/stats?cluster=shop&${range}`)).body;
  const { totals } = rep;
  const shop = stats.clusters[0]!;
  assert.deepEqual(totals, shop, "the report's totals are /api/stats' figures");
  assert.ok(totals.failovers >= 2, `failovers ${totals.failovers}`);
  assert.ok(totals.splitBrainMs > 0 && (totals.incidents.DUAL_MASTER ?? 0) >= 1);
  assert.equal(rep.days.reduce((n, d) => n + d.failovers, 0), totals.failovers);
  assert.equal(rep.days.reduce((n, d) => n + d.splitBrainMs, 0), totals.splitBrainMs);
  const v51 = rep.vrids.find((v) => v.vrid === 51)!;
  assert.ok(v51.availability !== null && v51.availability < 1 && v51.unavailableMs >= totals.vrids.find((v) => v.vrid === 51)!.splitBrainMs);
  assert.equal((await fetch(`${srv.url}/api/reports?cluster=nope`)).status, 404);
  assert.equal((await fetch(`${srv.url}/api/reports`)).status, 400);

  // the page
  const page = await browser.newPage({ width: 1440, height: 1000 });
  await signIn(page, srv);
  await page.goto(`${srv.url}/reports?cluster=shop&days=7`, { waitUntil: "domcontentloaded" });
  await page.locator('[data-testid="failovers"] svg.recharts-surface').waitFor({ timeout: 20_000 });
  for (const id of ["failovers", "outages", "mttr", "kinds", "causes"]) {
    assert.equal(await page.locator(`[data-testid="${id}"] .recharts-wrapper`).count(), 1, `${id}: one chart`);
  }
  const bars = page.locator('[data-testid="failovers"] .recharts-bar-rectangle path');
  assert.ok((await bars.count()) >= 1, "the failovers bars are drawn");
  const page7 = (await fetchChecked<ReportResponse>(srv.url, `/api/reports?cluster=shop&from=${encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString())}`)).body;
  const today = page7.days.at(-1)!;
  // a tooltip shows the value of the bar under the pointer
  const box = (await bars.last().boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const tip = page.locator('[data-testid="failovers"] .recharts-tooltip-wrapper');
  await waitFor("the failovers tooltip", async () => ((await tip.textContent()) ?? "").includes(`failovers : ${today.failovers}`) || null, 5_000);
  const row = (await page.locator('[data-testid="vrid-51"]').textContent()) ?? "";
  const shown = formatAvailability(page7.vrids.find((v) => v.vrid === 51)!.availability);
  assert.ok(row.includes("VRID 51") && row.includes(shown) && shown !== "100 %", `${row} (expected ${shown})`);
  await screenshot(page, "reports-desktop");

  // CSV exports carry the API's figures
  const [days] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="csv-days"]')]);
  assert.match(days.suggestedFilename(), /^report-shop-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d-days\.csv$/);
  const rows = parseCsv(await readFile((await days.path())!, "utf8"));
  assert.equal(rows[0]![3], "failovers");
  assert.equal(rows.length, page7.days.length + 1);
  assert.equal(rows.slice(1).reduce((n, r) => n + Number(r[3]), 0), page7.totals.failovers);
  const [avail] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="csv-availability"]')]);
  const arows = parseCsv(await readFile((await avail.path())!, "utf8"));
  assert.deepEqual(arows.slice(1).map((r) => r[3]), page7.vrids.map((v) => v.group));

  // on a phone, both themes
  const phone = await browser.newPage({ width: 390, height: 844 });
  await signIn(phone, srv);
  await phone.goto(`${srv.url}/reports?cluster=shop&days=7`, { waitUntil: "domcontentloaded" });
  await phone.locator('[data-testid="mttr"] svg.recharts-surface').waitFor({ timeout: 20_000 });
  await noOverflow(phone, "reports");
  await screenshot(phone, "reports-phone");
  await phone.emulateMedia({ colorScheme: "dark" });
  await screenshot(phone, "reports-phone-dark");
});
