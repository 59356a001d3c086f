import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counters, HELP, VERSION } from "../../server/metrics";

describe("/metrics through prom-client (issue 15)", () => {
  it("counters carry the catalogue's help and type, labels as given; kam_build_info names the version", async () => {
    const c = new Counters();
    c.inc("kam_ingest_rejected_total", { code: "rate_limited" });
    c.inc("kam_ingest_rejected_total", { code: "rate_limited" }, 2);
    c.inc("kam_ingest_batches_total");
    const text = await c.registry.metrics();
    assert.match(text, new RegExp(`# HELP kam_ingest_rejected_total ${HELP.kam_ingest_rejected_total[1]}\n# TYPE kam_ingest_rejected_total counter\nkam_ingest_rejected_total\\{code="rate_limited"\\} 3\n`));
    assert.match(text, /^kam_ingest_batches_total 1$/m);
    assert.match(text, new RegExp(`^kam_build_info\\{version="${VERSION.replace(/\./g, "\\.")}",node="${process.version.replace(/\./g, "\\.")}"\\} 1$`, "m"));
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
    assert.doesNotMatch(text, /quantile=/, "no gauge with a quantile label");
    assert.doesNotMatch(await new Counters().registry.metrics(), /process_cpu_seconds_total/, "not in test instances unless asked");
  });
});
