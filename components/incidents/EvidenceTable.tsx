import type { IncidentMsg } from "../../server/protocol";
import { formatOffset, formatTime } from "../format";

type Evidence = IncidentMsg["cause"]["evidence"][number];

const KIND_WORD: Record<string, string> = { log: "log", vips: "VIPs", config: "config", liveness: "agent" };

/** Evidence lines of every node on one clock (UTC), oldest first, with their offset from the opening. */
export function EvidenceTable({ incident }: { incident: IncidentMsg }) {
  const rows = incident.cause.evidence
    .map((e, i) => ({ e, i }))
    .sort((a, b) => Date.parse(a.e.at) - Date.parse(b.e.at) || a.i - b.i)
    .map(({ e }) => e);
  if (rows.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">No evidence was recorded.</p>;
  return (
    <ol data-testid="evidence" className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
      {rows.map((e: Evidence, i) => (
        <li
          key={i}
          data-testid="evidence-line"
          data-node={e.node}
          data-kind={e.kind}
          className="grid gap-x-3 gap-y-0.5 py-1.5 sm:grid-cols-[12rem_6rem_minmax(0,1fr)]"
        >
          <div className="flex flex-wrap gap-x-2 text-xs text-slate-600 tabular-nums sm:flex-col dark:text-slate-400">
            <time dateTime={e.at}>{formatTime(e.at, { ms: true })}</time>
            <span>{formatOffset(e.at, incident.openedAt)}</span>
          </div>
          <div className="flex items-start gap-1.5 sm:flex-col sm:gap-0.5">
            <span className="font-mono font-semibold break-all">{e.node}</span>
            <span className="rounded bg-slate-100 px-1.5 text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-300">
              {KIND_WORD[e.kind] ?? e.kind}
            </span>
          </div>
          <code className="font-mono text-xs whitespace-pre-wrap [overflow-wrap:anywhere] sm:text-sm">{e.line}</code>
        </li>
      ))}
    </ol>
  );
}
