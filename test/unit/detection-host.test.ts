/**
 * DetectionHost with a stand-in for the database (a stub whose cluster lookup
 * resolves late, to reproduce the race the e2e suite found): the real
 * engine, the real incident-change plumbing.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { DetectionHost } from "../../server/incidents/detection-host";
import { Counters } from "../../server/metrics";
import { createLogger } from "../../server/log";
import type { Db } from "../../server/db/database";
import type { Notifier } from "../../server/incidents/notifier";
import type { Fact } from "../../server/detect/types";

it("feeds that arrive while a new cluster's engine is being created all reach the same engine, in order", async () => {
  let lookups = 0;
  const stubDb = {
    cluster: {
      findUnique: async () => {
        lookups++;
        await new Promise((r) => setTimeout(r, 20));
        return { id: 1, name: "c", settings: {} };
      },
    },
  } as unknown as Db;
  const host = new DetectionHost(stubDb, createLogger("silent"), new Counters(), {} as Notifier, { incident() {}, openCount() {} });
  const t = Date.now();
  const seen = (node: string, ts: number): Fact => ({ kind: "seen", node, ts });
  host.feed(1, "c", [seen("a", t)]);
  host.feed(1, "c", [seen("b", t + 1)]);
  host.feed(1, "c", [seen("c", t + 2)]);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lookups, 1, "one engine created");
  const engine = (host as unknown as { engines: Map<number, { engine: { nodeStates(): { node: string }[] } }> }).engines.get(1)!.engine;
  assert.deepEqual(engine.nodeStates().map((n) => n.node).sort(), ["a", "b", "c"], "every node's facts reached it");
  host.stop();
});
