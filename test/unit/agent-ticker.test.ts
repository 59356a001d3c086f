import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { every, sharedSubscribers } from "../../agent/ticker";
import { ROOT } from "../helpers/server";

test("periodic work in whole seconds shares one 1-second interval; other periods keep a timer of their own", () => {
  const created: number[] = [];
  mock.timers.enable({ apis: ["setInterval"] });
  const mocked = globalThis.setInterval;
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    created.push(ms);
    return mocked(fn, ms);
  }) as typeof setInterval;
  try {
    const runs = { watch: 0, config: 0, fast: 0 };
    const watch = every(1000, () => runs.watch++);
    const config = every(5000, () => runs.config++);
    const fast = every(250, () => runs.fast++);
    assert.deepEqual(created, [1000, 250], "one shared 1 s interval for the 1 s and 5 s work, one of its own for 250 ms");
    assert.equal(sharedSubscribers(), 2);
    mock.timers.tick(10_000);
    assert.deepEqual(runs, { watch: 10, config: 2, fast: 40 });
    config.cancel();
    mock.timers.tick(5_000);
    assert.deepEqual(runs, { watch: 15, config: 2, fast: 60 }, "a cancelled subscriber no longer runs, the others do");
    watch.cancel();
    fast.cancel();
    assert.equal(sharedSubscribers(), 0);
    mock.timers.tick(5_000);
    assert.deepEqual(runs, { watch: 15, config: 2, fast: 60 });
    const again = every(2000, () => runs.watch++);
    assert.deepEqual(created, [1000, 250, 1000], "the shared interval stops with its last subscriber and starts again with the next");
    mock.timers.tick(4_000);
    assert.equal(runs.watch, 17);
    again.cancel();
  } finally {
    globalThis.setInterval = mocked;
    mock.timers.reset();
  }
});

test("a subscriber that throws does not keep the others of its tick from running, and its error is not swallowed", () => {
  const script = `
    const { every } = require(${JSON.stringify(path.join(ROOT, "agent/ticker.ts"))});
    let n = 0;
    every(1000, () => { throw new Error("boom from the first subscriber"); });
    every(1000, () => { n++; process.stdout.write("second ran " + n + "\\n"); });
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
  assert.match(r.stdout, /second ran 1/, `the second subscriber ran in the same tick: ${r.stdout} ${r.stderr}`);
  assert.match(r.stderr, /boom from the first subscriber/, "the error is thrown again, uncaught");
  assert.notEqual(r.status, 0, "an uncaught error ends the process, as from its own timer");
});
