"use client";
/**
 * Maintenance windows: the current, upcoming and past windows of the clusters the user may see; an
 * operator opens one (cluster, optionally one VRID, start, end, reason) and ends one early.
 * Incidents opened inside a window (of its VRID, when it names one) are recorded and shown as silenced
 * (the incident list and page say so), and not notified. Everything goes through /api/maintenance with the session's CSRF token.
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { formatDuration, formatTime } from "../format";
import { getJson, send } from "../http";
import { atLeast, useSession } from "../auth/session";
import { useHydrated } from "../useHydrated";
import { useNow } from "../useNow";
import { box, btn, field } from "../admin/styles";
import { newWindowBody, windowState } from "./windows";

const Window = z.object({ id: z.number(), cluster: z.string(), from: z.string(), to: z.string(), reason: z.string(), vrid: z.nullable(z.number()), createdBy: z.string() });
type Window = z.infer<typeof Window>;

export function MaintenancePanel() {
  // the forms work once React attached their handlers: before that a click would submit them to the page itself
  const ready = useHydrated();
  const session = useSession();
  const canWrite = atLeast(session, "operator");
  const now = useNow(1000);
  const [rows, setRows] = useState<Window[]>([]);
  const [message, setMessage] = useState<string | null>(null);

  const load = useCallback(async () => {
    const r = await getJson("/api/maintenance", z.array(Window));
    if (r.ok) setRows(r.data);
    else setMessage(`cannot load: ${r.error.message}`);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const text = (k: string) => String(d.get(k) ?? "");
    const b = newWindowBody({ cluster: text("cluster"), vrid: text("vrid"), from: text("from"), to: text("to"), reason: text("reason") }, Date.now());
    if (!b.ok) {
      setMessage(b.message);
      return;
    }
    const r = await send("POST", "/api/maintenance", session.csrf, b.body, z.unknown());
    setMessage(r.ok ? null : r.error.message);
    if (r.ok) form.reset();
    await load();
  };
  const end = async (w: Window) => {
    const r = await send("POST", `/api/maintenance/${w.id}/end`, session.csrf, {}, z.unknown());
    setMessage(r.ok ? `window ${w.id} ended` : r.error.message);
    await load();
  };

  return (
    <div className="space-y-4" data-testid="maintenance-panel">
      <h1 className="text-xl font-bold">Maintenance windows</h1>
      <p className="text-sm text-slate-600 dark:text-slate-400">Incidents opened during a window are recorded and shown as silenced; no alert is sent for them.</p>
      {message && <p role="status" data-testid="maintenance-message" className="text-sm text-slate-700 dark:text-slate-300">{message}</p>}
      {canWrite && (
        <form method="post" className={`${box} flex flex-wrap items-end gap-2 text-sm`} onSubmit={(e) => void create(e)} data-testid="maintenance-add" data-ready={ready}>
          <label className="flex flex-col">cluster<input name="cluster" required className={field} /></label>
          <label className="flex flex-col">VRID (empty: all)<input name="vrid" inputMode="numeric" className={`${field} w-20`} /></label>
          <label className="flex flex-col">start (UTC, empty: now)<input name="from" type="datetime-local" className={field} /></label>
          <label className="flex flex-col">end (UTC)<input name="to" type="datetime-local" required className={field} /></label>
          <label className="flex flex-col">reason<input name="reason" className={`${field} min-w-64`} /></label>
          <button className={btn} disabled={!ready}>Open window</button>
        </form>
      )}
      <table className="w-full text-sm [&_td]:pr-3 [&_th]:pr-3">
        <thead>
          <tr className="text-left text-slate-500"><th className="py-1">cluster</th><th>VRID</th><th>from</th><th>to</th><th>length</th><th>state</th><th>reason</th><th>by</th><th /></tr>
        </thead>
        <tbody>
          {rows.map((w) => {
            const state = windowState(w, now);
            return (
              <tr key={w.id} data-testid={`window-${w.id}`} className="border-t border-slate-100 dark:border-slate-800">
                <td className="py-1">{w.cluster}</td>
                <td>{w.vrid ?? "all"}</td>
                <td>{formatTime(w.from)}</td>
                <td>{formatTime(w.to)}</td>
                <td>{formatDuration(Date.parse(w.to) - Date.parse(w.from))}</td>
                <td data-testid={`window-${w.id}-state`}>{state}</td>
                <td>{w.reason}</td>
                <td>{w.createdBy || "CLI"}</td>
                <td className="text-right">
                  {canWrite && state !== "over" && <button className={btn} onClick={() => void end(w)}>{state === "active" ? "End now" : "Cancel"}</button>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 && <p className="text-sm text-slate-500">No maintenance windows.</p>}
    </div>
  );
}
