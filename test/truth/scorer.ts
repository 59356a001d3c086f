/**
 * The truth lab's scorer (pure): matches the incidents the product showed
 * through GET /api/incidents (with the time each was first seen open and
 * first seen closed by the poller) to the oracle's labels, and sums up per
 * kind: recall, precision, cause accuracy, detection latency, time to close
 * after the condition ended, false alarms per hour of quiet time.
 */
import type { IncidentMsg } from "../../server/protocol";
import type { Kind, Label, Truth, Window } from "./oracle";
import { DEFS } from "./oracle-types";

export interface SeenIncident {
  inc: IncidentMsg;
  /** poll time the incident was first seen */
  firstSeen: number;
  /** poll time it was first seen closed (null: still open at the end) */
  closedSeen: number | null;
}

export interface Match {
  label: Label;
  incident: string;
  code: string;
  latencyMs: number;
  /** from the condition's end to the close being visible; null when the condition had not ended, or the incident was first visible after it ended */
  closeMs: number | null;
  /** the condition ended but the incident stayed open to the end of the run */
  unclosed: boolean;
  causeOk: boolean | null;
}

export interface ScheduleScore {
  seed: number;
  matches: Match[];
  misses: Label[];
  falseAlarms: SeenIncident[];
  /** incidents inside a don't-care window */
  ignored: { incident: SeenIncident; window: Window }[];
  /** further incidents of an already matched label (split episodes) */
  duplicates: { incident: SeenIncident; label: string }[];
  info: number;
  quietMs: number;
  runMs: number;
}

export const KINDS: Kind[] = ["DUAL_MASTER", "NO_MASTER", "FAULT", "FLAPPING", "KEEPALIVED_DOWN", "STATE_MISMATCH", "CONFIG_DRIFT", "AGENT_OFFLINE"];

/** slack around a label when matching an incident to it */
export const MATCH_BEFORE_MS = 3000;
export const MATCH_AFTER_MS = 10_000;

const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

function nodesMatch(inc: IncidentMsg, hosts: string[]): boolean {
  if (inc.nodes.length === 0 || hosts.length === 0) return true;
  return inc.nodes.some((n) => hosts.includes(n));
}

/** per-router kinds must name the router's VRID (a group with an unknown VRID never raises more than info); per-host kinds any */
function vridMatch(inc: IncidentMsg, vrid: number | null): boolean {
  return vrid === null || inc.vrid === vrid;
}

function overlaps(inc: SeenIncident, start: number, end: number, runEnd: number): boolean {
  const o = ms(inc.inc.openedAt) ?? inc.firstSeen;
  const c = ms(inc.inc.closedAt) ?? runEnd + 1;
  return o <= end && c >= start;
}

/**
 * A FAULT the product opened and closed within the band: the oracle samples keepalived's state once per band
 * (1 s) and cannot see it, and its own rule makes a FAULT shorter than the band don't-care; so is this one
 * (e.g. keepalived started while its interface was down, FAULT for 0.3 s until the link came back).
 */
function belowResolution(s: SeenIncident): Window | null {
  const o = ms(s.inc.openedAt);
  const c = ms(s.inc.closedAt);
  if (s.inc.kind !== "FAULT" || o === null || c === null || c - o >= DEFS.bandMs) return null;
  return { kind: "FAULT", vrid: s.inc.vrid, host: s.inc.nodes[0] ?? null, start: o, end: c, why: `FAULT of ${c - o} ms: shorter than the band (${DEFS.bandMs} ms), below the oracle's sampling` };
}

