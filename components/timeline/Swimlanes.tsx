"use client";
import { useMemo, useRef, useState, type PointerEvent as ReactPointerEvent, type RefObject } from "react";
import type { DataGap, TimelineResponse, TimelineSegment } from "../../server/timeline/types";
import { formatDuration, formatTime } from "../format";
import { StateBadge } from "../StateBadge";
import { GapTrack } from "./GapTrack";
import { IncidentTrack } from "./IncidentTrack";
import { LaneRow } from "./LaneRow";
import {
  currentState,
  groupLanes,
  incidentAt,
  incidentTrack,
  laneStrip,
  laneKey,
  segmentAt,
  segmentSpan,
  timeTicks,
  xScale,
  type Lane,
  type StripPiece,
} from "./transforms";

export type Selection =
  | { kind: "segment"; lane: string; segment: TimelineSegment }
  | { kind: "incident"; id: string }
  | { kind: "gap"; gap: DataGap };

const DRAG_MIN_PX = 6;
const NO_STRIP: StripPiece[] = [];
const LABELS = "grid grid-cols-1 sm:grid-cols-[12rem_minmax(0,1fr)] sm:gap-x-3";

interface Props {
  data: TimelineResponse;
  from: number;
  to: number;
  now: number;
  width: number;
  plotRef: (n: HTMLDivElement | null) => void;
  plotEl: RefObject<HTMLDivElement | null>;
  prefix: string;
  selection: Selection | null;
  onSelect: (s: Selection) => void;
  onZoom: (from: number, to: number) => void;
}

