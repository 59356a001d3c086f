"use client";
import { useEffect, useState, type FormEvent } from "react";
import { formatDuration, formatTime, fromInputValue, TIME_ZONE, toInputValue } from "../format";
import { PRESETS, type Preset, type RangeSpec } from "./range";

const shape = "rounded-md px-2.5 py-1 text-sm font-medium ring-1";
const button = `${shape} ring-slate-300 hover:bg-slate-100 disabled:opacity-40 disabled:hover:bg-transparent dark:ring-slate-600 dark:hover:bg-slate-800`;
const pressed = `${shape} bg-slate-900 text-white ring-slate-900 dark:bg-slate-100 dark:text-slate-900 dark:ring-slate-100`;

/** Presets (live), earlier/later, zoom out, and a typed custom range. */
export function RangeControls({
  spec,
  from,
  to,
  onChange,
  onPan,
  onZoomOut,
}: {
  spec: RangeSpec;
  from: number;
  to: number;
  onChange: (s: RangeSpec) => void;
  onPan: (fraction: number) => void;
  onZoomOut: () => void;
}) {
  const [customFrom, setCustomFrom] = useState("");
  const [customTo, setCustomTo] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  // the inputs show the fixed range being looked at; a live range leaves them as typed
  const fixedKey = spec.kind === "fixed" ? `${spec.from}-${spec.to}` : null;
  useEffect(() => {
    if (spec.kind !== "fixed") return;
    setCustomFrom(toInputValue(spec.from));
    setCustomTo(toInputValue(spec.to));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fixedKey]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const f = fromInputValue(customFrom);
    const t = fromInputValue(customTo);
    if (!Number.isFinite(f) || !Number.isFinite(t)) return setProblem("enter both times");
    if (f >= t) return setProblem("the start must be before the end");
    setProblem(null);
    onChange({ kind: "fixed", from: f, to: t });
  };

  const live = spec.kind === "live";
  return (
    <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
      <div role="group" aria-label="Time range" className="flex flex-wrap items-center gap-1.5">
        {(Object.keys(PRESETS) as Preset[]).map((p) => (
          <button
            key={p}
            type="button"
            data-testid={`preset-${p}`}
            aria-pressed={live && spec.preset === p}
            onClick={() => onChange({ kind: "live", preset: p })}
            className={live && spec.preset === p ? pressed : button}
          >
            {formatDuration(PRESETS[p])}
          </button>
        ))}
      </div>
      <div role="group" aria-label="Move and zoom" className="flex flex-wrap items-center gap-1.5">
        <button type="button" data-testid="pan-earlier" className={button} onClick={() => onPan(-0.5)} title="Move half a range earlier">
          ◀ Earlier
        </button>
        <button type="button" data-testid="pan-later" className={button} onClick={() => onPan(0.5)} disabled={live} title="Move half a range later">
          Later ▶
        </button>
        <button type="button" data-testid="zoom-out" className={button} onClick={onZoomOut} title="Show twice the time">
          Zoom out
        </button>
      </div>
      <form onSubmit={apply} className="flex flex-wrap items-center gap-1.5 text-sm" aria-label="Custom range">
        <label className="flex items-center gap-1">
          <span className="text-slate-600 dark:text-slate-400">From</span>
          <input
            type="datetime-local"
            data-testid="custom-from"
            value={customFrom}
            onChange={(e) => setCustomFrom(e.target.value)}
            className="rounded-md bg-white px-1.5 py-0.5 ring-1 ring-slate-300 dark:bg-slate-900 dark:ring-slate-600"
          />
        </label>
        <label className="flex items-center gap-1">
          <span className="text-slate-600 dark:text-slate-400">to ({TIME_ZONE})</span>
          <input
            type="datetime-local"
            data-testid="custom-to"
            value={customTo}
            onChange={(e) => setCustomTo(e.target.value)}
            className="rounded-md bg-white px-1.5 py-0.5 ring-1 ring-slate-300 dark:bg-slate-900 dark:ring-slate-600"
          />
        </label>
        <button type="submit" data-testid="custom-apply" className={button}>
          Show
        </button>
        {problem && <span className="text-xs text-red-700 dark:text-red-300">{problem}</span>}
      </form>
      <p data-testid="range-text" className="w-full text-sm text-slate-600 dark:text-slate-400">
        {live ? (
          <>
            Last {formatDuration(PRESETS[spec.preset])}, <strong className="font-semibold">following now</strong>.
          </>
        ) : (
          <>
            <time dateTime={new Date(from).toISOString()}>{formatTime(from, { zone: false })}</time> →{" "}
            <time dateTime={new Date(to).toISOString()}>{formatTime(to, { zone: false })}</time> ({formatDuration(to - from)}).
          </>
        )}{" "}
        Drag across the lanes to zoom; times are {TIME_ZONE}.
      </p>
    </div>
  );
}
