/**
 * The configuration differences among an incident's evidence (items of kind "config"), laid out as
 * a table: one row per setting, one column per node, rows whose values differ flagged. The detectors
 * render each item as "<instance>: <setting> <value>[, <setting> <value>...]". Pure; unit-tested in
 * test/unit/incidents-ui-lanes.test.ts.
 */
import type { IncidentMsg } from "../../server/protocol";

export interface ConfigRow {
  setting: string;
  /** node -> value ("" when the node's line does not mention it) */
  values: Record<string, string>;
  differs: boolean;
}

export interface ConfigDiff {
  nodes: string[];
  /** node -> instance name as configured there */
  instances: Record<string, string>;
  rows: ConfigRow[];
}

type Evidence = IncidentMsg["cause"]["evidence"][number];

/** "advert_int 1, auth_type PASS" -> [["advert_int", "1"], ["auth_type", "PASS"]] (a value may contain spaces, not ", "). */
function settings(text: string): [string, string][] {
  return text
    .split(/,\s+(?=[a-z_]+\s)/)
    .map((part) => {
      const m = /^([A-Za-z_][\w-]*)\s*(.*)$/.exec(part.trim());
      return m ? ([m[1]!, m[2]!.trim()] as [string, string]) : (["(line)", part.trim()] as [string, string]);
    });
}

export function configDiff(evidence: readonly Evidence[]): ConfigDiff | null {
  const items = evidence.filter((e) => e.kind === "config");
  if (items.length === 0) return null;
  const nodes: string[] = [];
  const instances: Record<string, string> = {};
  const rows = new Map<string, Record<string, string>>();
  for (const e of items) {
    if (!nodes.includes(e.node)) nodes.push(e.node);
    const m = /^([^:\s][^:]*):\s+(.*)$/.exec(e.line);
    const body = m ? m[2]! : e.line;
    if (m) instances[e.node] = m[1]!;
    for (const [setting, value] of settings(body)) {
      const row = rows.get(setting) ?? {};
      row[e.node] = value;
      rows.set(setting, row);
    }
  }
  return {
    nodes,
    instances,
    rows: [...rows.entries()].map(([setting, values]) => {
      const all = nodes.map((n) => values[n] ?? "");
      return { setting, values: Object.fromEntries(nodes.map((n, i) => [n, all[i]!])), differs: new Set(all).size > 1 };
    }),
  };
}