/** Axis, incident track and one swimlane per node x VRID, grouped by VRID; drag across them to zoom. */
export function Swimlanes({ data, from, to, now, width, plotRef, plotEl, prefix, selection, onSelect, onZoom }: Props) {
  const ticks = useMemo(() => timeTicks(from, to, width), [from, to, width]);
  const x = xScale(from, to, width);
  const pxMs = (to - from) / Math.max(1, width);
  const track = useMemo(() => incidentTrack(data.incidents, from, to, now, pxMs), [data.incidents, from, to, now, pxMs]);
  const groups = useMemo(() => groupLanes(data.lanes), [data.lanes]);
  const lanesByKey = useMemo(() => new Map(data.lanes.map((l) => [laneKey(l), l])), [data.lanes]);
  const strips = useMemo(
    () => new Map(data.lanes.map((l) => [laneKey(l), laneStrip(data.incidents, l, from, to, now, pxMs * 2)])),
    [data.lanes, data.incidents, from, to, now, pxMs],
  );
  const [drag, setDrag] = useState<{ x0: number; x1: number } | null>(null);
  const [hover, setHover] = useState<{ left: number; top: number; text: string } | null>(null);
  const dragging = useRef<{ x0: number; id: number; moved: boolean } | null>(null);
  const suppressClick = useRef(false);
  const box = useRef<HTMLDivElement>(null);

  const plotX = (clientX: number) => {
    const r = plotEl.current?.getBoundingClientRect();
    return r ? Math.min(r.width, Math.max(0, clientX - r.left)) : 0;
  };
  const inPlot = (clientX: number) => {
    const r = plotEl.current?.getBoundingClientRect();
    return !!r && clientX >= r.left && clientX <= r.right;
  };
  const timeAt = (px: number) => from + (px / Math.max(1, width)) * (to - from);

  const onPointerDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (e.button !== 0 || !inPlot(e.clientX) || (e.target as Element).closest("button")) return;
    dragging.current = { x0: plotX(e.clientX), id: e.pointerId, moved: false };
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLDivElement>) => {
    const d = dragging.current;
    if (d && d.id === e.pointerId) {
      const x1 = plotX(e.clientX);
      if (!d.moved && Math.abs(x1 - d.x0) >= DRAG_MIN_PX) {
        d.moved = true;
        e.currentTarget.setPointerCapture(e.pointerId);
      }
      if (d.moved) {
        setDrag({ x0: d.x0, x1 });
        setHover(null);
      }
      return;
    }
    const h = hit(e.target as Element, e.clientX);
    setHover(h && box.current ? describeHover(h.lane, h.index, e, now, box.current) : null);
  };
  const onPointerUp = (e: ReactPointerEvent<HTMLDivElement>) => {
    const d = dragging.current;
    dragging.current = null;
    setDrag(null);
    if (!d || d.id !== e.pointerId || !d.moved) return;
    suppressClick.current = true;
    setTimeout(() => (suppressClick.current = false), 0);
    const x1 = plotX(e.clientX);
    onZoom(timeAt(Math.min(d.x0, x1)), timeAt(Math.max(d.x0, x1)));
  };
  /** the lane and segment under the pointer, found by time (thin segments are drawn as shared paths) */
  const hit = (target: Element, clientX: number): { key: string; lane: Lane; index: number } | null => {
    const key = target.closest("[data-key]")?.getAttribute("data-key");
    const lane = key ? lanesByKey.get(key) : undefined;
    if (!key || !lane || !target.closest("svg[data-lane]") || !inPlot(clientX)) return null;
    const index = segmentAt(lane, timeAt(plotX(clientX)), now);
    return index < 0 ? null : { key, lane, index };
  };
  const onClick = (e: React.MouseEvent<HTMLDivElement>) => {
    if (suppressClick.current) return;
    const t = e.target as Element;
    if (t.closest("[data-incidents]")) {
      const key = t.closest("[data-key]")?.getAttribute("data-key");
      const lane = key ? lanesByKey.get(key) : undefined;
      const inc = lane ? incidentAt(data.incidents, lane, timeAt(plotX(e.clientX)), now, pxMs * 3) : null;
      if (inc) return onSelect({ kind: "incident", id: inc.id });
    }
    const h = hit(t, e.clientX);
    if (h) onSelect({ kind: "segment", lane: h.key, segment: h.lane.segments[h.index] });
  };

  const selectedIncident = selection?.kind === "incident" ? selection.id : null;
  return (
    <div
      ref={box}
      className="relative touch-pan-y select-none"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => {
        dragging.current = null;
        setDrag(null);
      }}
      onPointerLeave={() => setHover(null)}
      onClick={onClick}
      data-testid="swimlanes"
    >
      <div className={`${LABELS} sticky top-0 z-10 bg-white dark:bg-slate-900`}>
        <div className="max-sm:hidden" />
        <div ref={plotRef} className="min-w-0">
          <svg width={width} height={22} className="block overflow-visible" aria-hidden="true">
            {ticks.map((t) => (
              <g key={t.t} transform={`translate(${x(t.t)},0)`}>
                <line y1={16} y2={22} className="stroke-slate-400 dark:stroke-slate-500" />
                <text y={11} textAnchor={x(t.t) < 30 ? "start" : "middle"} className="fill-slate-600 text-[11px] tabular-nums dark:fill-slate-300">
                  {t.label}
                </text>
              </g>
            ))}
          </svg>
        </div>
      </div>
      <div className={`${LABELS} border-b border-slate-200 py-1 dark:border-slate-800`}>
        <div className="text-xs font-semibold text-slate-600 sm:pt-1 dark:text-slate-300">Incidents</div>
        <IncidentTrack
          items={track}
          from={from}
          to={to}
          plotWidth={width}
          selectedId={selectedIncident}
          onSelect={(id) => onSelect({ kind: "incident", id })}
          onZoom={(f, t) => onZoom(f - (t - f) * 0.1, t + (t - f) * 0.1)}
        />
        {data.incidentsTruncated && (
          <p className="text-xs text-amber-800 sm:col-start-2 dark:text-amber-300" data-testid="incidents-truncated">
            Only the newest {data.incidents.length} incidents of this range are shown: pick a shorter range to see the older ones.
          </p>
        )}
      </div>
      {data.gaps && data.gaps.length > 0 && (
        <div className={`${LABELS} border-b border-slate-200 py-1 dark:border-slate-800`}>
          <div className="text-xs font-semibold text-amber-800 sm:pt-1 dark:text-amber-300" title="records an agent could not deliver: history there is incomplete">
            Data gaps
          </div>
          <GapTrack
            gaps={data.gaps}
            from={from}
            to={to}
            selected={selection?.kind === "gap" ? selection.gap : null}
            onSelect={(gap) => onSelect({ kind: "gap", gap })}
          />
        </div>
      )}
      {groups.map((g) => (
        <section key={g.key} aria-label={g.title} className="border-b border-slate-200 py-1 last:border-b-0 dark:border-slate-800">
          <h3 className="pt-1 text-xs font-semibold tracking-wide text-slate-500 uppercase dark:text-slate-400">{g.title}</h3>
          {g.lanes.map((lane) => {
            const key = laneKey(lane);
            const sel = selection?.kind === "segment" && selection.lane === key ? lane.segments.findIndex((s) => s.from === selection.segment.from) : -1;
            return (
              <div key={key} data-key={key} data-testid={`lane-${lane.node}-${lane.vrid ?? lane.instance}`} className={`${LABELS} items-center`}>
                <LaneLabel lane={lane} />
                <LaneRow
                  lane={lane}
                  from={from}
                  to={to}
                  now={now}
                  width={width}
                  ticks={ticks}
                  strip={strips.get(key) ?? NO_STRIP}
                  selected={sel}
                  prefix={prefix}
                />
              </div>
            );
          })}
        </section>
      ))}
      {drag && plotEl.current && box.current && (
        <div
          aria-hidden="true"
          className="pointer-events-none absolute inset-y-0 border-x-2 border-sky-600 bg-sky-500/15 dark:border-sky-400"
          style={{
            left: plotEl.current.getBoundingClientRect().left - box.current.getBoundingClientRect().left + Math.min(drag.x0, drag.x1),
            width: Math.abs(drag.x1 - drag.x0),
          }}
        />
      )}
      {hover && (
        <div
          role="tooltip"
          className="pointer-events-none absolute z-20 max-w-xs rounded-md bg-slate-900 px-2 py-1 text-xs whitespace-pre-line text-white shadow-lg dark:bg-slate-100 dark:text-slate-900"
          style={{ left: hover.left, top: hover.top }}
        >
          {hover.text}
        </div>
      )}
    </div>
  );
}

