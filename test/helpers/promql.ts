/**
 * What a PromQL expression (as written in deploy/prometheus/rules.yml and deploy/grafana/dashboard.json)
 * reads: the metric names it selects, the labels it matches each on, and the labels it groups by, so a test
 * can check them against what /metrics exposes. Not a PromQL parser: enough for selectors, matchers,
 * aggregations, `by`/`without`/`on`/`ignoring`/`group_*` clauses, functions, ranges, strings and Grafana's
 * $variables; a piece it does not understand is left as a name and fails the check that follows.
 */

export interface PromSelector {
  metric: string;
  /** label names of its matchers (`{cluster=~"$cluster"}`: cluster) */
  labels: string[];
}

export interface PromQuery {
  selectors: PromSelector[];
  /** labels of by / without / on / ignoring / group_left / group_right clauses */
  grouping: string[];
}

/** a metric name as Prometheus allows it */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const KEYWORDS = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan", "atan2"]);
const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g;

export function readPromQL(expr: string): PromQuery {
  const selectors: PromSelector[] = [];
  const grouping: string[] = [];
  // selectors with matchers: `name{...}` (the name may be absent: `{__name__="x"}`)
  let rest = expr.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g, (_m, name: string | undefined, body: string) => {
    const labels = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map((m) => m[1]);
    const named = labels.includes("__name__") ? /__name__\s*=\s*"([^"]*)"/.exec(body)?.[1] : undefined;
    const metric = name ?? named;
    if (!metric) throw new Error(`a selector without a metric name in: ${expr}`);
    selectors.push({ metric, labels: labels.filter((l) => l !== "__name__") });
    return " ";
  });
  rest = rest
    .replace(STRING, " ")
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries: [5m], [$__rate_interval], [1h:5m]
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, _kw: string, list: string) => {
      grouping.push(...list.split(",").map((l) => l.trim()).filter(Boolean));
      return " ";
    })
    .replace(/\boffset\s+-?[0-9a-z]+/g, " ")
    .replace(/\$[a-zA-Z_][a-zA-Z0-9_]*/g, " ")
    .replace(/(^|[^a-zA-Z0-9_:])(?:0x[0-9a-f]+|[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)(?![a-zA-Z0-9_:])/gi, "$1 ");
  for (const m of rest.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const word = m[1];
    if (m[2] || KEYWORDS.has(word.toLowerCase())) continue; // a function or an operator
    selectors.push({ metric: word, labels: [] });
  }
  return { selectors, grouping };
}
