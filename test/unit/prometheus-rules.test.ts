/**
 * deploy/prometheus/rules.yml checked and unit-tested by Prometheus' own promtool (Debian's package
 * `prometheus`): `promtool check rules` and `promtool test rules deploy/prometheus/rules.test.yml` (input
 * series as the monitor's replicas expose them, the alerts expected at each time). In CI (CI=true) a
 * missing promtool fails the test; elsewhere it is skipped, loudly, saying how to install it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { hasBinary } from "../helpers/bin";
import { ROOT } from "../../server/paths";

const RULES = path.join(ROOT, "deploy/prometheus/rules.yml");
const RULES_TEST = path.join(ROOT, "deploy/prometheus/rules.test.yml");
const INSTALL = "promtool is not installed: apt-get install -y prometheus (Debian; .ci/run installs it), or put Prometheus' promtool on the PATH";

const present = hasBinary("promtool");
const skip = !present && process.env.CI !== "true" ? INSTALL : false;
if (skip) console.error(`\n!!! SKIPPED: deploy/prometheus/rules.yml is NOT tested here. ${INSTALL} !!!\n`);

function promtool(...args: string[]) {
  if (!present) throw new Error(INSTALL);
  const r = spawnSync("promtool", args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("Prometheus alerting rules (deploy/prometheus/rules.yml)", () => {
  it("are valid rules", { skip }, () => {
    const r = promtool("check", "rules", RULES);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS: 9 rules found/, r.output);
  });

  it("fire, wait and resolve as rules.test.yml expects (promtool test rules)", { skip }, () => {
    const r = promtool("test", "rules", RULES_TEST);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/, r.output);
  });
});