function LaneLabel({ lane }: { lane: Lane }) {
  const state = currentState(lane);
  return (
    <div className="flex min-w-0 items-center gap-2 pt-1 sm:pt-0">
      <span className="truncate font-mono text-sm font-semibold" title={lane.node}>
        {lane.node}
      </span>
      <span className="truncate font-mono text-xs text-slate-500 dark:text-slate-400" title={`instance ${lane.instance}`}>
        {lane.instance}
      </span>
      {state && <StateBadge state={state} />}
    </div>
  );
}

function describeHover(
  lane: Lane,
  index: number,
  e: ReactPointerEvent<HTMLDivElement>,
  now: number,
  box: HTMLDivElement,
): { left: number; top: number; text: string } {
  const seg = lane.segments[index];
  const span = segmentSpan(seg, now);
  const lines = [
    `${lane.node} · ${lane.instance}: ${seg.state}${seg.aggregated ? ` (mostly; ${seg.transitions ?? 0} changes)` : ""}`,
    `${formatTime(span.from)} → ${seg.to === null ? "now" : formatTime(span.to)} (${formatDuration(span.to - span.from)})`,
    "click for the log lines",
  ];
  const r = box.getBoundingClientRect();
  const left = Math.min(e.clientX - r.left + 12, r.width - 240);
  return { left: Math.max(0, left), top: e.clientY - r.top + 16, text: lines.join("\n") };
}
