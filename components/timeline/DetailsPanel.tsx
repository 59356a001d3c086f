"use client";
import { useEffect, useState } from "react";
import type { IncidentMsg } from "../../server/protocol";
import type { LogLine } from "../../server/timeline/types";
import { INCIDENT_KIND_LOOK, SEVERITY_LOOK } from "../status";
import { StateBadge } from "../StateBadge";
import { StatusIcon } from "../StatusIcon";
import { fetchIncident, fetchLogs, type LogRequest } from "./api";
import type { Selection } from "./Swimlanes";
import { formatDuration, formatTime, formatTimeOfDay } from "../format";
import { gapSpan, gapSummary, segmentSpan, type Lane } from "./transforms";

type LogsState = { status: "loading" } | { status: "error"; reason: string } | { status: "ok"; lines: LogLine[] };

/** Log lines for a request, refetched when the request changes. */
function useLogs(cluster: string, req: LogRequest | null, key: string): LogsState {
  const [state, setState] = useState<LogsState>({ status: "loading" });
  useEffect(() => {
    if (!req) return;
    const ctl = new AbortController();
    setState({ status: "loading" });
    void fetchLogs(cluster, req, ctl.signal).then((r) => {
      if (r.ok) setState({ status: "ok", lines: r.data });
      else if (r.error.kind !== "aborted") setState({ status: "error", reason: r.error.message });
    });
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cluster, key]);
  return state;
}

type Evidence = IncidentMsg["cause"]["evidence"];

/**
 * The evidence lines of the incident shown: those it came with, or, when the timeline was loaded without
 * them (?evidence=none), GET /api/incidents/:id's. Empty while that loads or if it fails (the log lines
 * are then shown unmarked, the failure said under them).
 */
function useEvidence(incident: IncidentMsg | undefined, omitted: boolean): { lines: Evidence; error: string | null } {
  const need = !!incident && omitted && incident.cause.evidence.length === 0;
  const [fetched, setFetched] = useState<{ id: string; lines: Evidence; error: string | null } | null>(null);
  const id = incident?.id ?? null;
  useEffect(() => {
    if (!need || id === null) return;
    const ctl = new AbortController();
    void fetchIncident(id, ctl.signal).then((r) => {
      if (r.ok) setFetched({ id, lines: r.data.cause.evidence, error: null });
      else if (r.error.kind !== "aborted") setFetched({ id, lines: [], error: r.error.message });
    });
    return () => ctl.abort();
  }, [need, id]);
  if (!incident) return { lines: [], error: null };
  if (!need) return { lines: incident.cause.evidence, error: null };
  return fetched?.id === incident.id ? { lines: fetched.lines, error: fetched.error } : { lines: [], error: null };
}

/** What was clicked, and the keepalived log lines around it. */
export function DetailsPanel({
  cluster,
  selection,
  lanes,
  incidents,
  evidenceOmitted,
  now,
  onZoom,
  onClose,
}: {
  cluster: string;
  selection: Selection;
  lanes: Map<string, Lane>;
  incidents: IncidentMsg[];
  /** the timeline was loaded without the incidents' evidence lines: fetch those of the one shown */
  evidenceOmitted: boolean;
  now: number;
  onZoom: (from: number, to: number) => void;
  onClose: () => void;
}) {
  const lane = selection.kind === "segment" ? lanes.get(selection.lane) : undefined;
  const incident = selection.kind === "incident" ? incidents.find((i) => i.id === selection.id) : undefined;
  const evidence = useEvidence(incident, evidenceOmitted);
  let req: LogRequest | null = null;
  let key = "";
  let mark: (l: LogLine) => boolean = () => false;
  if (selection.kind === "segment" && lane) {
    const s = segmentSpan(selection.segment, now);
    req = selection.segment.aggregated ? { from: s.from, to: s.to, node: lane.node, limit: 400 } : { around: s.from, node: lane.node, limit: 40 };
    key = `seg:${selection.lane}:${selection.segment.from}:${selection.segment.aggregated ? selection.segment.to : ""}`;
    mark = (l) => Math.abs(Date.parse(l.at) - s.from) < 1 && !selection.segment.aggregated;
  } else if (incident) {
    req = { around: Date.parse(incident.openedAt), limit: 80 };
    key = `inc:${incident.id}`;
    const ev = new Set(evidence.lines.map((e) => `${e.node}\n${e.line}`));
    mark = (l) => ev.has(`${l.node}\n${l.line}`);
  } else if (selection.kind === "gap") {
    const g = selection.gap;
    const span = gapSpan(g);
    // the node's lines on both sides of the hole: the last delivered ones and what came after the report
    req = { around: span.from, node: g.node, limit: 60 };
    key = `gap:${g.node}:${g.fromSeq}:${g.at}`;
  }
  const logs = useLogs(cluster, req, key);
  const nodes = incident && incident.nodes.length > 0 ? new Set(incident.nodes) : null;

  return (
    <section
      data-testid="details"
      aria-live="polite"
      className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <div className="flex items-start justify-between gap-3">
        <div className="min-w-0 space-y-1">
          {selection.kind === "segment" && lane && <SegmentHeader lane={lane} selection={selection} now={now} onZoom={onZoom} />}
          {selection.kind === "incident" && incident && <IncidentHeader incident={incident} now={now} />}
          {selection.kind === "gap" && (
            <div data-testid="gap-details">
              <h3 className="flex items-center gap-2 text-sm font-semibold text-amber-900 dark:text-amber-200">
                <StatusIcon name="bang" className="size-3" /> Data gap on {selection.gap.node}
              </h3>
              <p className="text-sm">{gapSummary(selection.gap)}</p>
              <p className="text-xs text-slate-600 dark:text-slate-400">
                The agent could not deliver these records (reason above). States and incidents in this span may miss what they described.
              </p>
            </div>
          )}
          {!lane && !incident && selection.kind !== "gap" && <p className="text-sm text-slate-500">This item is no longer in the range.</p>}
        </div>
        <button type="button" onClick={onClose} className="rounded-md px-2 py-0.5 text-sm ring-1 ring-slate-300 dark:ring-slate-600" aria-label="Close details">
          Close
        </button>
      </div>
      <h3 className="mt-3 mb-1 text-xs font-semibold tracking-wide text-slate-500 uppercase dark:text-slate-400">
        {selection.kind === "incident" ? "Log lines around its start (evidence marked)" : "Log lines around it"}
      </h3>
      {logs.status === "loading" && <p className="text-sm text-slate-500">Loading log lines…</p>}
      {logs.status === "error" && <p className="text-sm text-red-700 dark:text-red-300">Could not load log lines: {logs.reason}</p>}
      {logs.status === "ok" && (
        <LogTable lines={nodes ? logs.lines.filter((l) => nodes.has(l.node)) : logs.lines} mark={mark} />
      )}
      {evidence.error && (
        <p className="text-sm text-red-700 dark:text-red-300" data-testid="evidence-error">
          Could not load the incident&apos;s evidence lines (shown unmarked): {evidence.error}
        </p>
      )}
    </section>
  );
}

