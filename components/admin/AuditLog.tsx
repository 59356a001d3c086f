"use client";
/**
 * The audit log page (admins): who changed what, when and from where, with the target's state before and
 * after (secrets masked by the server). Filters (from, to, actor, action) go to GET /api/audit; "Older"
 * follows its `next` cursor; the CSV link is /api/audit/export with the same filters.
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { formatTime } from "../format";
import { getJson } from "../http";
import { useHydrated } from "../useHydrated";
import { box, btn, field } from "./styles";
import { auditSearch, type AuditFilters } from "./forms";

const Entry = z.object({
  id: z.string(), at: z.string(), actorKind: z.string(), actor: z.string(), action: z.string(), target: z.string(),
  before: z.unknown(), after: z.unknown(), sourceIp: z.nullable(z.string()),
});
const Page = z.object({ entries: z.array(Entry), next: z.nullable(z.string()) });
type Entry = z.infer<typeof Entry>;

const shown = (v: unknown) => (v === null || v === undefined ? "—" : JSON.stringify(v, null, 1));

export function AuditLog() {
  // the forms work once React attached their handlers: before that a click would submit them to the page itself
  const ready = useHydrated();
  const [filters, setFilters] = useState<AuditFilters>({ from: "", to: "", actor: "", action: "" });
  const [entries, setEntries] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (f: AuditFilters, before: string | null) => {
    setError(null);
    const r = await getJson(`/api/audit?${auditSearch(f, before)}`, Page);
    if (!r.ok) {
      setError(r.error.message);
      return;
    }
    setEntries((old) => (before ? [...old, ...r.data.entries] : r.data.entries));
    setNext(r.data.next);
  }, []);
  useEffect(() => {
    void load({ from: "", to: "", actor: "", action: "" }, null);
  }, [load]);

  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const f = { from: String(d.get("from") ?? ""), to: String(d.get("to") ?? ""), actor: String(d.get("actor") ?? ""), action: String(d.get("action") ?? "") };
    setFilters(f);
    void load(f, null);
  };

  return (
    <div className="space-y-4" data-testid="audit-log">
      <h1 className="text-xl font-bold">Audit log</h1>
      <form method="post" className={`${box} flex flex-wrap items-end gap-2 text-sm`} onSubmit={apply}>
        <label className="flex flex-col">from (UTC)<input name="from" type="datetime-local" className={field} /></label>
        <label className="flex flex-col">to (UTC)<input name="to" type="datetime-local" className={field} /></label>
        <label className="flex flex-col">actor<input name="actor" placeholder="user name" className={field} /></label>
        <label className="flex flex-col">action<input name="action" placeholder="e.g. user or webhook.test" className={field} /></label>
        <button className={btn} disabled={!ready}>Filter</button>
        <a className={btn} href={`/api/audit/export?${auditSearch(filters)}`} data-testid="audit-csv" download>Export CSV</a>
      </form>
      {error && <p role="alert" className="text-sm text-red-700 dark:text-red-400">{error}</p>}
      <table className="w-full text-sm [&_td]:pr-3 [&_th]:pr-3">
        <thead>
          <tr className="text-left text-slate-500">
            <th className="py-1">when</th><th>who</th><th>action</th><th>target</th><th>from</th><th>before</th><th>after</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id} data-testid="audit-entry" className="border-t border-slate-100 align-top dark:border-slate-800">
              <td className="py-1 whitespace-nowrap">{formatTime(e.at)}</td>
              <td>{e.actor}{e.actorKind !== "user" && <span className="text-xs text-slate-500"> ({e.actorKind})</span>}</td>
              <td className="font-mono">{e.action}</td>
              <td className="font-mono">{e.target}</td>
              <td>{e.sourceIp ?? "—"}</td>
              <td><pre className="max-w-xs overflow-x-auto text-xs whitespace-pre-wrap">{shown(e.before)}</pre></td>
              <td><pre className="max-w-xs overflow-x-auto text-xs whitespace-pre-wrap">{shown(e.after)}</pre></td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length === 0 && !error && <p className="text-sm text-slate-500">No entries.</p>}
      {next && <button className={btn} onClick={() => void load(filters, next)}>Older</button>}
    </div>
  );
}
