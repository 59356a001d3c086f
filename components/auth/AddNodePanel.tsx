"use client";
/**
 * "Add a node" (issue 14): an admin picks or types the cluster, types the node name and gets a one-time
 * enrolment code, its expiry and the one-line install command (server/ingest/enrolment.ts builds it) with a
 * copy button; the codes made so far are listed with their state, the pending ones with Revoke. Everything
 * goes through /api/admin/enrolment-codes with the session's CSRF token; a code is shown once.
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { formatTime } from "../format";
import { getJson, send } from "../http";
import { useSession } from "./session";

const CodeRow = z.object({
  id: z.number(), cluster: z.string(), node: z.string(), prefix: z.string(), state: z.enum(["pending", "used", "expired", "revoked"]),
  createdBy: z.string(), createdAt: z.string(), expiresAt: z.string(), usedAt: z.nullable(z.string()), usedFrom: z.nullable(z.string()),
  agentTokenId: z.nullable(z.number()), revokedAt: z.nullable(z.string()),
});
type CodeRow = z.infer<typeof CodeRow>;
const NewCode = z.object({ ok: z.literal(true), id: z.number(), code: z.string(), cluster: z.string(), node: z.string(), expiresAt: z.string(), command: z.string() });
type NewCode = z.infer<typeof NewCode>;
const Answer = z.record(z.string(), z.unknown());

/** how long a new code may be used: the choices of the form (minutes) */
const LIFETIMES = [
  [15, "15 minutes"],
  [60, "1 hour"],
  [240, "4 hours"],
  [1440, "1 day"],
  [10080, "7 days"],
] as const;

const box = "rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900";
const btn = "rounded border border-slate-300 px-2 py-0.5 text-sm hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800";
const field = "rounded border border-slate-300 bg-white px-2 py-0.5 text-sm dark:border-slate-700 dark:bg-slate-950";

/** what a row's state says, with its time */
function stateText(c: CodeRow): string {
  switch (c.state) {
    case "pending":
      return `pending, expires ${formatTime(c.expiresAt)}`;
    case "used":
      return `used ${formatTime(c.usedAt!)}${c.usedFrom ? ` from ${c.usedFrom}` : ""}${c.agentTokenId !== null ? ` · agent token #${c.agentTokenId}` : ""}`;
    case "expired":
      return `expired ${formatTime(c.expiresAt)}`;
    case "revoked":
      return `revoked ${formatTime(c.revokedAt!)}`;
  }
}

export function AddNodePanel({ clusters }: { clusters: string[] }) {
  const { csrf } = useSession();
  const [codes, setCodes] = useState<CodeRow[]>([]);
  const [made, setMade] = useState<NewCode | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);

  const load = useCallback(async () => {
    const r = await getJson("/api/admin/enrolment-codes", z.array(CodeRow));
    if (r.ok) setCodes(r.data);
    else setMessage(`cannot load the enrolment codes: ${r.error.message}`);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setMessage(null);
    setMade(null);
    setCopied(null);
    const r = await send("POST", "/api/admin/enrolment-codes", csrf, {
      cluster: String(f.get("cluster") ?? "").trim(), node: String(f.get("node") ?? "").trim(), ttlMinutes: Number(f.get("ttl")),
    }, NewCode);
    if (!r.ok) setMessage(r.error.message);
    else setMade(r.data);
    await load();
  };
  const revoke = async (id: number) => {
    setMessage(null);
    const r = await send("DELETE", `/api/admin/enrolment-codes/${id}`, csrf, undefined, Answer);
    if (!r.ok) setMessage(r.error.message);
    await load();
  };
  const copy = async (text: string) => {
    try {
      // the Clipboard API exists only in a secure context (https, or localhost)
      if (!navigator.clipboard) throw new Error("no clipboard here (plain http)");
      await navigator.clipboard.writeText(text);
      setCopied("copied");
    } catch (err) {
      const area = document.getElementById("install-command") as HTMLTextAreaElement | null;
      area?.select();
      setCopied(`cannot copy (${(err as Error).message}): the command is selected, copy it with Ctrl+C`);
    }
  };

  return (
    <div className="space-y-4" data-testid="add-node">
      <h1 className="text-xl font-bold">Add a node</h1>
      <p className="text-sm text-slate-600 dark:text-slate-300">
        A one-time enrolment code for one node of a cluster (an existing one, or a new name). Run the install command on the node as root: it
        downloads the agent from this server, checks its SHA-256, installs it with its systemd unit and starts it; at its first start the agent
        exchanges the code for its own agent token. A code enrols one node, once, before it expires.
      </p>
      {message && <p role="alert" className="text-sm text-red-700 dark:text-red-400">{message}</p>}
      <section className={box}>
        <form method="post" className="flex flex-wrap items-end gap-3" aria-label="New enrolment code" onSubmit={(e) => void create(e)}>
          <label className="flex flex-col text-sm">
            Cluster
            <input name="cluster" list="known-clusters" required pattern="[A-Za-z0-9._\-]{1,128}" placeholder="existing or new" className={field} />
            <datalist id="known-clusters">
              {clusters.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
          </label>
          <label className="flex flex-col text-sm">
            Node name
            <input name="node" required pattern="[A-Za-z0-9._\-]{1,128}" placeholder="lb1" className={field} />
          </label>
          <label className="flex flex-col text-sm">
            Valid for
            <select name="ttl" defaultValue="60" className={field}>
              {LIFETIMES.map(([m, label]) => (
                <option key={m} value={m}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button className={btn}>Create code</button>
        </form>
        {made && (
          <div className="mt-3 space-y-2 rounded bg-amber-100 p-3 text-sm text-slate-900" data-testid="new-code">
            <p>
              Enrolment code for node <strong>{made.node}</strong> of cluster <strong>{made.cluster}</strong> (shown once), valid until{" "}
              <span data-testid="new-code-expiry">{formatTime(made.expiresAt)}</span>:
            </p>
            <p className="font-mono break-all" data-testid="new-code-code">{made.code}</p>
            <p>Install command (run it on the node as root; add <code>--ca FILE</code> when a private CA signed this server&apos;s certificate):</p>
            <textarea id="install-command" readOnly rows={3} value={made.command} data-testid="install-command"
              className="w-full resize-none rounded border border-slate-300 bg-white p-2 font-mono text-xs text-slate-900" />
            <div className="flex items-center gap-2">
              <button type="button" className={btn} onClick={() => void copy(made.command)}>Copy command</button>
              {copied && <span role="status" className="text-slate-700">{copied}</span>}
            </div>
          </div>
        )}
      </section>
      <section className={box}>
        <h2 className="mb-2 font-semibold">Enrolment codes</h2>
        {codes.length === 0 && <p className="text-sm text-slate-500">No code yet.</p>}
        <table className="w-full text-sm">
          <tbody>
            {codes.map((c) => (
              <tr key={c.id} data-testid={`code-${c.id}`} className="border-t border-slate-100 dark:border-slate-800">
                <td className="py-1">{c.id}</td>
                <td className="font-medium">{c.cluster}/{c.node}</td>
                <td className="font-mono">{c.prefix}…</td>
                <td data-testid={`code-${c.id}-state`} className="text-slate-500">{stateText(c)}</td>
                <td className="text-slate-500">by {c.createdBy}</td>
                <td className="text-right">{c.state === "pending" && <button className={btn} onClick={() => void revoke(c.id)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
