import { SEVERITY_LOOK, STATE_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";
import { STATE_PAINT, STATES } from "../paint";
import { patternId } from "./look";

function Swatch({ fill, stroke, className }: { fill?: string; stroke?: string; className?: string }) {
  return (
    <svg width="22" height="12" aria-hidden="true" className="shrink-0">
      <rect x="0.5" y="0.5" width="21" height="11" rx="1.5" className={className ?? "stroke-transparent"} style={{ ...(fill ? { fill } : {}), ...(stroke ? { stroke } : {}), strokeWidth: 1 }} />
    </svg>
  );
}

/** What the colours and textures mean: every swatch has its word and icon next to it. */
export function Legend({ prefix }: { prefix: string }) {
  return (
    <ul aria-label="Legend" className="flex flex-wrap items-center gap-x-4 gap-y-1.5 text-xs text-slate-700 dark:text-slate-300">
      {STATES.map((s) => (
        <li key={s} className="flex items-center gap-1.5" title={STATE_LOOK[s].description}>
          <Swatch fill={s === "MASTER" ? STATE_PAINT[s].fill : `url(#${patternId(prefix, s)})`} stroke={s === "BACKUP" ? STATE_PAINT[s].stroke : undefined} />
          <StatusIcon name={STATE_LOOK[s].icon} className="size-3" />
          <span className="font-mono font-semibold">{STATE_LOOK[s].label}</span>
        </li>
      ))}
      <li className="flex items-center gap-1.5" title="several state changes inside one pixel: zoom in to see them">
        <Swatch fill={`url(#${patternId(prefix, "BACKUP", true)})`} />
        many changes (zoom in)
      </li>
      <li className="flex items-center gap-1.5" title="the node held at least one of the instance's VIPs (ip addr)">
        <svg width="22" height="12" aria-hidden="true" className="shrink-0">
          <rect x="0" y="7" width="22" height="5" rx="1" className="fill-violet-600 dark:fill-violet-400" />
        </svg>
        holds a VIP (strip under the lane)
      </li>
      <li className="flex items-center gap-1.5" title="no state known: before the first report">
        <Swatch className="fill-slate-100 stroke-slate-300 dark:fill-slate-800/60 dark:stroke-slate-600" />
        no data
      </li>
      {(["critical", "warning", "info"] as const).map((sev) => (
        <li key={sev} className="flex items-center gap-1.5" title={SEVERITY_LOOK[sev].description}>
          <span className={`inline-flex items-center gap-1 rounded-sm px-1 text-[11px] font-bold ${SEVERITY_LOOK[sev].badge}`}>
            <StatusIcon name={SEVERITY_LOOK[sev].icon} className="size-2.5" />
            {SEVERITY_LOOK[sev].label}
          </span>
          incident
        </li>
      ))}
    </ul>
  );
}