export function scoreSchedule(seed: number, truth: Truth, seen: SeenIncident[], run: { start: number; end: number }): ScheduleScore {
  const out: ScheduleScore = { seed, matches: [], misses: [], falseAlarms: [], ignored: [], duplicates: [], info: 0, quietMs: truth.quietMs, runMs: run.end - run.start };
  const byLabel = new Map<string, SeenIncident[]>();
  const sorted = [...seen].sort((a, b) => a.firstSeen - b.firstSeen);
  for (const s of sorted) {
    if (s.inc.severity === "info") {
      out.info++;
      continue;
    }
    const cands = truth.labels.filter((l) => l.kind === s.inc.kind && vridMatch(s.inc, l.vrid) && nodesMatch(s.inc, l.hosts)
      && overlaps(s, l.start - MATCH_BEFORE_MS, l.end + MATCH_AFTER_MS, run.end));
    if (cands.length) {
      // unmatched labels first, then those whose cause this incident names, then the nearest start
      const o = ms(s.inc.openedAt) ?? s.firstSeen;
      const causeMiss = (l: Label) => Number(!!l.accepted && !l.accepted.includes(s.inc.cause.code));
      cands.sort((a, b) => Number(byLabel.has(a.id)) - Number(byLabel.has(b.id)) || causeMiss(a) - causeMiss(b) || Math.abs(a.start - o) - Math.abs(b.start - o));
      const l = cands[0];
      if (byLabel.has(l.id)) out.duplicates.push({ incident: s, label: l.id });
      byLabel.set(l.id, [...(byLabel.get(l.id) ?? []), s]);
      continue;
    }
    const w = truth.dontCare.find((d) => d.kind === s.inc.kind && vridMatch(s.inc, d.vrid) && (d.host === null || s.inc.nodes.length === 0 || s.inc.nodes.includes(d.host))
      && overlaps(s, d.start - MATCH_BEFORE_MS, d.end + MATCH_AFTER_MS, run.end));
    if (w) out.ignored.push({ incident: s, window: w });
    else if (belowResolution(s)) out.ignored.push({ incident: s, window: belowResolution(s)! });
    else out.falseAlarms.push(s);
  }
  for (const l of truth.labels) {
    const hits = byLabel.get(l.id);
    if (!hits) {
      out.misses.push(l);
      continue;
    }
    const first = hits[0];
    const last = hits[hits.length - 1];
    const closedSeen = last.closedSeen;
    out.matches.push({
      label: l, incident: first.inc.id, code: first.inc.cause.code,
      latencyMs: Math.max(0, first.firstSeen - l.start),
      // an incident first visible after the condition ended (learnt from a backlog, judged after the fact) is
      // open and closed at once: its delay is its latency, and it has no time to close of its own
      closeMs: l.ended && closedSeen !== null && first.firstSeen <= l.end ? closedSeen - l.end : null,
      unclosed: l.ended && closedSeen === null,
      causeOk: l.accepted ? hits.some((h) => l.accepted!.includes(h.inc.cause.code)) : null,
    });
  }
  return out;
}

export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface KindRow {
  kind: Kind | "ALL";
  labels: number;
  found: number;
  recall: number | null;
  falseAlarms: number;
  precision: number | null;
  causeChecked: number;
  causeOk: number;
  causeAccuracy: number | null;
  latencyP50: number | null;
  latencyP99: number | null;
  closeP50: number | null;
  closeP99: number | null;
  unclosed: number;
}

export interface Summary {
  rows: KindRow[];
  falseAlarmsPerHour: number | null;
  quietMs: number;
  runMs: number;
  info: number;
  ignored: number;
  duplicates: number;
}

