import type { Metadata } from "next";
import { headers } from "next/headers";
import { IDENTITY } from "@/server/auth/identity";
import { ClusterScope } from "@/server/auth/scope";
import { serverParts } from "@/server/context";
import { loadReport } from "@/server/stats/load";
import { parseReportQuery } from "@/server/stats/query";
import { ReportView } from "@/components/reports/ReportView";

export const metadata: Metadata = { title: "Reports · keepalived monitor" };
export const dynamic = "force-dynamic";

/** the range choices of the form: days back from now */
const RANGES = [
  ["1", "last 24 h"],
  ["7", "last 7 days"],
  ["30", "last 30 days"],
  ["90", "last 90 days"],
] as const;

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * Reports: one cluster over a range (?cluster=&days=, or ?cluster=&from=&to=), computed on the server by
 * the same module as GET /api/reports (server/stats/report.ts), for the clusters the caller may see. A plain
 * GET form chooses the cluster and range, so every report has its own URL to share.
 */
export default async function ReportsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const { app, picture } = serverParts();
  const scope = ClusterScope.fromHeader((await headers()).get(IDENTITY.scope));
  const clusters = scope.filter(picture.clusters(), (c) => c.name).map((c) => c.name).sort();
  const cluster = one(sp.cluster) ?? clusters[0];
  const days = one(sp.days) ?? (one(sp.from) ? undefined : "30");
  const now = Date.now();
  const params = new URLSearchParams();
  if (cluster) params.set("cluster", cluster);
  if (days) {
    const n = Math.min(400, Math.max(1, Number(days) || 30));
    params.set("from", new Date(now - n * 24 * 3600_000).toISOString());
  } else {
    for (const k of ["from", "to"] as const) if (one(sp[k])) params.set(k, one(sp[k])!);
  }
  const q = cluster ? parseReportQuery(params, now) : null;
  const report = q?.ok ? await loadReport(app.db, q.query.cluster, q.query.from, q.query.to, now, scope) : null;
  const problem = !cluster ? "No cluster yet: reports appear once an agent has connected." : q && !q.ok ? q.error.message : report ? null : `No cluster ${cluster}.`;
  const field = "rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900";
  return (
    <>
      <h1 className="mb-3 text-xl font-bold">Reports</h1>
      <form method="get" action="/reports" className="mb-4 flex flex-wrap items-end gap-3" aria-label="Report">
        <label className="flex flex-col text-sm">
          Cluster
          <select name="cluster" defaultValue={cluster} className={field}>
            {clusters.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-sm">
          Range
          <select name="days" defaultValue={days ?? "30"} className={field}>
            {RANGES.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="rounded-md bg-slate-800 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 dark:bg-slate-200 dark:text-slate-900">
          Show
        </button>
      </form>
      {problem ? (
        <p role="alert" className="text-sm text-slate-600 dark:text-slate-300">
          {problem}
        </p>
      ) : null}
      {report ? <ReportView report={report} /> : null}
    </>
  );
}
