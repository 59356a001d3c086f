/**
 * `Server-Timing: app;dur=…`: the time a route handler (server/http/routes/) spent on the answer
 * (validation, queries, shaping), so clients and the benchmark can tell server
 * time from network and queueing. Read by bench/queries.ts.
 */
export function serverTiming(startedAt: number): Record<string, string> {
  return { "server-timing": `app;dur=${(performance.now() - startedAt).toFixed(2)}` };
}
