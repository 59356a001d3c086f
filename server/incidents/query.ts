/** Validates the query string of GET /api/incidents. */
import { z } from "zod";
import { IncidentKind, describeZodError, type ErrorReply } from "../protocol";
import type { IncidentQuery } from "./incident-store";

const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO-8601 time")
  .transform((s) => new Date(s));

/** the query string of GET /api/incidents */
export const IncidentQueryString = z.object({
  cluster: z.string().min(1).max(128).optional(),
  kind: z.optional(IncidentKind),
  open: z.enum(["true", "false"]).transform((s) => s === "true").optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
});

export function parseIncidentQuery(params: URLSearchParams): { ok: true; query: IncidentQuery } | { ok: false; error: ErrorReply } {
  const r = IncidentQueryString.safeParse(Object.fromEntries(params));
  if (!r.success) return { ok: false, error: { ok: false, code: "invalid_message", message: describeZodError(r.error) } };
  return { ok: true, query: r.data };
}
