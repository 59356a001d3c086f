/** The snapshot request failed: say why and when it is retried. */
export function FetchError({ reason, retryAt, now }: { reason: string; retryAt: number; now: number }) {
  const seconds = Math.max(0, Math.ceil((retryAt - now) / 1000));
  return (
    <div
      role="alert"
      data-testid="fetch-error"
      className="rounded-lg border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      <span className="font-semibold">cannot reach /api/clusters: {reason}, retrying</span>
      <span className="text-red-700 dark:text-red-300"> {seconds > 0 ? `in ${seconds}s` : "now"}</span>
    </div>
  );
}
