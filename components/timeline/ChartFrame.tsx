/**
 * The chart's frame, shared by the page's server-rendered fallback and the client component's loading
 * state: the card, and in it the grid of the swimlanes (the name column, then the plot). The plot slot
 * carries PLOT_ATTR: the prefetch script (prefetch.ts) measures its width while the page's JavaScript is
 * still loading, so the fallback must lay the plot out exactly as the chart does. No hooks: it renders on
 * the server too.
 */
import type { ReactNode, Ref } from "react";
import { PLOT_ATTR } from "./prefetch";

export function ChartCard({ children }: { children: ReactNode }) {
  return <div className="rounded-lg border border-slate-200 bg-white px-3 pb-2 shadow-sm dark:border-slate-800 dark:bg-slate-900">{children}</div>;
}

/** the plot's slot before the chart is drawn; `plotRef` measures its width (the client component) */
export function PlotSlot({ plotRef, testId, children }: { plotRef?: Ref<HTMLDivElement>; testId: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-1 py-3 sm:grid-cols-[12rem_minmax(0,1fr)] sm:gap-x-3">
      <div className="max-sm:hidden" />
      <div ref={plotRef} {...{ [PLOT_ATTR]: "" }} className="min-w-0 text-sm text-slate-500 dark:text-slate-400" data-testid={testId}>
        {children}
      </div>
    </div>
  );
}
