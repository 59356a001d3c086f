/**
 * Prometheus text exposition (format 0.0.4) read back into families and samples, for tests that check
 * what /metrics exposes: names, types, help, labels and values. Strict: a line it cannot read throws.
 */

export interface PromSample {
  /** the sample's own name (a histogram's `_bucket`, `_sum`, `_count` included) */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/** a label value as written, unescaped (\\, \", \n) */
const unescape = (v: string) => v.replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));

function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m) throw new Error(`unreadable labels at ${at} in: ${line}`);
    if (m[1] in out) throw new Error(`label ${m[1]} twice in: ${line}`);
    out[m[1]] = unescape(m[2]);
  }
  return out;
}

/** a sample value: Prometheus reads NaN and Inf in any case (Go's ParseFloat); prom-client writes "Nan" */
const number = (v: string) => {
  const l = v.toLowerCase();
  return l === "+inf" || l === "inf" ? Infinity : l === "-inf" ? -Infinity : l === "nan" ? NaN : Number(v);
};

/** every family of the text by name; a sample belongs to the family declared before it whose name it extends */
export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  let current: PromFamily | null = null;
  const family = (name: string) => {
    if (!NAME.test(name)) throw new Error(`not a metric name: ${name}`);
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      current = family(meta[2]);
      if (meta[1] === "HELP") current.help = meta[3].replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      else current.type = meta[3];
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`unreadable sample line: ${line}`);
    const value = number(m[3]);
    if (Number.isNaN(value) && m[3].toLowerCase() !== "nan") throw new Error(`unreadable value in: ${line}`);
    const owner: PromFamily = current && m[1].startsWith(current.name) ? current : family(m[1]);
    owner.samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value });
  }
  return families;
}

/** the samples of one family whose labels include `match` */
export function samplesOf(families: Map<string, PromFamily>, name: string, match: Record<string, string> = {}): PromSample[] {
  return (families.get(name)?.samples ?? []).filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
