"use client";
import type { IncidentMsg } from "../../server/protocol";
import { evidenceCsv, exportFileName, incidentJson } from "./export";

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const button =
  "inline-flex items-center gap-1.5 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 dark:border-slate-600 dark:bg-slate-900 dark:hover:bg-slate-800";

/** Downloads of the incident as shown: JSON (the API object) and CSV (the evidence lines). */
export function ExportButtons({ incident }: { incident: IncidentMsg }) {
  return (
    <div className="flex flex-wrap gap-2" role="group" aria-label="Export">
      <button
        type="button"
        data-testid="export-json"
        className={button}
        onClick={() => download(exportFileName(incident, "json"), "application/json", incidentJson(incident))}
      >
        <span aria-hidden="true">⤓</span> Export JSON
      </button>
      <button
        type="button"
        data-testid="export-csv"
        className={button}
        onClick={() => download(exportFileName(incident, "csv"), "text/csv;charset=utf-8", evidenceCsv(incident))}
      >
        <span aria-hidden="true">⤓</span> Export CSV (evidence)
      </button>
    </div>
  );
}
