"use client";
/**
 * The NOC wall: every cluster as a large tile on a dark screen, problems first and always on
 * screen, the others rotating every PAGE_MS; a ticking clock, the last update, and a STALE banner
 * when the data stops flowing. No interaction needed; socket.io reconnects by itself and the data
 * is reloaded after a reconnect (and polled, so a quiet but healthy system still shows fresh data).
 */
import { useEffect, useMemo, useState } from "react";
import { useClusters } from "../live/useClusters";
import { useIncidentFeed } from "../incidents/useIncidentFeed";
import { NO_FILTERS } from "../incidents/filters";
import { countByStatus } from "../overview/transforms";
import { useNow } from "../useNow";
import { WallHeader } from "./WallHeader";
import { WallTile } from "./WallTile";
import { capacityFor, gridFor, PAGE_MS, staleness, tileModels, wallPages } from "./wall";

const OPEN_ONLY = { ...NO_FILTERS, open: true };
/** open incidents are re-read this often: each success proves the server is alive */
const POLL_MS = 10_000;

function useViewport(): { width: number; height: number } | null {
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  useEffect(() => {
    const read = () => setSize({ width: window.innerWidth, height: window.innerHeight });
    read();
    window.addEventListener("resize", read);
    return () => window.removeEventListener("resize", read);
  }, []);
  return size;
}

export function Wall() {
  const live = useClusters();
  const { feed, reload } = useIncidentFeed(OPEN_ONLY, null, null);
  const now = useNow(1000);
  const viewport = useViewport();
  const [startedAt] = useState(() => Date.now());

  useEffect(() => {
    const id = setInterval(() => void reload(), POLL_MS);
    return () => clearInterval(id);
  }, [reload]);

  const tiles = useMemo(() => tileModels(live.clusters, feed.incidents), [live.clusters, feed.incidents]);
  const counts = countByStatus(tiles.map((t) => ({ ...t.cluster, status: t.status })));
  useEffect(() => {
    document.title = counts.critical > 0 ? `(${counts.critical} CRITICAL) NOC wall` : counts.warning > 0 ? `(${counts.warning} warning) NOC wall` : "NOC wall";
  }, [counts.critical, counts.warning]);

  const lastUpdate = live.lastUpdate === null && feed.lastUpdate === null ? null : Math.max(live.lastUpdate ?? 0, feed.lastUpdate ?? 0);
  const stale = staleness(live.connection.status, lastUpdate, startedAt, now);

  if (!viewport) return <div className="fixed inset-0 z-50 bg-slate-950" />;
  const capacity = capacityFor(viewport.width, viewport.height);
  const pages = wallPages(tiles, capacity, (t) => t.status !== "ok");
  const pageIndex = Math.floor(now / PAGE_MS) % pages.length;
  const page = pages[pageIndex]!;
  const grid = gridFor(page.tiles.length, viewport.width / (viewport.height * 0.84));

  return (
    <div data-testid="wall" data-stale={stale.stale} className="fixed inset-0 z-50 flex flex-col overflow-hidden bg-slate-950 text-slate-100 [color-scheme:dark]">
      <WallHeader counts={counts} now={now} lastUpdate={lastUpdate} connection={live.connection.status} />
      {stale.stale && (
        <div
          role="alert"
          data-testid="wall-stale"
          className="hatched flex items-center justify-center gap-[1.5vw] bg-amber-400 px-[2vw] py-[1vh] text-[3.4vh] font-black tracking-wide text-slate-950"
        >
          <span>STALE</span>
          <span className="text-[2.6vh] font-semibold">
            {stale.reason}: what you see may be out of date
          </span>
        </div>
      )}
      <main
        data-testid="wall-grid"
        data-page={pageIndex + 1}
        data-pages={pages.length}
        className={`grid min-h-0 flex-1 gap-[1vh] p-[1vh] ${stale.stale ? "opacity-70" : ""}`}
        style={{ gridTemplateColumns: `repeat(${grid.cols}, minmax(0, 1fr))`, gridTemplateRows: `repeat(${grid.rows}, minmax(0, 1fr))` }}
      >
        {!live.loaded && <p className="col-span-full self-center text-center text-[4vh] text-slate-400">Loading clusters…</p>}
        {live.loaded && tiles.length === 0 && (
          <p className="col-span-full self-center text-center text-[4vh] text-slate-400">No cluster reports yet.</p>
        )}
        {page.tiles.map((t) => (
          <WallTile key={t.cluster.name} tile={t} now={now} />
        ))}
      </main>
      <footer className="flex items-center justify-between gap-[2vw] border-t border-slate-800 px-[1.5vw] py-[0.6vh] text-[2vh] text-slate-400">
        <span data-testid="wall-hidden-ok" className="min-w-0 truncate">
          {page.hiddenOk.length > 0
            ? `also OK (${page.hiddenOk.length}): ${page.hiddenOk.map((t) => t.cluster.name).join(", ")}`
            : ""}
        </span>
        {pages.length > 1 && (
          <span data-testid="wall-page" className="shrink-0 tabular-nums">
            page {pageIndex + 1}/{pages.length} · next in {Math.ceil((PAGE_MS - (now % PAGE_MS)) / 1000)} s
          </span>
        )}
      </footer>
    </div>
  );
}