export function summarize(scores: ScheduleScore[]): Summary {
  const row = (kind: Kind | "ALL"): KindRow => {
    const pick = (k: Kind | "ALL", x: Kind) => k === "ALL" || k === x;
    const matches = scores.flatMap((s) => s.matches).filter((m) => pick(kind, m.label.kind));
    const misses = scores.flatMap((s) => s.misses).filter((l) => pick(kind, l.kind));
    const fas = scores.flatMap((s) => s.falseAlarms).filter((f) => pick(kind, f.inc.kind));
    const dups = scores.flatMap((s) => s.duplicates).filter((d) => pick(kind, d.incident.inc.kind));
    const labels = matches.length + misses.length;
    const tp = matches.length + dups.length;
    const checked = matches.filter((m) => m.causeOk !== null);
    const lat = matches.map((m) => m.latencyMs);
    const close = matches.flatMap((m) => (m.closeMs === null ? [] : [m.closeMs]));
    return {
      kind, labels, found: matches.length, recall: labels ? matches.length / labels : null,
      falseAlarms: fas.length, precision: tp + fas.length ? tp / (tp + fas.length) : null,
      causeChecked: checked.length, causeOk: checked.filter((m) => m.causeOk).length,
      causeAccuracy: checked.length ? checked.filter((m) => m.causeOk).length / checked.length : null,
      latencyP50: percentile(lat, 50), latencyP99: percentile(lat, 99), closeP50: percentile(close, 50), closeP99: percentile(close, 99),
      unclosed: matches.filter((m) => m.unclosed).length,
    };
  };
  const quietMs = scores.reduce((a, s) => a + s.quietMs, 0);
  const fa = scores.reduce((a, s) => a + s.falseAlarms.length, 0);
  return {
    rows: [...KINDS.map(row).filter((r) => r.labels > 0 || r.falseAlarms > 0), row("ALL")],
    falseAlarmsPerHour: quietMs > 0 ? fa / (quietMs / 3_600_000) : null,
    quietMs, runMs: scores.reduce((a, s) => a + s.runMs, 0),
    info: scores.reduce((a, s) => a + s.info, 0),
    ignored: scores.reduce((a, s) => a + s.ignored.length, 0),
    duplicates: scores.reduce((a, s) => a + s.duplicates.length, 0),
  };
}

const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(0)}%`);
const sec = (x: number | null) => (x === null ? "-" : (x / 1000).toFixed(1));

export function formatTable(s: Summary): string {
  const head = ["kind", "labels", "found", "recall", "false alarms", "precision", "cause ok", "latency p50/p99 s", "close p50/p99 s", "unclosed"];
  const body = s.rows.map((r) => [r.kind, String(r.labels), String(r.found), pct(r.recall), String(r.falseAlarms), pct(r.precision),
    r.causeChecked ? `${r.causeOk}/${r.causeChecked} ${pct(r.causeAccuracy)}` : "-", `${sec(r.latencyP50)} / ${sec(r.latencyP99)}`, `${sec(r.closeP50)} / ${sec(r.closeP99)}`, String(r.unclosed)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(" | ")} |`;
  return [
    line(head), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...body.map(line), "",
    `false alarms per hour of quiet time: ${s.falseAlarmsPerHour === null ? "-" : s.falseAlarmsPerHour.toFixed(1)} (quiet ${(s.quietMs / 60_000).toFixed(1)} of ${(s.runMs / 60_000).toFixed(1)} min); info incidents (not scored): ${s.info}; in don't-care windows: ${s.ignored}; split episodes of a matched label: ${s.duplicates}`,
  ].join("\n");
}

export interface Thresholds {
  recall: number;
  precision: number;
  causeAccuracy: number;
  falseAlarmsPerHour: number;
  /** ms after the condition ended (p99 over every matched incident whose condition ended) */
  closeP99Ms: number;
}

/** which thresholds the summary misses (empty: all met) */
export function missedThresholds(s: Summary, t: Thresholds): string[] {
  const all = s.rows.find((r) => r.kind === "ALL")!;
  const out: string[] = [];
  if (all.recall !== null && all.recall < t.recall) out.push(`recall ${pct(all.recall)} < ${pct(t.recall)}`);
  if (all.precision !== null && all.precision < t.precision) out.push(`precision ${pct(all.precision)} < ${pct(t.precision)}`);
  if (all.causeAccuracy !== null && all.causeAccuracy < t.causeAccuracy) out.push(`cause accuracy ${pct(all.causeAccuracy)} < ${pct(t.causeAccuracy)}`);
  if (s.falseAlarmsPerHour !== null && s.falseAlarmsPerHour > t.falseAlarmsPerHour) out.push(`false alarms/h ${s.falseAlarmsPerHour.toFixed(1)} > ${t.falseAlarmsPerHour}`);
  if (all.closeP99 !== null && all.closeP99 > t.closeP99Ms) out.push(`close p99 ${sec(all.closeP99)} s > ${sec(t.closeP99Ms)} s`);
  return out;
}