function SegmentHeader({ lane, selection, now, onZoom }: { lane: Lane; selection: Extract<Selection, { kind: "segment" }>; now: number; onZoom: (f: number, t: number) => void }) {
  const seg = selection.segment;
  const s = segmentSpan(seg, now);
  return (
    <>
      <p className="flex flex-wrap items-center gap-2">
        <span className="font-mono font-semibold">{lane.node}</span>
        <span className="font-mono text-sm text-slate-600 dark:text-slate-400">
          {lane.instance} · VRID {lane.vrid ?? "?"}
        </span>
        <StateBadge state={seg.state} testId="details-state" />
      </p>
      <p className="text-sm tabular-nums">
        {formatTime(s.from, { ms: true })} → {seg.to === null ? "now" : formatTime(s.to, { ms: true })} ({formatDuration(s.to - s.from)})
      </p>
      {seg.aggregated && (
        <p className="text-sm">
          {seg.transitions ?? 0} state changes are merged here (shown as {seg.state}
          {seg.state === "FAULT" ? ", since a FAULT happened" : ", the state that lasted longest"}).{" "}
          <button type="button" className="font-semibold text-sky-700 underline dark:text-sky-300" onClick={() => onZoom(s.from, s.to)}>
            Zoom in to see each one
          </button>
        </p>
      )}
    </>
  );
}

function IncidentHeader({ incident, now }: { incident: IncidentMsg; now: number }) {
  const look = SEVERITY_LOOK[incident.severity];
  const kind = INCIDENT_KIND_LOOK[incident.kind];
  const opened = Date.parse(incident.openedAt);
  const closed = incident.closedAt === null ? now : Date.parse(incident.closedAt);
  return (
    <>
      <p className="flex flex-wrap items-center gap-2">
        <span className={`inline-flex items-center gap-1 rounded-md px-2 py-0.5 text-xs font-bold ${look.badge}`}>
          <StatusIcon name={look.icon} className="size-3" />
          {look.label}
        </span>
        <span data-testid="details-kind" className="font-semibold">
          {kind.label}
        </span>
        {incident.vrid !== null && <span className="text-sm text-slate-600 dark:text-slate-400">VRID {incident.vrid}</span>}
        <span className="text-sm text-slate-600 dark:text-slate-400">on {incident.nodes.join(", ") || "the cluster"}</span>
      </p>
      <p className="text-sm">{incident.cause.summary}</p>
      <p className="text-sm tabular-nums text-slate-600 dark:text-slate-400">
        {formatTime(opened)} → {incident.closedAt === null ? "still open" : formatTime(closed)} ({formatDuration(closed - opened)})
        {" · "}
        <a className="font-semibold text-sky-700 underline dark:text-sky-300" href={`/incidents/${encodeURIComponent(incident.id)}`}>
          incident review
        </a>
      </p>
    </>
  );
}

function LogTable({ lines, mark }: { lines: LogLine[]; mark: (l: LogLine) => boolean }) {
  if (lines.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">No log line stored around this time.</p>;
  return (
    <div className="max-h-96 overflow-auto rounded-md ring-1 ring-slate-200 dark:ring-slate-800">
      <table className="w-full text-left font-mono text-xs" data-testid="log-lines">
        <thead className="sticky top-0 bg-slate-100 text-slate-600 dark:bg-slate-800 dark:text-slate-300">
          <tr>
            <th scope="col" className="px-2 py-1 font-medium">time</th>
            <th scope="col" className="px-2 py-1 font-medium">node</th>
            <th scope="col" className="px-2 py-1 font-medium">line</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l, i) => {
            const hit = mark(l);
            return (
              <tr key={i} data-marked={hit ? "true" : undefined} className={hit ? "bg-amber-100 font-semibold dark:bg-amber-900/50" : "odd:bg-slate-50 dark:odd:bg-slate-800/40"}>
                <td className="px-2 py-0.5 whitespace-nowrap tabular-nums">{formatTimeOfDay(l.at, { ms: true })}</td>
                <td className="px-2 py-0.5 whitespace-nowrap">{l.node}</td>
                <td className="px-2 py-0.5 break-all">
                  {hit && <span className="sr-only">marked: </span>}
                  {l.line}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
