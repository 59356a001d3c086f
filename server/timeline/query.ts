/**
 * Validation of the query strings of GET /api/clusters/:name/timeline and
 * GET /api/clusters/:name/logs. Bad input is a typed error, never a throw.
 */
import { z } from "zod";
import { describeZodError, type ErrorReply } from "../protocol";
import { TIMELINE_LIMITS as L } from "./types";

const isoDate = z
  .string()
  .max(64)
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO-8601 time")
  .transform((s) => Date.parse(s));

const clusterName = z.string().min(1).max(128);

const TimelineParams = z.object({
  name: clusterName,
  from: isoDate.optional(),
  to: isoDate.optional(),
  width: z.coerce.number().int().min(L.minWidth).max(L.maxWidth).default(L.defaultWidth),
  /**
   * "none": the incidents come without their evidence lines (cause.evidence empty; GET /api/incidents/:id
   * has them). Evidence was most of a long range's answer (1.5 of 2.2 MB at 2,000 incidents) and of its cost.
   */
  evidence: z.enum(["full", "none"]).default("full"),
});

/** the query string of GET /api/clusters/:name/timeline (the name comes from the path) */
export const TimelineQueryString = TimelineParams.omit({ name: true });
/** the query string of GET /api/clusters/:name/gaps: the timeline's range */
export const RangeQueryString = TimelineParams.omit({ name: true, evidence: true });

const LogParams = z.object({
  name: clusterName,
  from: isoDate.optional(),
  to: isoDate.optional(),
  /** lines on both sides of this time (half the limit each), instead of from `from` on */
  around: isoDate.optional(),
  node: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(L.maxLogLimit).default(L.defaultLogLimit),
});

/** the query string of GET /api/clusters/:name/logs */
export const LogQueryString = LogParams.omit({ name: true });

export interface TimelineQuery {
  cluster: string;
  from: number;
  to: number;
  width: number;
  /** incidents with their evidence lines (default) or without */
  evidence?: "full" | "none";
}

export interface LogQuery {
  cluster: string;
  from: number;
  to: number;
  around: number | null;
  node: string | null;
  limit: number;
}

type Parsed<T> = { ok: true; query: T } | { ok: false; error: ErrorReply };

const bad = (message: string): { ok: false; error: ErrorReply } => ({ ok: false, error: { ok: false, code: "invalid_message", message } });

/** Range defaults: to = now, from = to - 1 h; from < to; at most 31 days. */
function range(from: number | undefined, to: number | undefined, now: number, defaultMs: number): { from: number; to: number } | string {
  const t = to ?? (from !== undefined ? Math.max(now, from + 1) : now);
  const f = from ?? t - defaultMs;
  if (f >= t) return "from must be before to";
  if (t - f > L.maxRangeMs) return `the range may span at most ${L.maxRangeMs / 86_400_000} days`;
  return { from: f, to: t };
}

function params(search: URLSearchParams, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of search) if (!(k in out)) out[k] = v;
  return { ...out, name };
}

export function parseTimelineQuery(name: string, search: URLSearchParams, now = Date.now()): Parsed<TimelineQuery> {
  const r = TimelineParams.safeParse(params(search, name));
  if (!r.success) return bad(describeZodError(r.error));
  const rg = range(r.data.from, r.data.to, now, L.defaultRangeMs);
  if (typeof rg === "string") return bad(rg);
  return { ok: true, query: { cluster: r.data.name, ...rg, width: r.data.width, evidence: r.data.evidence } };
}

export function parseLogQuery(name: string, search: URLSearchParams, now = Date.now()): Parsed<LogQuery> {
  const r = LogParams.safeParse(params(search, name));
  if (!r.success) return bad(describeZodError(r.error));
  const d = r.data;
  let from = d.from;
  let to = d.to;
  // around alone: the ten minutes on each side
  if (d.around !== undefined && from === undefined && to === undefined) {
    from = d.around - 600_000;
    to = d.around + 600_000;
  }
  const rg = range(from, to, now, L.defaultRangeMs);
  if (typeof rg === "string") return bad(rg);
  if (d.around !== undefined && (d.around < rg.from || d.around > rg.to)) return bad("around must lie between from and to");
  return { ok: true, query: { cluster: d.name, ...rg, around: d.around ?? null, node: d.node ?? null, limit: d.limit } };
}
