"use client";
import { IncidentKind } from "../../server/protocol";
import { INCIDENT_KIND_LOOK } from "../status";
import { NO_FILTERS, RANGE_PRESETS, sameFilters, type IncidentFilters } from "./filters";
import { inputToIso, isoToInput } from "./filters";

const field =
  "w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100";
const label = "flex flex-col gap-1 text-xs font-medium text-slate-600 dark:text-slate-400";
const button =
  "rounded-md border border-slate-300 px-2.5 py-1 text-xs font-medium hover:bg-slate-100 focus-visible:outline-2 dark:border-slate-600 dark:hover:bg-slate-800";

/** Cluster, kind, open/resolved and time range (UTC). Every change goes straight to the URL. */
export function FilterBar({
  filters,
  clusters,
  onChange,
}: {
  filters: IncidentFilters;
  clusters: string[];
  onChange: (f: IncidentFilters) => void;
}) {
  const names = filters.cluster && !clusters.includes(filters.cluster) ? [filters.cluster, ...clusters] : clusters;
  const set = (patch: Partial<IncidentFilters>) => onChange({ ...filters, ...patch });
  return (
    <form
      aria-label="Filter incidents"
      onSubmit={(e) => e.preventDefault()}
      className="grid grid-cols-2 gap-3 rounded-lg border border-slate-200 bg-white p-3 sm:grid-cols-3 lg:grid-cols-[repeat(5,minmax(0,1fr))_auto] dark:border-slate-800 dark:bg-slate-900"
    >
      <label className={label}>
        Cluster
        <select
          data-testid="filter-cluster"
          className={field}
          value={filters.cluster ?? ""}
          onChange={(e) => set({ cluster: e.target.value || null })}
        >
          <option value="">all clusters</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label className={label}>
        Kind
        <select data-testid="filter-kind" className={field} value={filters.kind ?? ""} onChange={(e) => set({ kind: (e.target.value || null) as IncidentKind | null })}>
          <option value="">all kinds</option>
          {IncidentKind.options.map((k) => (
            <option key={k} value={k}>
              {INCIDENT_KIND_LOOK[k].label} ({INCIDENT_KIND_LOOK[k].short})
            </option>
          ))}
        </select>
      </label>
      <label className={label}>
        Status
        <select
          data-testid="filter-open"
          className={field}
          value={filters.open === null ? "" : String(filters.open)}
          onChange={(e) => set({ open: e.target.value === "" ? null : e.target.value === "true" })}
        >
          <option value="">all</option>
          <option value="true">open</option>
          <option value="false">resolved</option>
        </select>
      </label>
      <label className={label}>
        From (UTC)
        <input
          data-testid="filter-from"
          type="datetime-local"
          className={field}
          value={isoToInput(filters.from)}
          onChange={(e) => set({ from: inputToIso(e.target.value) })}
        />
      </label>
      <label className={label}>
        To (UTC)
        <input
          data-testid="filter-to"
          type="datetime-local"
          className={field}
          value={isoToInput(filters.to)}
          onChange={(e) => set({ to: inputToIso(e.target.value) })}
        />
      </label>
      <div className="col-span-full flex flex-wrap items-center gap-2 lg:col-span-1 lg:flex-col lg:items-stretch lg:justify-end">
        <span className="text-xs text-slate-500 lg:hidden dark:text-slate-400">Last</span>
        <div className="flex flex-wrap gap-1" role="group" aria-label="Quick time ranges">
          {RANGE_PRESETS.map((p) => (
            <button
              key={p.label}
              type="button"
              data-testid={`range-${p.label.replace(" ", "")}`}
              className={button}
              onClick={() => set({ from: new Date(Date.now() - p.ms).toISOString(), to: null })}
            >
              {p.label}
            </button>
          ))}
          <button
            type="button"
            data-testid="filter-clear"
            className={button}
            disabled={sameFilters(filters, NO_FILTERS)}
            onClick={() => onChange(NO_FILTERS)}
          >
            clear
          </button>
        </div>
      </div>
    </form>
  );
}
