"use client";
/**
 * Detector settings of one cluster (admins): the effective value of each setting, what is set for the
 * cluster (the rest is default), a field per setting (empty: the default), saved through
 * POST /api/clusters/:name/settings; the running server applies them within seconds.
 */
import { useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { getJson, send } from "../http";
import { useSession } from "../auth/session";
import { useHydrated } from "../useHydrated";
import { box, btn, field } from "./styles";
import { SETTING_HELP, settingsPatch } from "./forms";

const Reply = z.object({ cluster: z.string(), settings: z.record(z.string(), z.number()), effective: z.record(z.string(), z.nullable(z.number())) });
type Reply = z.infer<typeof Reply>;

export function SettingsPanel() {
  // the forms work once React attached their handlers: before that a click would submit them to the page itself
  const ready = useHydrated();
  const { csrf } = useSession();
  const [data, setData] = useState<Reply | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const load = async (name: string) => {
    setMessage(null);
    const r = await getJson(`/api/clusters/${encodeURIComponent(name)}/settings`, Reply);
    if (r.ok) setData(r.data);
    else {
      setData(null);
      setMessage(r.error.message);
    }
  };
  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!data) return;
    const f = Object.fromEntries([...new FormData(e.currentTarget)].map(([k, v]) => [k, String(v)]));
    const p = settingsPatch(f, data.settings);
    if (!p.ok) {
      setMessage(p.message);
      return;
    }
    const r = await send("POST", `/api/clusters/${encodeURIComponent(data.cluster)}/settings`, csrf, p.patch, Reply);
    if (r.ok) {
      setData(r.data);
      setMessage("saved: the running detection applies them within seconds");
    } else setMessage(r.error.message);
  };

  return (
    <div className="space-y-4" data-testid="settings-panel">
      <h1 className="text-xl font-bold">Detector settings</h1>
      <form method="post" className="flex gap-2" onSubmit={(e) => {
        e.preventDefault();
        void load(String(new FormData(e.currentTarget).get("cluster") ?? "").trim());
      }}>
        <input name="cluster" placeholder="cluster" required className={field} aria-label="cluster" />
        <button className={btn} disabled={!ready}>Show</button>
      </form>
      {message && <p role="status" data-testid="settings-message" className="text-sm text-slate-700 dark:text-slate-300">{message}</p>}
      {data && (
        <form method="post" key={JSON.stringify(data.settings)} className={`${box} space-y-2 text-sm`} onSubmit={(e) => void save(e)}>
          <h2 className="font-semibold">{data.cluster}</h2>
          {Object.entries(SETTING_HELP).map(([k, help]) => (
            <label key={k} className="flex flex-wrap items-center gap-2">
              <span className="w-44 font-mono">{k}</span>
              <input name={k} defaultValue={k in data.settings ? String(data.settings[k]) : ""} placeholder={`default: ${String(data.effective[k] ?? "derived")}`} className={`${field} w-32`} inputMode="decimal" />
              <span className="text-slate-500">{help}</span>
            </label>
          ))}
          <button className={btn}>Save</button>
        </form>
      )}
    </div>
  );
}
