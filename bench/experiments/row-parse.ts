/**
 * Experiment (not part of `npm run bench`): what parsing raw SQL rows with
 * their zod schema (server/db/rows.ts) costs on the timeline's hot path: the
 * state changes of one range as the timeline statement returns them (a JSON
 * array of tuples), 10,000 of them, and the most incidents it sends with
 * them (2,001, five evidence lines each), each parsed in full and first
 * element only (what server/timeline/store.ts does). CPU time per parse (process.cpuUsage: less disturbed by other load than wall time).
 *
 *   npx tsx bench/experiments/row-parse.ts
 */
import { z } from "zod";
import { firstChecked, parseRows } from "../../server/db/rows";
import { IncidentMsg } from "../../server/protocol";

const N = 10_000;
const Tuple = z.tuple([z.number(), z.string(), z.number().nullable(), z.string(), z.number()]);
const Rows = z.object({ rows: z.array(Tuple).nullable() });
const rows = Array.from({ length: N }, (_, i) => [i % 7, `VI_${i % 3}`, i % 5 ? 51 : null, i % 2 ? "MASTER" : "BACKUP", 1.7e12 + i * 1000.5]);

const incidents = Array.from({ length: 2001 }, (_, i) => ({
  id: String(i), cluster: "c", kind: "FAULT", severity: "critical", vrid: 51, instances: { a: "VI_1", b: "VI_1" }, nodes: ["a", "b"],
  openedAt: "2024-05-01T12:00:00.000Z", closedAt: null, silenced: false,
  cause: { code: "x", summary: "y", evidence: Array.from({ length: 5 }, () => ({ node: "a", at: "2024-05-01T12:00:00.000Z", line: "Keepalived_vrrp: VI_1 entering FAULT", kind: "state" })) },
}));

function time(label: string, schema: z.ZodType, row: unknown = { rows }) {
  const run = () => parseRows("timeline", schema, [row]);
  const cold = process.cpuUsage();
  run();
  const first = process.cpuUsage(cold);
  for (let i = 0; i < 20; i++) run();
  const ms: number[] = [];
  for (let i = 0; i < 100; i++) {
    const c = process.cpuUsage();
    run();
    const d = process.cpuUsage(c);
    ms.push((d.user + d.system) / 1000);
  }
  ms.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(2).padStart(6);
  console.log(`${label}: first call ${f((first.user + first.system) / 1000)} ms CPU, then median ${f(ms[50])} ms, p90 ${f(ms[90])} ms`);
}

time(`${N} state rows, full        `, Rows);
time(`${N} state rows, first only  `, z.object({ rows: firstChecked(Tuple).nullable() }));
time(`${incidents.length} incidents, full         `, z.object({ incidents: z.array(IncidentMsg) }), { incidents });
time(`${incidents.length} incidents, first only   `, z.object({ incidents: firstChecked(IncidentMsg) }), { incidents });
