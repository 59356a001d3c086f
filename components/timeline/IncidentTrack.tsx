import { INCIDENT_KIND_LOOK, SEVERITY_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";
import type { TrackItem } from "./transforms";

const ROW_H = 22;
/** rows drawn at most; incidents that would need more are counted, not drawn (zoom in to see them) */
export const MAX_ROWS = 6;

const base =
  "absolute flex min-w-2 items-center gap-1 overflow-hidden rounded-sm px-1 text-left text-[11px] leading-none font-bold whitespace-nowrap";

/**
 * The cluster's incidents as bands over time, one row per overlap, as buttons
 * (keyboard and screen reader reachable): severity colour + icon + the kind's
 * word. Clicking one selects it (its log lines show below). Short incidents
 * close together are one group button ("12 incidents", worst severity, a
 * dashed edge) that zooms in on them.
 */
export function IncidentTrack({
  items,
  from,
  to,
  plotWidth,
  selectedId,
  onSelect,
  onZoom,
}: {
  items: TrackItem[];
  from: number;
  to: number;
  /** pixels of the track, to leave the words out of bands too narrow for them */
  plotWidth: number;
  selectedId: string | null;
  onSelect: (id: string) => void;
  onZoom: (from: number, to: number) => void;
}) {
  const shown = items.filter((b) => b.row < MAX_ROWS);
  const hidden = items.length - shown.length;
  const rows = shown.reduce((n, b) => Math.max(n, b.row + 1), 0);
  const pct = (t: number) => ((t - from) / Math.max(1, to - from)) * 100;
  if (items.length === 0) {
    return <p className="py-1 text-xs text-slate-500 dark:text-slate-400">No incident in this range.</p>;
  }
  return (
    <div>
      <div className="relative" style={{ height: rows * ROW_H }} data-testid="incident-track">
        {shown.map((b) => {
          const left = pct(b.from);
          const width = Math.max(0, pct(b.to) - left);
          const px = (width / 100) * plotWidth;
          const style = { left: `min(${left}%, calc(100% - 0.5rem))`, width: `max(0.5rem, ${width}%)`, top: b.row * ROW_H + 2, height: ROW_H - 4 };
          if (b.kind === "group") {
            const look = SEVERITY_LOOK[b.severity];
            const kinds = [...new Set(b.incidents.map((i) => INCIDENT_KIND_LOOK[i.kind].label))].join(", ");
            return (
              <button
                key={`g-${b.incidents[0].id}`}
                type="button"
                data-testid="incident-group"
                data-count={b.incidents.length}
                title={`${b.incidents.length} incidents (${kinds}): click to zoom in`}
                onClick={() => onZoom(b.from, b.to)}
                className={`${base} ${look.badge} border-x-2 border-dotted border-current`}
                style={style}
              >
                {px >= 14 && <StatusIcon name={look.icon} className="size-2.5" />}
                <span className={px >= 30 ? "truncate" : "sr-only"}>
                  {b.incidents.length}
                  <span className={px >= 90 ? "" : "sr-only"}> incidents</span>
                </span>
              </button>
            );
          }
          const look = SEVERITY_LOOK[b.incident.severity];
          const kind = INCIDENT_KIND_LOOK[b.incident.kind];
          const open = b.incident.closedAt === null;
          return (
            <button
              key={b.incident.id}
              type="button"
              data-testid={`incident-${b.incident.id}`}
              data-kind={b.incident.kind}
              data-selected={selectedId === b.incident.id ? "true" : undefined}
              title={`${kind.label} (${look.label}${open ? ", open" : ""}): ${b.incident.cause.summary}`}
              onClick={() => onSelect(b.incident.id)}
              className={`${base} ${look.badge} ${selectedId === b.incident.id ? "outline-2 outline-offset-1 outline-slate-900 dark:outline-white" : ""} ${
                open ? "border-r-4 border-dashed border-current" : ""
              }`}
              style={style}
            >
              {px >= 14 && <StatusIcon name={look.icon} className="size-2.5" />}
              <span className={px >= 44 ? "truncate" : "sr-only"}>{kind.label}</span>
            </button>
          );
        })}
      </div>
      {hidden > 0 && (
        <p data-testid="incidents-hidden" className="text-xs text-slate-600 dark:text-slate-400">
          {hidden} more overlapping {hidden === 1 ? "item" : "items"} not drawn here: zoom in (drag across the lanes) to see {hidden === 1 ? "it" : "them"}.
        </p>
      )}
    </div>
  );
}
