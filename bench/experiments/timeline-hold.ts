/**
 * Experiment (not part of `npm run bench`): seeds the timeline benchmark's 7-day history (bench/timeline-render.ts:
 * 10,000 transitions, 3 nodes x 2 VRIDs) into a real server, waits for the detectors, writes where it runs (server
 * URL, database URL, a signed-in cookie) to $TMPDIR/kam-timeline-hold.json and holds it open for curl, psql
 * (EXPLAIN ANALYZE) or bench/experiments/timeline-profile.ts. SIGINT/SIGTERM closes it and drops its database.
 *   KAM_TEST_DB=postgres TEST_DATABASE_URL=... npx tsx bench/experiments/timeline-hold.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestServer } from "../../test/helpers/server";
import { seed } from "../timeline-render";

export const HOLD_FILE = path.join(os.tmpdir(), "kam-timeline-hold.json");

if (process.argv[1] && path.resolve(process.argv[1]).endsWith("timeline-hold.ts")) {
  const server = await startTestServer();
  const stop = () => void server.close().then(() => process.exit(0), (e) => (console.error(e), process.exit(1)));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const s = await seed(server.url, await server.token("bench"));
  let last = "";
  for (let same = 0, i = 0; same < 3 && i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await (await fetch(`${server.url}/api/incidents?cluster=bench`)).text();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  const session = await server.session();
  fs.writeFileSync(HOLD_FILE, JSON.stringify({ url: server.url, db: server.db.databaseUrl, cookie: session.cookie }));
  console.log(`seeded ${s.records} records; server ${server.url}; written ${HOLD_FILE}; SIGINT to stop`);
  setInterval(() => {}, 1 << 30);
}
