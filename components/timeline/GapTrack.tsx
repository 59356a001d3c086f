import type { DataGap } from "../../server/timeline/types";
import { StatusIcon } from "../StatusIcon";
import { gapSpan, gapSummary } from "./transforms";

/**
 * Data gaps of the range as amber hatched marks, one row per node: the span
 * where a node's history is incomplete (from its last delivered line to the
 * moment its agent reported the loss). Buttons, so keyboard and screen
 * readers reach them; clicking one shows its details and the lines around it.
 */
export function GapTrack({
  gaps,
  from,
  to,
  selected,
  onSelect,
}: {
  gaps: DataGap[];
  from: number;
  to: number;
  selected: DataGap | null;
  onSelect: (g: DataGap) => void;
}) {
  const nodes = [...new Set(gaps.map((g) => g.node))].sort();
  const pct = (t: number) => ((Math.min(to, Math.max(from, t)) - from) / Math.max(1, to - from)) * 100;
  return (
    <div className="relative" style={{ height: nodes.length * 22 }} data-testid="gap-track">
      {gaps.map((g) => {
        const s = gapSpan(g);
        const left = pct(s.from);
        const width = Math.max(0, pct(s.to) - left);
        const isSel = selected !== null && selected.node === g.node && selected.fromSeq === g.fromSeq && selected.at === g.at;
        return (
          <button
            key={`${g.node}-${g.fromSeq}-${g.at}`}
            type="button"
            data-testid="gap"
            data-node={g.node}
            data-dropped={g.dropped}
            title={gapSummary(g)}
            onClick={() => onSelect(g)}
            className={`absolute flex min-w-2 items-center gap-1 overflow-hidden rounded-sm border border-amber-700 bg-[repeating-linear-gradient(135deg,var(--color-amber-300)_0_4px,var(--color-amber-100)_4px_8px)] px-1 text-[11px] leading-none font-bold whitespace-nowrap text-amber-950 dark:border-amber-400 dark:bg-[repeating-linear-gradient(135deg,var(--color-amber-700)_0_4px,var(--color-amber-900)_4px_8px)] dark:text-amber-50 ${
              isSel ? "outline-2 outline-offset-1 outline-slate-900 dark:outline-white" : ""
            }`}
            style={{
              left: `min(${left}%, calc(100% - 0.5rem))`,
              width: `max(0.5rem, ${width}%)`,
              top: nodes.indexOf(g.node) * 22 + 2,
              height: 18,
            }}
          >
            <StatusIcon name="bang" className="size-2.5 shrink-0" />
            <span className="truncate">
              {g.node}: {g.dropped.toLocaleString("en-US")} lost
            </span>
          </button>
        );
      })}
    </div>
  );
}
