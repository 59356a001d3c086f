"use client";
/**
 * The small admin page: users (add, role, clusters, remove, end sessions) and
 * tokens (API, wall, agent: list with last use, create, revoke). Everything
 * goes through /api/admin/* with the session's CSRF token; secrets are shown
 * once. A user, an API token or a wall may be limited to some clusters
 * (server/auth/scope.ts): the lists show it, "all" when unlimited.
 */
import Link from "next/link";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { formatTime } from "../format";
import { getJson, send } from "../http";
import { useSession } from "./session";
import { box, btn, field } from "../admin/styles";

const Answer = z.record(z.string(), z.unknown());
const UserRow = z.object({ id: z.number(), name: z.string(), role: z.string(), clusters: z.nullable(z.array(z.string())), lastLoginAt: z.nullable(z.string()), sessions: z.number(), signIn: z.optional(z.enum(["password", "oidc"])) });
const TokenRow = z.object({
  id: z.number(),
  name: z.optional(z.string()),
  label: z.optional(z.string()),
  cluster: z.optional(z.string()),
  node: z.optional(z.nullable(z.string())),
  prefix: z.string(),
  lastUsedAt: z.nullable(z.string()),
  revokedAt: z.nullable(z.string()),
  sessions: z.optional(z.number()),
  clusters: z.optional(z.nullable(z.array(z.string()))),
});
const Tokens = z.object({ api: z.array(TokenRow), wall: z.array(TokenRow), agent: z.array(TokenRow) });
type UserRow = z.infer<typeof UserRow>;
type TokenRow = z.infer<typeof TokenRow>;
type Tokens = z.infer<typeof Tokens>;

const when = (s: string | null) => (s ? formatTime(s) : "never");
/** a cluster list as typed ("a, b"): null (every cluster) when empty */
const clustersInput = (v: FormDataEntryValue | null): string[] | null => {
  const names = String(v ?? "").split(",").map((n) => n.trim()).filter(Boolean);
  return names.length ? names : null;
};
/** a scope as shown: "all clusters" or the names */
const scopeLabel = (clusters: string[] | null | undefined) => (clusters ? clusters.join(", ") : "all clusters");

