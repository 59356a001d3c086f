"use client";
/**
 * The alert channels page (admins): every channel with its cluster, format, minimum severity, URL up to
 * its host and whether it has a secret (never shown), its last test and last delivery; add one, enable or
 * disable, change the minimum severity or the secret, send a test, see its delivery log, remove it. Every
 * change goes through /api/admin/channels with the session's CSRF token; a generated signing secret is
 * shown once.
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { formatTime } from "../format";
import { getJson, send } from "../http";
import { useSession } from "../auth/session";
import { useHydrated } from "../useHydrated";
import { box, btn, field } from "./styles";
import { newChannelBody } from "./forms";

const FORMATS = ["json", "slack", "alertmanager", "pagerduty", "email"] as const;
const SEVERITIES = ["info", "warning", "critical"] as const;

const Delivery = z.object({
  incident: z.string(), event: z.string(), status: z.string(), attempts: z.number(), error: z.nullable(z.string()), createdAt: z.string(), at: z.string(),
});
const Channel = z.object({
  id: z.number(), cluster: z.string(), format: z.string(), url: z.string(), enabled: z.boolean(), minSeverity: z.string(), secret: z.nullable(z.string()),
  email: z.nullable(z.object({ to: z.array(z.string()), from: z.string(), user: z.nullable(z.string()), ca: z.boolean() })),
  lastTest: z.nullable(z.object({ at: z.string(), ok: z.boolean(), answer: z.string() })),
  lastDelivery: z.nullable(Delivery),
});
type Channel = z.infer<typeof Channel>;
type Delivery = z.infer<typeof Delivery>;
const Added = z.object({ signingSecret: z.nullable(z.string()) });
const Tested = z.object({ delivered: z.boolean(), steps: z.array(z.object({ event: z.string(), ok: z.boolean(), answer: z.string() })) });

function status(c: Channel): string {
  if (!c.lastDelivery) return "no delivery yet";
  const d = c.lastDelivery;
  return `${d.status} (${d.event}, incident ${d.incident}, ${formatTime(d.at)})${d.error ? `: ${d.error}` : ""}`;
}

export function ChannelsPanel() {
  // the forms work once React attached their handlers: before that a click would submit them to the page itself
  const ready = useHydrated();
  const { csrf } = useSession();
  const [rows, setRows] = useState<Channel[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [format, setFormat] = useState<string>("json");
  const [log, setLog] = useState<{ id: number; rows: Delivery[] } | null>(null);

  const load = useCallback(async () => {
    const r = await getJson("/api/admin/channels", z.array(Channel));
    if (r.ok) setRows(r.data);
    else setMessage(`cannot load: ${r.error.message}`);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async <S extends z.core.$ZodType>(method: "POST" | "DELETE", url: string, body: unknown, schema: S, done?: (d: z.infer<S>) => void) => {
    setMessage(null);
    setSecret(null);
    const r = await send(method, url, csrf, body, schema);
    if (!r.ok) setMessage(r.error.message);
    else done?.(r.data);
    await load();
  };
  const add = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v)]));
    void act("POST", "/api/admin/channels", newChannelBody(f), Added, (d) => {
      if (d.signingSecret) setSecret(`signing secret (shown once; give it to the receiver): ${d.signingSecret}`);
      form.reset();
    });
  };
  const test = (c: Channel) =>
    void act("POST", `/api/admin/channels/${c.id}/test`, {}, Tested, (d) =>
      setMessage(`test of channel ${c.id}: ${d.delivered ? "delivered" : "failed"}: ${d.steps.map((s) => `${s.event} ${s.answer}`).join("; ")}`));
  const showLog = async (id: number) => {
    const r = await getJson(`/api/admin/channels/${id}/deliveries`, z.array(Delivery));
    if (r.ok) setLog({ id, rows: r.data });
    else setMessage(r.error.message);
  };

  return (
    <div className="space-y-4" data-testid="channels-panel">
      <h1 className="text-xl font-bold">Alert channels</h1>
      {message && <p role="status" data-testid="channels-message" className="text-sm text-slate-700 dark:text-slate-300">{message}</p>}
      {secret && <p data-testid="channels-secret" className="rounded bg-amber-100 p-2 font-mono text-sm break-all text-slate-900">{secret}</p>}
      <section className={box}>
        <table className="w-full text-sm [&_td]:pr-3 [&_th]:pr-3">
          <thead>
            <tr className="text-left text-slate-500"><th className="py-1">id</th><th>cluster</th><th>format</th><th>sends to</th><th>min. severity</th><th>last test</th><th>last delivery</th><th /></tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id} data-testid={`channel-${c.id}`} className={`border-t border-slate-100 align-top dark:border-slate-800 ${c.enabled ? "" : "text-slate-400"}`}>
                <td className="py-1">{c.id}</td>
                <td>{c.cluster}</td>
                <td>{c.format}{c.secret ? " (secret set)" : ""}{c.enabled ? "" : " · disabled"}</td>
                <td className="font-mono break-all">{c.url}{c.email ? ` → ${c.email.to.join(", ")}` : ""}</td>
                <td>
                  <select aria-label={`minimum severity of channel ${c.id}`} value={c.minSeverity} className={field}
                    onChange={(e) => void act("POST", `/api/admin/channels/${c.id}`, { minSeverity: e.target.value }, z.unknown())}>
                    {SEVERITIES.map((s) => <option key={s}>{s}</option>)}
                  </select>
                </td>
                <td data-testid={`channel-${c.id}-test`}>{c.lastTest ? `${c.lastTest.ok ? "ok" : "failed"}: ${c.lastTest.answer} (${formatTime(c.lastTest.at)})` : "never"}</td>
                <td data-testid={`channel-${c.id}-delivery`}>{status(c)}</td>
                <td className="space-x-1 text-right whitespace-nowrap">
                  <button className={btn} onClick={() => test(c)}>Send test</button>
                  <button className={btn} onClick={() => void act("POST", `/api/admin/channels/${c.id}`, { enabled: !c.enabled }, z.unknown())}>{c.enabled ? "Disable" : "Enable"}</button>
                  <button className={btn} onClick={() => void showLog(c.id)}>Deliveries</button>
                  <button className={btn} onClick={() => {
                    const s = window.prompt(`new secret of channel ${c.id} (signing secret, routing key or SMTP password)`);
                    if (s) void act("POST", `/api/admin/channels/${c.id}`, { secret: s }, z.unknown());
                  }}>Secret…</button>
                  <button className={btn} onClick={() => window.confirm(`remove channel ${c.id}?`) && void act("DELETE", `/api/admin/channels/${c.id}`, undefined, z.unknown())}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p className="text-sm text-slate-500">No channels: incidents are shown here only.</p>}
      </section>
      {log && (
        <section className={box} data-testid="channel-deliveries">
          <h2 className="mb-2 font-semibold">Deliveries of channel {log.id}</h2>
          {log.rows.length === 0 ? <p className="text-sm text-slate-500">No notification sent yet.</p> : (
            <table className="w-full text-sm [&_td]:pr-3 [&_th]:pr-3">
              <tbody>
                {log.rows.map((d) => (
                  <tr key={`${d.incident}-${d.event}`} className="border-t border-slate-100 dark:border-slate-800">
                    <td className="py-1">{formatTime(d.createdAt)}</td><td>incident {d.incident}</td><td>{d.event}</td><td>{d.status}</td><td>{d.attempts} attempt(s)</td><td>{d.error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      <form method="post" className={`${box} flex flex-wrap items-end gap-2 text-sm`} onSubmit={add} data-testid="channel-add" data-ready={ready}>
        <h2 className="w-full font-semibold">Add a channel</h2>
        <input name="cluster" placeholder="cluster" required className={field} />
        <select name="format" value={format} onChange={(e) => setFormat(e.target.value)} className={field} aria-label="format">
          {FORMATS.map((f) => <option key={f}>{f}</option>)}
        </select>
        <input name="url" placeholder={format === "email" ? "smtp://host:587" : format === "pagerduty" ? "URL (default: PagerDuty's)" : "https://…"} className={`${field} min-w-64`} aria-label="url" />
        <select name="minSeverity" className={field} defaultValue="info" aria-label="minimum severity">
          {SEVERITIES.map((s) => <option key={s}>{s}</option>)}
        </select>
        {format !== "slack" && format !== "alertmanager" && (
          <input name="secret" type="password" autoComplete="off" className={field} aria-label="secret"
            placeholder={format === "json" ? "signing secret (empty: generated)" : format === "pagerduty" ? "routing key" : "SMTP password"} />
        )}
        {format === "email" && (
          <>
            <input name="to" placeholder="to: a@x, b@x" required className={field} aria-label="to" />
            <input name="from" placeholder="from" required className={field} aria-label="from" />
            <input name="user" placeholder="SMTP user" className={field} aria-label="SMTP user" />
            <textarea name="ca" placeholder="CA certificate (PEM), optional" className={field} aria-label="CA certificate" />
          </>
        )}
        <button className={btn} disabled={!ready}>Add</button>
      </form>
    </div>
  );
}
