"use client";
/**
 * A small SVG of the incident window: one lane per involved node (its instance of the incident's
 * virtual router), the incident's span shaded, evidence lines as ticks. States come from the
 * cluster timeline API when it answers, else from the state lines among the evidence.
 */
import { useEffect, useMemo, useState } from "react";
import type { IncidentMsg } from "../../server/protocol";
import { getJson } from "../http";
import { formatDuration, formatTime, formatTimeOfDay, TIME_ZONE } from "../format";
import { incidentWindow, lanesFromEvidence, lanesFromTimeline, pct, TimelineResponse, type Lane, type Window } from "./lanes";
import { STATE_PAINT } from "../paint";

const TOP = 22;
const LANE_H = 42;
const BAR_Y = 16;
const BAR_H = 18;
const BOTTOM = 22;

function LaneView({ lane, index, win }: { lane: Lane; index: number; win: Window }) {
  const y = TOP + index * LANE_H;
  return (
    <g data-testid="mini-lane" data-node={lane.node}>
      <text x="0" y={y + 11} className="fill-slate-700 font-mono text-[11px] font-semibold dark:fill-slate-300">
        {lane.node}
        {lane.instance ? ` · ${lane.instance}` : ""}
      </text>
      <line x1="0" x2="100%" y1={y + BAR_Y + BAR_H / 2} y2={y + BAR_Y + BAR_H / 2} strokeDasharray="2 4" className="stroke-slate-400" />
      {lane.segments.map((s, i) => {
        const x = pct(s.from, win);
        const w = Math.max(0.3, pct(s.to, win) - x);
        const paint = STATE_PAINT[s.state];
        return (
          <svg key={i} x={`${x}%`} y={y + BAR_Y} width={`${w}%`} height={BAR_H} data-state={s.state}>
            <title>{`${s.state} ${formatTimeOfDay(s.from, { ms: true })} – ${formatTimeOfDay(s.to, { ms: true })} ${TIME_ZONE} (${formatDuration(s.to - s.from)})`}</title>
            <rect width="100%" height="100%" style={{ fill: paint.fill, stroke: s.state === "BACKUP" ? paint.stroke : undefined }} />
            {s.state === "UNKNOWN" && <rect width="100%" height="100%" fill="url(#mini-hatch)" />}
            <text x="4" y={BAR_H - 5} className="font-mono text-[10px] font-bold" style={{ fill: paint.text }}>
              {s.state}
            </text>
          </svg>
        );
      })}
      {lane.marks.map((m, i) => (
        <line
          key={i}
          x1={`${pct(m.at, win)}%`}
          x2={`${pct(m.at, win)}%`}
          y1={y + BAR_Y + BAR_H + 1}
          y2={y + BAR_Y + BAR_H + 6}
          strokeWidth="1.5"
          className="stroke-slate-600 dark:stroke-slate-300"
        >
          <title>{`${m.kind} evidence at ${formatTimeOfDay(m.at, { ms: true })} ${TIME_ZONE}`}</title>
        </line>
      ))}
    </g>
  );
}

export function MiniTimeline({ incident, now }: { incident: IncidentMsg; now: number }) {
  const [timeline, setTimeline] = useState<{ data: TimelineResponse | null; note: string | null }>({ data: null, note: null });
  const win = useMemo(() => incidentWindow(incident, now), [incident, now]);
  // fetch once per incident state (and every 30 s while it is open)
  const fetchKey = `${incident.id}|${incident.closedAt}|${incident.closedAt ? 0 : Math.floor(now / 30_000)}`;
  useEffect(() => {
    const controller = new AbortController();
    const w = incidentWindow(incident, Date.now());
    const q = new URLSearchParams({ from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString(), width: "600" });
    void getJson(`/api/clusters/${encodeURIComponent(incident.cluster)}/timeline?${q}`, TimelineResponse, controller.signal).then((r) => {
      if (controller.signal.aborted) return;
      if (r.ok) setTimeline({ data: r.data, note: null });
      else setTimeline({ data: null, note: r.error.status === 404 ? "the cluster timeline is not available" : `the cluster timeline failed (${r.error.message})` });
    });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fetchKey]);

  const fromApi = timeline.data ? lanesFromTimeline(timeline.data, incident, win, now) : [];
  const useApi = fromApi.some((l) => l.segments.length > 0);
  const lanes = useApi ? fromApi : lanesFromEvidence(incident, win, now);
  const height = TOP + lanes.length * LANE_H + BOTTOM;
  const opened = pct(Date.parse(incident.openedAt), win);
  const closed = pct(incident.closedAt ? Date.parse(incident.closedAt) : Math.min(now, win.to), win);

  return (
    <figure data-testid="mini-timeline" data-source={useApi ? "timeline" : "evidence"} className="space-y-1">
      <svg width="100%" height={height} role="img" aria-label={`States of ${lanes.map((l) => l.node).join(", ")} around the incident`} className="overflow-visible">
        <defs>
          <pattern id="mini-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
            <line x1="0" y1="0" x2="0" y2="6" strokeWidth="2" className="stroke-amber-700/50" />
          </pattern>
        </defs>
        <rect x={`${opened}%`} y={TOP - 4} width={`${Math.max(0.3, closed - opened)}%`} height={lanes.length * LANE_H + 4} className="fill-red-500/10 dark:fill-red-400/15" />
        <line x1={`${opened}%`} x2={`${opened}%`} y1={12} y2={TOP + lanes.length * LANE_H} strokeDasharray="4 3" className="stroke-red-600 dark:stroke-red-400" />
        <text x={`${opened}%`} y="10" dx="3" className="fill-red-700 text-[10px] font-semibold dark:fill-red-300">
          opened
        </text>
        {incident.closedAt && (
          <>
            <line x1={`${closed}%`} x2={`${closed}%`} y1={12} y2={TOP + lanes.length * LANE_H} strokeDasharray="4 3" className="stroke-slate-600 dark:stroke-slate-300" />
            <text x={`${closed}%`} y="10" dx="-3" textAnchor="end" className="fill-slate-700 text-[10px] font-semibold dark:fill-slate-300">
              closed
            </text>
          </>
        )}
        {lanes.map((l, i) => (
          <LaneView key={`${l.node}|${l.instance}`} lane={l} index={i} win={win} />
        ))}
        <text x="0" y={height - 6} className="fill-slate-500 text-[10px] tabular-nums dark:fill-slate-400">
          {formatTime(win.from)}
        </text>
        <text x="100%" y={height - 6} textAnchor="end" className="fill-slate-500 text-[10px] tabular-nums dark:fill-slate-400">
          {formatTime(win.to)}
        </text>
      </svg>
      <figcaption className="text-xs text-slate-500 dark:text-slate-400">
        {useApi ? "States from the cluster timeline." : `States from the evidence lines${timeline.note ? ` (${timeline.note})` : ""}; blank where unknown.`}{" "}
        Ticks mark evidence lines; the shaded span is the incident.
      </figcaption>
    </figure>
  );
}