export function AdminPanel() {
  const { csrf } = useSession();
  const [users, setUsers] = useState<UserRow[]>([]);
  const [tokens, setTokens] = useState<Tokens>({ api: [], wall: [], agent: [] });
  const [message, setMessage] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);

  const load = useCallback(async () => {
    const [u, t] = await Promise.all([getJson("/api/admin/users", z.array(UserRow)), getJson("/api/admin/tokens", Tokens)]);
    if (u.ok) setUsers(u.data);
    if (t.ok) setTokens(t.data);
    const failed = [u, t].find((r) => !r.ok);
    if (failed && !failed.ok) setMessage(`cannot load: ${failed.error.message}`);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (method: "POST" | "DELETE", url: string, body?: unknown, show?: (d: Record<string, unknown>) => string) => {
    setMessage(null);
    setSecret(null);
    const r = await send(method, url, csrf, body, Answer);
    if (!r.ok) setMessage(r.error.message);
    else if (show) setSecret(show(r.data));
    await load();
  };
  const form = (fn: (f: FormData) => void) => (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    fn(new FormData(e.currentTarget));
    e.currentTarget.reset();
  };

  return (
    <div className="space-y-4" data-testid="admin-panel">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-xl font-bold">Administration</h1>
        <Link href="/admin/nodes/new" className="text-sm text-sky-700 hover:underline dark:text-sky-400">Add a node (enrolment code and install command) →</Link>
      </div>
      <nav className="flex gap-3 text-sm" aria-label="settings">
        <Link href="/admin/channels" className="text-sky-700 hover:underline dark:text-sky-400">Alert channels</Link>
        <Link href="/maintenance" className="text-sky-700 hover:underline dark:text-sky-400">Maintenance windows</Link>
        <Link href="/admin/settings" className="text-sky-700 hover:underline dark:text-sky-400">Detector settings</Link>
        <Link href="/admin/audit" className="text-sky-700 hover:underline dark:text-sky-400">Audit log</Link>
      </nav>
      {message && <p role="alert" className="text-sm text-red-700 dark:text-red-400">{message}</p>}
      {secret && (
        <p data-testid="admin-secret" className="rounded bg-amber-100 p-2 font-mono text-sm break-all text-slate-900">
          {secret}
        </p>
      )}
      <section className={box}>
        <h2 className="mb-2 font-semibold">Users</h2>
        <table className="w-full text-sm">
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-testid={`user-${u.name}`} className="border-t border-slate-100 dark:border-slate-800">
                <td className="py-1 font-medium">
                  {u.name}
                  {u.signIn === "oidc" && (
                    <span data-testid={`user-${u.name}-oidc`} title="signs in through the identity provider (OIDC): no password here; the role follows its groups at each sign-in" className="ml-1 rounded bg-blue-100 px-1 text-xs font-normal text-blue-800 dark:bg-blue-950 dark:text-blue-300">
                      SSO
                    </span>
                  )}
                </td>
                <td>
                  <select aria-label={`role of ${u.name}`} value={u.role} className={field} onChange={(e) => void act("POST", `/api/admin/users/${u.id}/role`, { role: e.target.value })}>
                    <option>viewer</option>
                    <option>operator</option>
                    <option>admin</option>
                  </select>
                </td>
                <td data-testid={`user-${u.name}-clusters`}>
                  {u.role === "admin" ? (
                    <span className="text-slate-500">{scopeLabel(null)}</span>
                  ) : (
                    <form method="post" className="flex gap-1" onSubmit={form((f) => void act("POST", `/api/admin/users/${u.id}/role`, { role: u.role, clusters: clustersInput(f.get("clusters")) }))}>
                      <input key={u.clusters?.join(",") ?? "*"} name="clusters" aria-label={`clusters of ${u.name}`} defaultValue={u.clusters?.join(", ") ?? ""} placeholder="all clusters" className={field} />
                      <button className={btn}>Set</button>
                    </form>
                  )}
                </td>
                <td className="text-slate-500">last sign-in {when(u.lastLoginAt)} · {u.sessions} session(s)</td>
                <td className="text-right">
                  <button className={btn} onClick={() => void act("DELETE", `/api/admin/users/${u.id}/sessions`)}>End sessions</button>{" "}
                  <button className={btn} onClick={() => void act("DELETE", `/api/admin/users/${u.id}`)}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" className="mt-2 flex flex-wrap gap-2"
          onSubmit={form((f) => void act("POST", "/api/admin/users", { name: f.get("name"), role: f.get("role"), password: f.get("password"), clusters: clustersInput(f.get("clusters")) }))}>
          <input name="name" placeholder="user name" required className={field} />
          <select name="role" className={field} defaultValue="viewer">
            <option>viewer</option>
            <option>operator</option>
            <option>admin</option>
          </select>
          <input name="password" type="password" placeholder="password (10+ characters)" autoComplete="new-password" required minLength={10} className={field} />
          <input name="clusters" aria-label="clusters of the new user" placeholder="clusters a, b (empty: all)" className={field} />
          <button className={btn}>Add user</button>
        </form>
      </section>
      <TokenSection title="API tokens (read-only, Authorization: Bearer)" rows={tokens.api} scoped onRevoke={(id) => void act("DELETE", `/api/admin/api-tokens/${id}`)}
        onCreate={(name, clusters) => void act("POST", "/api/admin/api-tokens", { name, clusters }, (d) => `API token (shown once): ${String(d.token)}`)} />
      <TokenSection title="NOC wall links" rows={tokens.wall} scoped onRevoke={(id) => void act("DELETE", `/api/admin/wall-tokens/${id}`)}
        onCreate={(name, clusters) => void act("POST", "/api/admin/wall-tokens", { name, clusters }, (d) => `wall URL (shown once): ${window.location.origin}${String(d.path)}`)} />
      <TokenSection title="Agent tokens" rows={tokens.agent} onRevoke={(id) => void act("DELETE", `/api/admin/agent-tokens/${id}`)}
        createLabel="cluster/node" onCreate={(v) => {
          // "cluster/node": a token for that node only; a bare cluster name makes a legacy cluster token
          const [cluster, node] = v.split("/", 2);
          void act("POST", "/api/admin/agent-tokens", node ? { cluster, node } : { cluster }, (d) => `agent token (shown once): ${String(d.token)}`);
        }} />
    </div>
  );
}

/** `scoped`: its tokens may be limited to some clusters (API and wall tokens): shown, and asked at creation */
function TokenSection(p: { title: string; rows: TokenRow[]; onRevoke(id: number): void; onCreate(name: string, clusters: string[] | null): void; createLabel?: string; scoped?: boolean }) {
  return (
    <section className={box}>
      <h2 className="mb-2 font-semibold">{p.title}</h2>
      <table className="w-full text-sm">
        <tbody>
          {p.rows.map((t) => (
            <tr key={t.id} className="border-t border-slate-100 dark:border-slate-800">
              <td className="py-1">{t.id}</td>
              <td className="font-medium">{t.cluster ? `${t.cluster}/${t.node ?? "*"} ${t.label ?? ""}` : t.name}</td>
              <td className="font-mono">{t.prefix}…</td>
              {p.scoped && <td data-testid={`token-${t.id}-clusters`}>{scopeLabel(t.clusters)}</td>}
              <td className="text-slate-500">
                {t.revokedAt ? `revoked ${when(t.revokedAt)}` : `last used ${when(t.lastUsedAt)}`}
                {t.sessions !== undefined ? ` · ${t.sessions} session(s)` : ""}
              </td>
              <td className="text-right">{!t.revokedAt && <button className={btn} onClick={() => p.onRevoke(t.id)}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="mt-2 flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          e.currentTarget.reset();
          p.onCreate(String(f.get("name") ?? ""), clustersInput(f.get("clusters")));
        }}
      >
        <input name="name" placeholder={p.createLabel ?? "name"} required className={field} />
        {p.scoped && <input name="clusters" aria-label="clusters of the new token" placeholder="clusters a, b (empty: all)" className={field} />}
        <button className={btn}>Create</button>
      </form>
    </section>
  );
}
