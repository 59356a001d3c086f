import type { ClusterStatus } from "../../server/protocol";
import type { ConnectionStatus } from "../live/connection";
import { CLUSTER_LOOK, CONNECTION_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";
import { formatAgo, formatTimeOfDay, TIME_ZONE } from "../format";


/** Title, counts, the ticking clock, the last update and the connection: a frozen wall looks frozen. */
export function WallHeader({
  counts,
  now,
  lastUpdate,
  connection,
}: {
  counts: Record<ClusterStatus, number>;
  now: number;
  lastUpdate: number | null;
  connection: ConnectionStatus;
}) {
  const d = new Date(now);
  const conn = CONNECTION_LOOK[connection];
  return (
    <header className="flex items-center justify-between gap-[2vw] border-b border-slate-800 px-[1.5vw] py-[1vh]">
      <div className="flex min-w-0 items-center gap-[1.5vw]">
        <h1 className="text-[3.2vh] font-bold whitespace-nowrap">keepalived · NOC</h1>
        <p data-testid="wall-counts" className="flex items-center gap-[1vw] text-[2.6vh]">
          {(["critical", "warning", "ok"] as const).map((s) => (
            <span key={s} className={`inline-flex items-center gap-[0.4vw] rounded-full px-[0.8vw] ${counts[s] > 0 ? CLUSTER_LOOK[s].badge : "text-slate-500"}`}>
              <StatusIcon name={CLUSTER_LOOK[s].icon} className="size-[0.8em]" />
              {counts[s]} {CLUSTER_LOOK[s].label}
            </span>
          ))}
        </p>
      </div>
      <div className="flex items-center gap-[1.5vw] text-right">
        <div className="text-[2.2vh] leading-tight text-slate-300">
          <p data-testid="wall-last-update">
            last update{" "}
            <span className="font-semibold text-slate-100 tabular-nums">
              {lastUpdate === null ? "never" : `${formatTimeOfDay(lastUpdate)} (${formatAgo(lastUpdate, now)})`}
            </span>
          </p>
          <p>
            <span
              data-testid="wall-connection"
              data-connection={connection}
              className={`inline-flex items-center gap-[0.3vw] rounded-full px-[0.6vw] font-bold uppercase ${conn.badge}`}
            >
              <StatusIcon name={conn.icon} className="size-[0.8em]" />
              {conn.label}
            </span>
          </p>
        </div>
        <div className="leading-none">
          <time data-testid="wall-clock" dateTime={d.toISOString()} className="block text-[6vh] font-bold tabular-nums">
            {formatTimeOfDay(now)}
          </time>
          <span className="text-[1.8vh] text-slate-400">{TIME_ZONE}</span>
        </div>
      </div>
    </header>
  );
}
