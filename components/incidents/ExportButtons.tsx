"use client";
import type { IncidentMsg } from "../../server/protocol";
import { download, EXPORT_BUTTON as button } from "../download";
import { evidenceCsv, exportFileName, incidentJson } from "./export";

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
