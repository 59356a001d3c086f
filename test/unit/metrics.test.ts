import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Counters, HELP, VERSION, buildInfo } from "../../server/metrics";
import { ROOT } from "../../server/paths";
import { parsePromText, samplesOf } from "../helpers/prom-text";

describe("/metrics through prom-client (issue 15)", () => {
  it("counters carry the catalogue's help and type, labels as given; kam_build_info names the version", async () => {
    const c = new Counters();
    c.inc("kam_ingest_rejected_total", { code: "rate_limited" });
    c.inc("kam_ingest_rejected_total", { code: "rate_limited" }, 2);
    c.inc("kam_ingest_batches_total");
    const text = await c.registry.metrics();
    assert.match(text, new RegExp(`# HELP kam_ingest_rejected_total ${HELP.kam_ingest_rejected_total[1]}\n# TYPE kam_ingest_rejected_total counter\nkam_ingest_rejected_total\\{code="rate_limited"\\} 3\n`));
    assert.match(text, /^kam_ingest_batches_total 1$/m);
    const build = samplesOf(parsePromText(text), "kam_build_info");
    assert.deepEqual(build.map((b) => [b.labels, b.value]), [
      [{ version: VERSION, commit: c.build.commit, node_version: process.version, node: process.version }, 1],
    ]);
    assert.equal(await c.get("kam_ingest_rejected_total", { code: "rate_limited" }), 3);
    assert.equal(await c.get("kam_ingest_rejected_total", { code: "other" }), 0);
    assert.equal(await c.get("kam_login_total", { result: "ok" }), 0, "never counted");
  });

  it("a bad increment (negative, not finite, other labels) is counted, never thrown", async () => {
    const c = new Counters();
    c.inc("kam_login_total", { result: "ok" });
    assert.doesNotThrow(() => c.inc("kam_login_total", { result: "ok" }, -1));
    assert.doesNotThrow(() => c.inc("kam_login_total", { result: "ok" }, Number.NaN));
    assert.doesNotThrow(() => c.inc("kam_login_total", { user: "x" }));
    assert.equal(await c.get("kam_login_total", { result: "ok" }), 1);
    assert.equal(await c.get("kam_metrics_invalid_increments_total", { metric: "kam_login_total" }), 3);
  });

  it("the server's registry has prom-client's process and Node.js metrics, the event-loop delay without a quantile label", async () => {
    const text = await new Counters({ defaults: true }).registry.metrics();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_p99_seconds", "nodejs_heap_size_used_bytes"]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    // the only gauge with a quantile label is the deprecated name, kept one release (docs/METRICS.md)
    const quantiled = [...parsePromText(text).values()].filter((f) => f.type === "gauge" && f.samples.some((s) => "quantile" in s.labels));
    assert.deepEqual(quantiled.map((f) => f.name), ["kam_event_loop_lag_seconds"]);
    assert.match(HELP.kam_event_loop_lag_seconds[1], /^DEPRECATED/);
    assert.deepEqual(quantiled[0].samples.map((s) => s.labels.quantile), ["0.5", "0.99", "1"]);
    assert.doesNotMatch(await new Counters().registry.metrics(), /process_cpu_seconds_total|kam_event_loop_lag_seconds/, "not in test instances unless asked");
  });

  it("kam_build_info's commit: KAM_BUILD_COMMIT, else the checkout's HEAD, else unknown with the reason", () => {
    assert.equal(buildInfo({ KAM_BUILD_COMMIT: "abc123" }).commit, "abc123");
    const here = buildInfo({});
    if (fs.existsSync(path.join(ROOT, ".git"))) {
      assert.match(here.commit, /^[0-9a-f]{40}$/, here.commitUnknown);
    }
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), "kam-build-"));
    try {
      const b = buildInfo({}, bare);
      assert.equal(b.commit, "unknown");
      assert.match(b.commitUnknown ?? "", /not a git checkout/);
      assert.equal(b.version, VERSION);
      assert.equal(b.nodeVersion, process.version);
    } finally {
      fs.rmSync(bare, { recursive: true });
    }
  });
});
