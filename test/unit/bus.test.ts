/** The server's event bus (server/bus.ts): typed delivery, order, unsubscribe, a failing subscriber. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { EventBus } from "../../server/bus";
import { Counters } from "../../server/metrics";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: "info" }, out), lines };
}

it("delivers each event to its subscribers, in subscription order, until they unsubscribe", () => {
  const { log } = capture();
  const bus = new EventBus(log, new Counters());
  const got: string[] = [];
  const off = bus.on("agentGone", ({ agentId }) => got.push(`a:${agentId}`));
  bus.on("agentGone", ({ agentId }) => got.push(`b:${agentId}`));
  bus.on("agentOutbox", ({ agentId, depth }) => got.push(`outbox:${agentId}:${depth}`));
  bus.emit("agentGone", { agentId: "x" });
  bus.emit("agentOutbox", { agentId: "x", depth: 3 });
  off();
  bus.emit("agentGone", { agentId: "y" });
  assert.deepEqual(got, ["a:x", "b:x", "outbox:x:3", "b:y"]);
  assert.equal(bus.count("agentGone"), 1);
  assert.equal(bus.count("summaryChanged"), 0);
});

it("a subscriber that throws is logged and counted; the others and the publisher go on", async () => {
  const { log, lines } = capture();
  const counters = new Counters();
  const bus = new EventBus(log, counters);
  const got: number[] = [];
  bus.on("openIncidents", () => {
    throw new Error("boom");
  });
  bus.on("openIncidents", ({ open }) => got.push(open));
  assert.doesNotThrow(() => bus.emit("openIncidents", { cluster: "c", open: 2 }));
  assert.deepEqual(got, [2], "the second subscriber still ran");
  assert.equal(await counters.get("kam_bus_listener_errors_total", { event: "openIncidents" }), 1);
  await new Promise((r) => setImmediate(r));
  const err = lines.find((l) => l.event === "openIncidents");
  assert.ok(err, "the failure is logged with the event's name");
  assert.match(String((err.err as { message?: string }).message), /boom/);
});
