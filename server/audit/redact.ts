/**
 * What the audit log and the channel API may show of a value: secrets masked. Pure.
 *
 * - a field whose name says it holds a secret (password, secret, token, routing key, hash, cookie,
 *   authorization) keeps only whether it was set: "***" (null and "" stay as they are);
 * - a field named url (or ending in Url) keeps its scheme, host and port: a path or query may carry a token
 *   (Slack's and most webhook URLs do), so it becomes "/…"; a user or password in it is dropped;
 * - everything else is copied, arrays and objects walked (Dates as ISO strings, bigints as strings).
 */
export const MASK = "***";

const SECRET_KEY = /^(pass|passwd|password|secret|token|code|routingKey|routing_key|apiKey|api_key|cookie|authorization|privateKey)$|(Password|Secret|Token|Hash|RoutingKey)$/;
const URL_KEY = /^url$|Url$/;

/** `url` up to its host: scheme, host and port; "/…" when it had a path, query or fragment beyond "/" */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "(unparseable URL)";
  }
  const more = (u.pathname && u.pathname !== "/") || u.search || u.hash;
  return `${u.protocol}//${u.host}${more ? "/…" : ""}`;
}

/** `value` with every secret masked (see above); never mutates it */
export function redact(value: unknown, key = ""): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (key && SECRET_KEY.test(key)) return value === "" ? "" : MASK;
  if (typeof value === "string") return key && URL_KEY.test(key) ? maskUrl(value) : value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, key && URL_KEY.test(key) ? key : ""));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redact(v, k);
    return out;
  }
  return value;
}
