/** What the settings pages send from what was typed (components/admin/forms.ts, components/maintenance/windows.ts). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { auditSearch, newChannelBody, settingsPatch } from "../../components/admin/forms";
import { newWindowBody, windowState } from "../../components/maintenance/windows";

describe("the settings pages' forms", () => {
  it("audit filters: times typed as UTC, empty ones left out, the page cursor", () => {
    assert.equal(auditSearch({ from: "", to: "", actor: "", action: "" }), "");
    assert.equal(auditSearch({ from: "2026-12-01T10:00", to: "", actor: " ann ", action: "user" }, "42"), "from=2026-12-01T10%3A00%3A00.000Z&actor=ann&action=user&before=42");
  });
  it("a new channel: email settings only for email, empty fields left out", () => {
    assert.deepEqual(newChannelBody({ cluster: " shop ", format: "json", url: "", minSeverity: "info", secret: "" }), { cluster: "shop", format: "json", minSeverity: "info" });
    assert.deepEqual(newChannelBody({ cluster: "shop", format: "email", url: "smtp://m:587", secret: "pw", to: "a@x, b@x,", from: "k@x", user: "k", ca: "" }), {
      cluster: "shop", format: "email", url: "smtp://m:587", secret: "pw", email: { to: ["a@x", "b@x"], from: "k@x", user: "k" },
    });
  });
  it("detector settings: changed numbers only, an emptied field back to the default, a bad number refused", () => {
    assert.deepEqual(settingsPatch({ flapCount: "6", holdDownMs: "", graceMs: "" }, { holdDownMs: 1000 }), { ok: true, patch: { flapCount: 6, holdDownMs: null } });
    assert.deepEqual(settingsPatch({ flapCount: "4" }, { flapCount: 4 }), { ok: true, patch: {} });
    assert.equal(settingsPatch({ flapCount: "six" }, {}).ok, false);
  });
  it("maintenance windows: where one stands; a new one checked before it is sent", () => {
    const w = { from: "2026-12-06T10:00:00Z", to: "2026-12-06T11:00:00Z" };
    assert.equal(windowState(w, Date.parse("2026-12-06T09:00:00Z")), "upcoming");
    assert.equal(windowState(w, Date.parse("2026-12-06T10:30:00Z")), "active");
    assert.equal(windowState(w, Date.parse("2026-12-06T11:00:00Z")), "over");
    const now = Date.parse("2026-12-06T10:00:00Z");
    assert.deepEqual(newWindowBody({ cluster: "shop", vrid: "51", from: "", to: "2026-12-06T12:00", reason: " upgrade " }, now), {
      ok: true, body: { cluster: "shop", from: "2026-12-06T10:00:00.000Z", to: "2026-12-06T12:00:00.000Z", reason: "upgrade", vrid: 51 },
    });
    assert.equal(newWindowBody({ cluster: "shop", vrid: "", from: "", to: "2026-12-06T09:00", reason: "" }, now).ok, false, "ends before it starts");
    assert.equal(newWindowBody({ cluster: "shop", vrid: "300", from: "", to: "2026-12-06T12:00", reason: "" }, now).ok, false, "no VRID 300");
    assert.equal(newWindowBody({ cluster: "", vrid: "", from: "", to: "2026-12-06T12:00", reason: "" }, now).ok, false);
  });
});
