import { StringDecoder } from "node:string_decoder";
import { LIMITS } from "../server/protocol";

/**
 * Splits a byte/text stream into complete lines; a partial last line is held until its newline.
 * A line longer than `maxPending` characters without a newline never stays in memory:
 * in "cut" mode (default) what was held is emitted as a line of its own (its rest follows as
 * another), in "drop" mode the whole line is dropped up to its newline and counted in `dropped`
 * (for JSON lines, where half a line is of no use).
 */
export class LineSplitter {
  private rest = "";
  private skipping = false;
  /** lines dropped ("drop" mode) */
  dropped = 0;
  // keeps a UTF-8 character that is split across two chunks whole
  private readonly decoder = new StringDecoder("utf8");
  constructor(
    private readonly maxPending = 4 * 1024 * 1024,
    private readonly mode: "cut" | "drop" = "cut",
  ) {}

  push(chunk: Buffer | string): string[] {
    const decoded = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    if (this.mode === "drop") return this.pushDropping(decoded);
    const text = this.rest + decoded;
    const parts = text.split("\n");
    this.rest = parts.pop() ?? "";
    if (this.rest.length > this.maxPending) {
      parts.push(this.rest);
      this.rest = "";
    }
    return parts;
  }

  /** "drop" mode: never holds more than maxPending characters plus one chunk */
  private pushDropping(text: string): string[] {
    let start = 0;
    if (this.skipping) {
      const nl = text.indexOf("\n");
      if (nl < 0) return [];
      this.skipping = false;
      start = nl + 1;
    }
    const out: string[] = [];
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const line = this.rest + text.slice(start, nl);
      this.rest = "";
      if (line.length <= this.maxPending) out.push(line);
      else this.dropped++;
      start = nl + 1;
    }
    if (this.rest.length + (text.length - start) > this.maxPending) {
      this.rest = "";
      this.skipping = true;
      this.dropped++;
    } else this.rest += text.slice(start);
    return out;
  }

  /** whatever is left without a newline (at end of stream) */
  flush(): string | null {
    const r = this.skipping ? "" : this.rest + this.decoder.end();
    this.rest = "";
    this.skipping = false;
    return r.length > 0 ? r : null;
  }
}

/** Exponential backoff with jitter: base * 2^attempt, capped, then +-jitter. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, jitter = 0.3, random = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, Math.round(d * (1 - jitter + 2 * jitter * random())));
}

/**
 * Delay before a retry: exponential backoff with jitter, but never sooner than
 * the server's hint (`retryAfterMs`), which is capped at maxMs and jittered
 * upwards by up to 20 % (within the cap) so agents told the same moment spread out.
 */
export function retryDelay(attempt: number, hintMs: number | null, baseMs: number, maxMs: number, random = Math.random): number {
  const b = backoffDelay(attempt, baseMs, maxMs, 0.5, random);
  if (hintMs === null || hintMs <= 0) return b;
  const lo = Math.min(hintMs, maxMs);
  const hi = Math.min(maxMs, lo * 1.2);
  const h = lo >= maxMs ? maxMs * (0.8 + 0.2 * random()) : lo + (hi - lo) * random();
  return Math.round(Math.max(h, Math.min(b, maxMs)));
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text the server can store: PostgreSQL text takes neither NUL nor a lone
 * UTF-16 surrogate, and the server refuses such a record. A crash leaves runs
 * of NUL bytes in a log file (blocks allocated but never written): leading
 * NULs are dropped, any other run of them becomes one U+FFFD, as does a lone
 * surrogate.
 */
export function storableText(s: string): string {
  if (s.includes("\u0000")) s = s.replace(/^\u0000+/, "").replace(/\u0000+/g, "\ufffd");
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, "\ufffd") : s;
}

/** Cut a line to LIMITS.maxLineLength characters (never splitting a surrogate pair). */
export function cutLine(line: string): { line: string; truncated: boolean } {
  if (line.length <= LIMITS.maxLineLength) return { line, truncated: false };
  let cut = line.slice(0, LIMITS.maxLineLength);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return { line: cut, truncated: true };
}
