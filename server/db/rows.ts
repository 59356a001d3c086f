/**
 * Typed rows of raw SQL. Every query the Prisma client cannot express (and the
 * hot paths that run on the pg pool directly, see database.ts) reads its rows
 * through here: each row is parsed with a zod schema that lives next to the
 * query, so a column whose type or nullability differs from what the code
 * assumes fails at the query, as a RowShapeError, instead of far away as a
 * wrong value. The driver's own types are what the schemas describe:
 *
 * - Prisma's $queryRawUnsafe (adapter-pg): int8 -> bigint, timestamptz -> Date,
 *   json/jsonb -> parsed value, int4/float8 -> number;
 * - the pg pool: int8 -> string (no type parser is installed), timestamptz ->
 *   Date, json/jsonb -> parsed value.
 *
 * A RowShapeError names the query (a short label given by the caller), the row
 * and the first issue (path and zod's message), never the row's values: they
 * may hold secrets (config hashes, log lines).
 */
import { z } from "zod";
import type { Db } from "./database";

export class RowShapeError extends Error {
  override readonly name = "RowShapeError";
  constructor(
    /** the caller's label of the query */
    readonly query: string,
    /** index of the first row that did not match */
    readonly row: number,
    /** where in that row, e.g. `nodes[0][3]` ("" for the row itself) */
    readonly path: string,
    /** zod's message for the first issue (it describes types, never the value) */
    readonly issue: string,
  ) {
    super(`query "${query}": row ${row} does not match its schema at ${path || "(the row)"}: ${issue}`);
  }
}

/** `a.b[0].c` from a zod issue path */
function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out;
}

/** Parses every row with `schema`; throws RowShapeError at the first row that does not match. */
export function parseRows<S extends z.ZodType>(query: string, schema: S, rows: readonly unknown[]): z.output<S>[] {
  const out: z.output<S>[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = schema.safeParse(rows[i]);
    if (!r.success) {
      const first = r.error.issues[0];
      throw new RowShapeError(query, i, pathText(first?.path ?? []), first?.message ?? "does not match");
    }
    out[i] = r.data;
  }
  return out;
}

/**
 * Like parseRows, but a row that does not match is left out and handed to `onReject` (which must count and log
 * it): for stored data read at start, where a row written by an older version must not keep the server from
 * starting, nor be silently used as if it matched.
 */
export function parseRowsKeeping<S extends z.ZodType>(query: string, schema: S, rows: readonly unknown[], onReject: (e: RowShapeError) => void): z.output<S>[] {
  const out: z.output<S>[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = schema.safeParse(rows[i]);
    if (r.success) out.push(r.data);
    else {
      const first = r.error.issues[0];
      onReject(new RowShapeError(query, i, pathText(first?.path ?? []), first?.message ?? "does not match"));
    }
  }
  return out;
}

/** Prisma's $queryRawUnsafe(sql, ...params), its rows parsed with `schema`. */
export async function queryRows<S extends z.ZodType>(
  db: Db, query: string, schema: S, sql: string, params: readonly unknown[] = [], onReject?: (e: RowShapeError) => void,
): Promise<z.output<S>[]> {
  const rows: unknown = await db.$queryRawUnsafe(sql, ...params);
  if (!Array.isArray(rows)) throw new RowShapeError(query, 0, "", "the driver returned no row list");
  return onReject ? parseRowsKeeping(query, schema, rows, onReject) : parseRows(query, schema, rows);
}

/** What runs SQL on the pg side: a Pool, a checked-out PoolClient or a Client. */
export interface PgQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A query on the pg pool (or a client of it), its rows parsed with `schema`. */
export async function pgRows<S extends z.ZodType>(pg: PgQueryable, query: string, schema: S, sql: string, params: unknown[] = []): Promise<z.output<S>[]> {
  return parseRows(query, schema, (await pg.query(sql, params)).rows);
}

/**
 * An array whose FIRST element is parsed with `element` and the others taken
 * as they are, typed as `element`'s output: for a hot path where parsing every
 * element costs too much (the elements are built by one SQL expression, so
 * they all have the first one's shape). `element` must not transform: the
 * elements are returned as the driver gave them.
 */
export function firstChecked<T extends z.core.$ZodType>(element: T): z.ZodType<z.output<T>[]> {
  const checked = z.array(z.unknown()).check((ctx) => {
    if (ctx.value.length === 0) return;
    // z.safeParse, not element.safeParse: `element` may be a zod/mini schema (server/protocol.ts)
    const r = z.safeParse(element, ctx.value[0]);
    if (r.success) return;
    for (const i of r.error.issues) ctx.issues.push({ code: "custom", message: i.message, path: [0, ...i.path], input: undefined });
  });
  // the one cast: the check above vouches for the element type
  return checked as unknown as z.ZodType<z.output<T>[]>;
}
