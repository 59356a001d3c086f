const code = "mt-1 overflow-x-auto rounded bg-slate-100 px-3 py-2 font-mono text-sm dark:bg-slate-800";

/** Shown when the server knows no cluster yet: how to get the first agent reporting. */
export function EmptyState() {
  // Rendered only in the browser (after the first snapshot), so the page's own address is known.
  const server = typeof window === "undefined" ? "URL" : window.location.origin;
  return (
    <section
      data-testid="empty-state"
      aria-labelledby="empty-heading"
      className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 dark:border-slate-700 dark:bg-slate-900"
    >
      <h2 id="empty-heading" className="text-lg font-semibold">No clusters yet</h2>
      <p className="mt-2 text-slate-600 dark:text-slate-400">
        A cluster appears here as soon as the first agent of it connects. To add one:
      </p>
      <ol className="mt-3 list-decimal space-y-3 pl-6">
        <li>
          On the server, create an agent token for the cluster:
          <pre className={code}>npm run token -- create --cluster NAME</pre>
        </li>
        <li>
          On every keepalived node of that cluster, run the agent (built by <code>npm run build:agent</code>) with the
          token in a file:
          <pre className={code}>node keepalived-agent.cjs --server {server} --token-file /etc/keepalived-agent/token</pre>
          <span className="text-sm text-slate-600 dark:text-slate-400">
            The README&apos;s &quot;Deploying an agent&quot; section has the systemd unit.
          </span>
        </li>
      </ol>
    </section>
  );
}
