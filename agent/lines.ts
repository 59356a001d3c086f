import { StringDecoder } from "node:string_decoder";
import { LIMITS } from "../server/protocol";

/** Splits a byte/text stream into complete lines; a partial last line is held until its newline. */
export class LineSplitter {
  private rest = "";
  // keeps a UTF-8 character that is split across two chunks whole
  private readonly decoder = new StringDecoder("utf8");
  /** a line longer than this (characters) without a newline is cut and emitted, so memory stays bounded */
  constructor(private readonly maxPending = 4 * 1024 * 1024) {}

  push(chunk: Buffer | string): string[] {
    const text = this.rest + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    const parts = text.split("\n");
    this.rest = parts.pop() ?? "";
    if (this.rest.length > this.maxPending) {
      parts.push(this.rest);
      this.rest = "";
    }
    return parts;
  }

  /** whatever is left without a newline (at end of stream) */
  flush(): string | null {
    const r = this.rest + this.decoder.end();
    this.rest = "";
    return r.length > 0 ? r : null;
  }
}

/** Exponential backoff with jitter: base * 2^attempt, capped, then +-jitter. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, jitter = 0.3, random = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, Math.round(d * (1 - jitter + 2 * jitter * random())));
}

/** Cut a line to LIMITS.maxLineLength characters (never splitting a surrogate pair). */
export function cutLine(line: string): { line: string; truncated: boolean } {
  if (line.length <= LIMITS.maxLineLength) return { line, truncated: false };
  let cut = line.slice(0, LIMITS.maxLineLength);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return { line: cut, truncated: true };
}
