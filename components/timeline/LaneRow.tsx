import { memo, type ReactElement } from "react";
import type { InstanceState } from "../../server/protocol";
import { STATE_LOOK } from "../status";
import { SEVERITY_PAINT, STATE_PAINT } from "../paint";
import { patternId } from "./look";
import { segmentSpan, xScale, type Lane, type StripPiece, type Tick } from "./transforms";

export const LANE_HEIGHT = 40;
const BAR_Y = 6;
const BAR_H = 20;
const VIP_Y = 27;
const VIP_H = 5;
const LABEL_MIN_PX = 58;
/** narrower segments are batched into one path per state: a dense 7-day lane stays a handful of elements */
export const RECT_MIN_PX = 3;

export interface LaneRowProps {
  lane: Lane;
  from: number;
  to: number;
  now: number;
  width: number;
  ticks: Tick[];
  /** when incidents concerned this lane, per severity, inside the window */
  strip: StripPiece[];
  /** index of the selected segment, -1 for none */
  selected: number;
  prefix: string;
}

const fillOf = (prefix: string, state: InstanceState, aggregated: boolean) =>
  state === "MASTER" && !aggregated ? STATE_PAINT.MASTER.fill : `url(#${patternId(prefix, state, aggregated)})`;

/**
 * One swimlane, drawn in real pixels: a thin incident strip on top (severity
 * colours; a click picks the worst incident there), the state
 * bar, and the VIP strip below (when the node held one of the instance's VIPs).
 * Segments of RECT_MIN_PX or more are rects (with data-state, and the state
 * word where it fits); thinner ones are drawn as one path per state. Clicks and
 * hovers are resolved by time (transforms.segmentAt) in the container, so no
 * element needs a listener.
 */
export const LaneRow = memo(function LaneRow({ lane, from, to, now, width, ticks, strip, selected, prefix }: LaneRowProps) {
  const x = xScale(from, to, width);
  const clip = (t: number) => Math.min(width, Math.max(0, x(t)));
  const rects: ReactElement[] = [];
  const labels: ReactElement[] = [];
  const thin = new Map<string, string[]>();
  for (let i = 0; i < lane.segments.length; i++) {
    const seg = lane.segments[i];
    const span = segmentSpan(seg, now);
    if (span.to < from || span.from > to) continue;
    const x0 = clip(span.from);
    const w = Math.max(1, clip(span.to) - x0);
    const paint = STATE_PAINT[seg.state];
    const agg = Boolean(seg.aggregated);
    if (w < RECT_MIN_PX) {
      const key = `${seg.state}|${agg}`;
      const d = thin.get(key) ?? [];
      d.push(`M${x0.toFixed(1)} ${BAR_Y}h${w.toFixed(1)}v${BAR_H}h${(-w).toFixed(1)}z`);
      thin.set(key, d);
      continue;
    }
    rects.push(
      <rect
        key={i}
        data-state={seg.state}
        data-aggregated={agg ? "true" : undefined}
        x={x0}
        y={BAR_Y}
        width={w}
        height={BAR_H}
        style={{ fill: fillOf(prefix, seg.state, agg), stroke: seg.state === "BACKUP" ? paint.stroke : undefined, strokeWidth: 1 }}
      />,
    );
    if (w >= LABEL_MIN_PX) {
      const word = STATE_LOOK[seg.state].label;
      const text = agg && w >= LABEL_MIN_PX + 50 ? `${word} · ${seg.transitions ?? 0} changes` : word;
      labels.push(
        <text key={i} x={x0 + 6} y={BAR_Y + BAR_H / 2} dominantBaseline="central" className="pointer-events-none font-mono text-[11px] font-semibold" style={{ fill: paint.text }}>
          {text}
        </text>,
      );
    }
  }
  const held: ReactElement[] = [];
  const heldThin: string[] = [];
  lane.vipHeld.forEach((h, i) => {
    const s = segmentSpan(h, now);
    if (s.to < from || s.from > to) return;
    const x0 = clip(s.from);
    const w = Math.max(1.5, clip(s.to) - x0);
    if (w < RECT_MIN_PX) heldThin.push(`M${x0.toFixed(1)} ${VIP_Y}h${w.toFixed(1)}v${VIP_H}h${(-w).toFixed(1)}z`);
    else held.push(<rect key={i} data-vip="held" x={x0} y={VIP_Y} width={w} height={VIP_H} rx={1} />);
  });
  const sel = selected >= 0 ? lane.segments[selected] : undefined;
  const selSpan = sel ? segmentSpan(sel, now) : null;
  return (
    <svg width={width} height={LANE_HEIGHT} className="block cursor-pointer overflow-visible" role="img" aria-label={laneSummary(lane)} data-lane={`${lane.node}/${lane.vrid ?? lane.instance}`}>
      <rect x={0} y={BAR_Y} width={width} height={BAR_H} className="fill-slate-100 dark:fill-slate-800/60" />
      {ticks.map((t) => (
        <line key={t.t} x1={x(t.t)} x2={x(t.t)} y1={0} y2={LANE_HEIGHT} className="stroke-slate-200 dark:stroke-slate-700" strokeWidth={1} />
      ))}
      {strip.map((p) => (
        <rect
          key={`${p.severity}-${p.from}`}
          data-incidents={p.ids.join(" ")}
          data-severity={p.severity}
          x={clip(p.from)}
          y={0}
          width={Math.max(3, clip(p.to) - clip(p.from))}
          height={4}
          rx={1}
          style={{ fill: SEVERITY_PAINT[p.severity].fill }}
        />
      ))}
      {[...thin].map(([key, d]) => {
        const [state, agg] = key.split("|") as [InstanceState, string];
        return <path key={key} data-state={state} data-thin="true" d={d.join("")} style={{ fill: fillOf(prefix, state, agg === "true") }} />;
      })}
      {rects}
      {labels}
      <g className="fill-violet-600 dark:fill-violet-400">
        {heldThin.length > 0 && <path data-vip="held" data-thin="true" d={heldThin.join("")} />}
        {held}
      </g>
      {selSpan && (
        <rect
          x={clip(selSpan.from) - 1}
          y={BAR_Y - 2}
          width={Math.max(3, clip(selSpan.to) - clip(selSpan.from) + 2)}
          height={BAR_H + 4}
          className="pointer-events-none fill-none stroke-slate-900 dark:stroke-white"
          strokeWidth={2}
        />
      )}
    </svg>
  );
});

/** What a screen reader hears for a lane. */
export function laneSummary(lane: Lane): string {
  const last = lane.segments[lane.segments.length - 1];
  const now = last && last.to === null ? `now ${last.state}` : "no current state";
  return `${lane.node} ${lane.instance} VRID ${lane.vrid ?? "unknown"}: ${now}, ${lane.transitions} state ${lane.transitions === 1 ? "change" : "changes"} in range`;
}
