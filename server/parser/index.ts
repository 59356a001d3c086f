/**
 * keepalived log parser: raw line -> { ts, ident, pid, message, event }.
 *
 * Pure module (no I/O, no Node APIs), used on the ingest hot path and safe to re-run over stored
 * history. Nothing here throws: anything odd yields `event: null`.
 */
import type { KeepalivedEvent, ParsedLine } from "./types";
import { PATTERNS, type KeepalivedPattern } from "./patterns";
import { splitPrefix, type PrefixOptions } from "./prefix";

export type { KeepalivedEvent, ParsedLine } from "./types";
export { PATTERNS, type KeepalivedPattern } from "./patterns";
export { splitPrefix, type PrefixOptions } from "./prefix";

/**
 * Lines longer than this are still classified (every pattern is anchored and linear-time), but
 * only patterns whose hint occurs in the first HINT_WINDOW characters are tried: real keepalived
 * messages are far shorter (its log buffer is a few hundred bytes), so a long line can only match
 * a pattern that ends in a free-text capture.
 */
const LONG_LINE = 8192;
const HINT_WINDOW = 1024;

export interface Classification {
  /** id of the PATTERNS entry that matched */
  id: string;
  event: KeepalivedEvent;
}

/** The pattern that matches `message` and the event it yields, or null. Never throws. */
export function classify(message: string): Classification | null {
  try {
    if (typeof message !== "string" || message.length === 0) return null;
    const msg = trimEndWs(message);
    const probe = msg.length > LONG_LINE ? msg.slice(0, HINT_WINDOW) : msg;
    for (let i = 0; i < PATTERNS.length; i++) {
      const p: KeepalivedPattern = PATTERNS[i];
      if (!probe.includes(p.hint)) continue;
      const m = p.re.exec(msg);
      if (m === null) continue;
      const event = p.toEvent(m);
      if (event !== null) return { id: p.id, event };
    }
    return null;
  } catch {
    return null;
  }
}

/** Classification alone, for a message without any prefix (e.g. a journald MESSAGE field). */
export function parseMessage(message: string): KeepalivedEvent | null {
  return classify(message)?.event ?? null;
}

/** Splits the prefix (console, classic syslog or RFC 3339 syslog, or none) and classifies the rest. */
export function parseLine(raw: string, opts?: PrefixOptions): ParsedLine {
  try {
    const text = typeof raw === "string" ? raw : String(raw ?? "");
    const split = splitPrefix(text, opts ?? {});
    return { ...split, event: parseMessage(split.message) };
  } catch {
    return { ts: null, ident: null, pid: null, message: typeof raw === "string" ? raw : "", event: null };
  }
}

/** Trailing whitespace (e.g. a stray "\r" or spaces added by a syslog relay) is not part of a format. */
function trimEndWs(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return last === 32 || last === 9 || last === 10 || last === 13 ? s.trimEnd() : s;
}
