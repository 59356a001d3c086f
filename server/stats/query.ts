/**
 * Validates the query string of GET /api/stats?cluster=&from=&to=.
 * Defaults: to = now, from = to - 24 h. The range must be positive and at most MAX_RANGE_MS long.
 */
import { z } from "zod";
import { describeZodError, type ErrorReply } from "../protocol";

export const DEFAULT_RANGE_MS = 24 * 3600_000;
export const MAX_RANGE_MS = 400 * 24 * 3600_000;

const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO-8601 time")
  .transform((s) => Date.parse(s));

/** the query string of GET /api/stats */
export const StatsQueryString = z.object({
  cluster: z.string().min(1).max(128).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
});

export interface StatsQuery {
  cluster?: string;
  /** epoch ms */
  from: number;
  to: number;
}

export function parseStatsQuery(
  params: URLSearchParams, now: number, schema: z.ZodType<z.infer<typeof StatsQueryString>> = StatsQueryString, defaultRangeMs = DEFAULT_RANGE_MS,
): { ok: true; query: StatsQuery } | { ok: false; error: ErrorReply } {
  const fail = (message: string) => ({ ok: false as const, error: { ok: false as const, code: "invalid_message" as const, message } });
  const r = schema.safeParse(Object.fromEntries(params));
  if (!r.success) return fail(describeZodError(r.error));
  const to = r.data.to ?? now;
  const from = r.data.from ?? to - defaultRangeMs;
  if (from >= to) return fail("from: must be before to");
  if (to - from > MAX_RANGE_MS) return fail(`from: the range may be at most ${MAX_RANGE_MS / (24 * 3600_000)} days long`);
  return { ok: true, query: { cluster: r.data.cluster, from, to } };
}

/** the query string of GET /api/reports: one cluster (required); the range defaults to the last 30 days */
export const ReportQueryString = StatsQueryString.extend({ cluster: z.string().min(1).max(128) });
export const DEFAULT_REPORT_RANGE_MS = 30 * 24 * 3600_000;

export function parseReportQuery(params: URLSearchParams, now: number): { ok: true; query: StatsQuery & { cluster: string } } | { ok: false; error: ErrorReply } {
  const r = parseStatsQuery(params, now, ReportQueryString, DEFAULT_REPORT_RANGE_MS);
  return r.ok ? { ok: true, query: { ...r.query, cluster: r.query.cluster! } } : r;
}
