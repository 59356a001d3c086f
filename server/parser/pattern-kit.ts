/**
 * Shared pieces of the pattern table: the entry type and the instance prefixes.
 *
 * Rules every pattern follows (checked by the unit tests):
 *  - the regex is anchored with `^` and has no `g`/`y` flag (no lastIndex state);
 *  - no repeated group (`(...)+`, `(...)*`, `(...){n,}`), so there is no nested quantifier that
 *    could backtrack catastrophically: each regex runs in time linear in the line length;
 *  - `hint` is a literal substring that every line the regex matches contains; the classifier
 *    checks it with `String.prototype.includes` before running the regex (cheap pre-filter).
 */
import type { KeepalivedEvent } from "./types";

export interface KeepalivedPattern {
  /** stable id, used by tests and in debugging output */
  id: string;
  /** keepalived versions that log this format */
  versions: string;
  /** literal text every matching message contains (fast pre-check) */
  hint: string;
  re: RegExp;
  /** turns a match into an event; may return null to reject the match */
  toEvent(m: RegExpExecArray): KeepalivedEvent | null;
}

/**
 * Required instance prefix, capture 1 = instance name:
 * `VRRP_Instance(VI_1) ` (1.x state lines), `(VI_1): ` (1.x checks, some 2.x lines), `(VI_1) ` (2.x).
 * Instance names may contain any character except `)`.
 */
export const INST = String.raw`^(?:VRRP_Instance)?\(([^)]+)\):? `;

/** Same as INST but optional (capture 1 undefined when absent); for packet-check lines. */
export const OPT_INST = String.raw`^(?:(?:VRRP_Instance)?\(([^)]+)\):? )?`;

/** Integer capture (patterns bound digits to at most 10, so this is always finite). */
export function int(s: string): number {
  return Number(s);
}

export function pattern(
  id: string,
  versions: string,
  hint: string,
  source: string,
  toEvent: (m: RegExpExecArray) => KeepalivedEvent | null,
): KeepalivedPattern {
  return { id, versions, hint, re: new RegExp(source), toEvent };
}

/** Adds `key: value` only when value is defined, so events never carry `undefined` fields. */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
