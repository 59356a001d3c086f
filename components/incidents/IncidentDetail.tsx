"use client";
/**
 * One incident: what happened (kind, severity, cluster, VRID, nodes), the probable cause, a mini
 * timeline of the involved nodes, the configuration differences, the evidence on one clock, and
 * exports. Follows the incident live (closing, new evidence) and reloads it after a reconnect.
 */
import Link from "next/link";
import { useCallback, useState } from "react";
import { IncidentMsg } from "../../server/protocol";
import { ConnectionBar } from "../overview/ConnectionBar";
import { INCIDENT_KIND_LOOK, SEVERITY_LOOK } from "../status";
import { getJson } from "../http";
import { ConfigDiffTable } from "./ConfigDiffTable";
import { EvidenceTable } from "./EvidenceTable";
import { ExportButtons } from "./ExportButtons";
import { IncidentPush } from "./feed";
import { formatDuration, formatTime } from "../format";
import { incidentDurationMs } from "./feed";
import { IncidentStateBadge, KindLabel, SeverityBadge } from "./IncidentBadges";
import { incidentWindow } from "./lanes";
import { MiniTimeline } from "./MiniTimeline";
import { useNow } from "../useNow";
import { useLive } from "../live/useLive";
import { AckControl } from "./AckControl";

const dt = "text-xs font-medium text-slate-500 dark:text-slate-400";
const dd = "mt-0.5 break-words";

export function IncidentDetail({ initial, renderedAt }: { initial: IncidentMsg; renderedAt: number }) {
  const [incident, setIncident] = useState(initial);
  const [lastUpdate, setLastUpdate] = useState<number | null>(renderedAt);
  const now = useNow(1000, renderedAt);

  const onPush = useCallback(
    (raw: unknown) => {
      const p = IncidentPush.safeParse(raw);
      if (p.success && p.data.incident.id === initial.id) {
        const next = p.data.incident;
        // detector pushes do not carry the acknowledgement: keep the one we know
        setIncident((prev) => (next.ackedAt || !prev.ackedAt ? next : { ...next, ackedAt: prev.ackedAt, ackedBy: prev.ackedBy }));
        setLastUpdate(Date.now());
      }
    },
    [initial.id],
  );
  const onResync = useCallback(async () => {
    const r = await getJson(`/api/incidents/${encodeURIComponent(initial.id)}`, IncidentMsg);
    if (r.ok) {
      setIncident(r.data);
      setLastUpdate(Date.now());
    }
  }, [initial.id]);
  const connection = useLive([initial.cluster], { onIncident: onPush, onResync: () => void onResync() });

  const open = incident.closedAt === null;
  const kind = INCIDENT_KIND_LOOK[incident.kind];
  const win = incidentWindow(incident, now);
  const clusterHref = `/clusters/${encodeURIComponent(incident.cluster)}?from=${encodeURIComponent(new Date(win.from).toISOString())}&to=${encodeURIComponent(new Date(win.to).toISOString())}`;
  const instances = Object.entries(incident.instances);

  return (
    <article data-testid="incident-detail" data-kind={incident.kind} data-open={open} className="space-y-5">
      <nav className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <Link href="/incidents" className="text-slate-600 hover:underline dark:text-slate-300">
          ← all incidents
        </Link>
        <ConnectionBar connection={connection} lastUpdate={lastUpdate} now={now} />
      </nav>

      <header className={`rounded-lg border border-l-8 border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${open ? SEVERITY_LOOK[incident.severity].accent : "border-l-slate-300 dark:border-l-slate-700"}`}>
        <div className="flex flex-wrap items-center gap-2">
          <SeverityBadge severity={incident.severity} />
          <IncidentStateBadge open={open} />
          {incident.silenced && (
            <span className="rounded bg-slate-200 px-1.5 text-xs text-slate-700 dark:bg-slate-700 dark:text-slate-200">
              silenced (maintenance window: not notified)
            </span>
          )}
        </div>
        <h1 className="mt-2 text-2xl font-bold break-words">
          <KindLabel kind={incident.kind} /> <span className="font-normal text-slate-600 dark:text-slate-300">on</span>{" "}
          <span className="break-all">{incident.cluster}</span>
          {incident.vrid !== null && <span className="tabular-nums"> · VRID {incident.vrid}</span>}
        </h1>
        <p className="text-sm text-slate-600 dark:text-slate-400">{kind.description}</p>

        <dl className="mt-4 grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-3 lg:grid-cols-6">
          <div>
            <dt className={dt}>Opened</dt>
            <dd className={`${dd} tabular-nums`}>
              <time dateTime={incident.openedAt}>{formatTime(incident.openedAt)}</time>
            </dd>
          </div>
          <div>
            <dt className={dt}>Closed</dt>
            <dd className={`${dd} tabular-nums`}>
              {incident.closedAt ? <time dateTime={incident.closedAt}>{formatTime(incident.closedAt)}</time> : "still open"}
            </dd>
          </div>
          <div>
            <dt className={dt}>{open ? "Open for" : "Duration"}</dt>
            <dd data-testid="duration" className={`${dd} font-semibold tabular-nums`}>
              {formatDuration(incidentDurationMs(incident, now))}
            </dd>
          </div>
          <div>
            <dt className={dt}>Cluster</dt>
            <dd className={dd}>
              <Link href={clusterHref} prefetch={false} className="font-medium underline decoration-dotted hover:decoration-solid">
                {incident.cluster}
              </Link>{" "}
              <span className="text-xs text-slate-500">(timeline)</span>
            </dd>
          </div>
          <div className="col-span-2">
            <dt className={dt}>Nodes</dt>
            <dd className={`${dd} font-mono`}>
              {instances.length > 0
                ? instances.map(([node, inst]) => `${node} (${inst})`).join(", ")
                : incident.nodes.join(", ") || "–"}
            </dd>
          </div>
        </dl>
        <div className="mt-4">
          <AckControl incident={incident} onAcked={setIncident} />
        </div>
      </header>

      <section aria-labelledby="cause-heading" className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
        <h2 id="cause-heading" className="text-lg font-semibold">
          Probable cause
        </h2>
        <p data-testid="cause-summary" className="mt-1 text-base">
          {incident.cause.summary}
        </p>
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          code <code className="font-mono">{incident.cause.code}</code>
        </p>
        {incident.follows ? (
          <p data-testid="follows" className="mt-2 text-sm">
            Follows{" "}
            <Link href={`/incidents/${encodeURIComponent(incident.follows)}`} prefetch={false} className="font-medium underline decoration-dotted hover:decoration-solid">
              incident #{incident.follows}
            </Link>{" "}
            <span className="text-slate-500 dark:text-slate-400">(the same subject again within the hold-down, with a different cause: a new episode)</span>
          </p>
        ) : null}
      </section>

      <section aria-labelledby="timeline-heading" className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
        <h2 id="timeline-heading" className="mb-2 text-lg font-semibold">
          Timeline
        </h2>
        <MiniTimeline incident={incident} now={now} />
      </section>

      <ConfigDiffTable incident={incident} />

      <section aria-labelledby="evidence-heading" className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
        <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
          <h2 id="evidence-heading" className="text-lg font-semibold">
            Evidence <span className="text-sm font-normal text-slate-500">({incident.cause.evidence.length} lines, UTC)</span>
          </h2>
          <ExportButtons incident={incident} />
        </div>
        <EvidenceTable incident={incident} />
      </section>
    </article>
  );
}
