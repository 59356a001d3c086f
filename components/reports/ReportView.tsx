"use client";
/**
 * The /reports page's body: one cluster over a range, drawn with recharts (bar and line charts with
 * tooltips; the timeline stays hand-drawn SVG, see ARCHITECTURE.md "In the browser"). The figures are
 * GET /api/reports' (server/stats/report.ts), computed on the server when the page is rendered.
 */
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ReportResponse } from "../../server/stats/report";
import { download, EXPORT_BUTTON } from "../download";
import { formatAvailability, formatDuration, formatTime } from "../format";
import { useHydrated } from "../useHydrated";
import { availabilityCsv, daysCsv, reportFileName } from "./csv";

const MIN = 60_000;

function Panel({ title, id, children }: { title: string; id: string; children: React.ReactNode }) {
  return (
    <section aria-labelledby={id} data-testid={id} className="min-w-0 rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
      <h2 id={id} className="mb-2 text-sm font-semibold">{title}</h2>
      {children}
    </section>
  );
}

/** a chart that fills its panel's width (recharts measures it after hydration) */
function Chart({ children }: { children: React.ReactElement }) {
  const hydrated = useHydrated();
  return <div className="h-56 w-full">{hydrated ? <ResponsiveContainer width="100%" height="100%">{children}</ResponsiveContainer> : null}</div>;
}

/** incident counts per category (kind, cause), one horizontal bar each */
function CountBars<K extends string>({ data, category, color }: { data: ({ count: number } & Record<K, string>)[]; category: K; color: string }) {
  return (
    <Chart>
      <BarChart data={data} layout="vertical" margin={{ left: 40 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis type="number" allowDecimals={false} />
        <YAxis type="category" dataKey={category} width={140} />
        <Tooltip />
        <Bar dataKey="count" name="incidents" fill={color} isAnimationActive={false} />
      </BarChart>
    </Chart>
  );
}

type Day = { day: string; failovers: number; noMasterMin: number; splitBrainMin: number; mttrMin: number | null };

/** one bar per UTC day; several series are stacked, with a legend */
function DayBars({ days, bars, integer = false }: { days: Day[]; bars: { key: keyof Day; name: string; color: string }[]; integer?: boolean }) {
  return (
    <Chart>
      <BarChart data={days}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="day" />
        <YAxis allowDecimals={!integer} />
        <Tooltip />
        {bars.length > 1 ? <Legend /> : null}
        {bars.map((b) => (
          <Bar key={b.key} dataKey={b.key} name={b.name} stackId={bars.length > 1 ? "s" : undefined} fill={b.color} isAnimationActive={false} />
        ))}
      </BarChart>
    </Chart>
  );
}

export function ReportView({ report }: { report: ReportResponse }) {
  const days: Day[] = report.days.map((d) => ({
    day: d.from.slice(5, 10),
    failovers: d.failovers,
    noMasterMin: +(d.noMasterMs / MIN).toFixed(2),
    splitBrainMin: +(d.splitBrainMs / MIN).toFixed(2),
    mttrMin: d.mttrMs === null ? null : +(d.mttrMs / MIN).toFixed(2),
  }));
  const kinds = Object.entries(report.totals.incidents).map(([kind, count]) => ({ kind, count }));
  const t = report.totals;
  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600 dark:text-slate-300">
        {formatTime(report.from)} to {formatTime(report.to)} · days are UTC days · {t.failovers} failovers · without MASTER {formatDuration(t.noMasterMs)} · split
        brain {formatDuration(t.splitBrainMs)} · MTTR {t.mttrMs === null ? "–" : formatDuration(t.mttrMs)} ({t.recovered} recovered)
      </p>
      <div className="flex flex-wrap gap-2" role="group" aria-label="Export">
        <button type="button" data-testid="csv-days" className={EXPORT_BUTTON} onClick={() => download(reportFileName(report, "days"), "text/csv;charset=utf-8", daysCsv(report))}>
          <span aria-hidden="true">⤓</span> CSV per day
        </button>
        <button type="button" data-testid="csv-availability" className={EXPORT_BUTTON} onClick={() => download(reportFileName(report, "availability"), "text/csv;charset=utf-8", availabilityCsv(report))}>
          <span aria-hidden="true">⤓</span> CSV availability
        </button>
      </div>
      <Panel title="Availability per virtual router (exactly one MASTER holding the VIP)" id="availability">
        <table className="w-full text-sm">
          <thead>
            <tr className="text-left text-slate-500">
              <th className="py-1 font-medium">Virtual router</th>
              <th className="py-1 font-medium">Availability</th>
              <th className="py-1 font-medium">Unavailable</th>
              <th className="py-1 font-medium">Failovers</th>
            </tr>
          </thead>
          <tbody>
            {report.vrids.map((v) => (
              <tr key={v.group} data-testid={`vrid-${v.group}`} className="border-t border-slate-100 dark:border-slate-800">
                <td className="py-1">{v.vrid === null ? v.group : `VRID ${v.vrid}`}</td>
                <td className="py-1 font-mono">{formatAvailability(v.availability)}</td>
                <td className="py-1">{formatDuration(v.unavailableMs)}</td>
                <td className="py-1">{v.failovers}</td>
              </tr>
            ))}
            {report.vrids.length === 0 ? (
              <tr>
                <td colSpan={4} className="py-1 text-slate-500">No virtual router has reported a state in this range.</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </Panel>
      <div className="grid gap-4 lg:grid-cols-2">
        <Panel title="Failovers per day" id="failovers">
          <DayBars days={days} integer bars={[{ key: "failovers", name: "failovers", color: "#2563eb" }]} />
        </Panel>
        <Panel title="Minutes without MASTER and in split brain per day" id="outages">
          <DayBars
            days={days}
            bars={[
              { key: "noMasterMin", name: "no MASTER (min)", color: "#dc2626" },
              { key: "splitBrainMin", name: "split brain (min)", color: "#9333ea" },
            ]}
          />
        </Panel>
        <Panel title="Mean time to recover per day (critical incidents closed that day)" id="mttr">
          <Chart>
            <LineChart data={days}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="day" />
              <YAxis />
              <Tooltip />
              <Line dataKey="mttrMin" name="MTTR (min)" stroke="#0891b2" connectNulls isAnimationActive={false} />
            </LineChart>
          </Chart>
        </Panel>
        <Panel title="Incidents by kind" id="kinds">
          <CountBars data={kinds} category="kind" color="#ea580c" />
        </Panel>
        <Panel title="Incidents by cause" id="causes">
          <CountBars data={report.causes} category="code" color="#65a30d" />
        </Panel>
      </div>
    </div>
  );
}
