/**
 * systemd journal source: follows `journalctl -o json -f` with the configured
 * matches (the same field repeated = OR, different fields = AND, as journalctl
 * does it).
 *
 * First start (no saved cursor): the newest BACKFILL_LINES matching lines
 * (`--lines`), so the current states are known at once. Later starts
 * and restarts of journalctl: `--after-cursor=<cursor of the newest record>
 * --no-tail`, so nothing is lost or read twice. journalctl is restarted with
 * backoff when it exits; its stderr shows in the heartbeat's `sources`.
 *
 * Backpressure: after every entry it asks `room()` (the outbox's hasRoom); when
 * there is none it stops reading journalctl's stdout (journalctl blocks, the
 * cursor waits) until `resume()` (the outbox's "room" event). One JSON line is
 * held in memory up to MAX_HELPER_LINE characters; a longer one is dropped and
 * counted (status: "unreadable line(s)").
 */
import { LIMITS, type LogRecordMsg } from "../../server/protocol";
import type { Logger } from "../log";
import type { Position } from "../outbox";
import { Supervisor } from "../supervise";
import { cutLine, storableText } from "../lines";

export const JOURNAL_POSITION_KEY = "journal";

type Rec = Omit<LogRecordMsg, "seq">;

export interface JournalArgs {
  matches: string[];
  directory: string | null;
  cursor: string | null;
}

/** first start (no cursor): the newest matching lines to send, so the current states are known */
export const BACKFILL_LINES = 1000;

/**
 * the fields journalEntryToRecord reads (journalctl always adds __CURSOR and __REALTIME_TIMESTAMP): an entry
 * of ~6 fields instead of ~25, a third of the JSON to read and parse (and of the garbage during a catch-up)
 */
export const JOURNAL_FIELDS = ["MESSAGE", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "_PID"];

export function journalctlArgs(a: JournalArgs): string[] {
  return [
    "--output=json",
    `--output-fields=${JOURNAL_FIELDS.join(",")}`,
    // fields over 4 KiB would otherwise be printed as null
    "--all",
    "--follow",
    "--no-pager",
    "--quiet",
    ...(a.directory ? ["--directory", a.directory] : []),
    ...(a.cursor ? [`--after-cursor=${a.cursor}`, "--no-tail"] : [`--lines=${BACKFILL_LINES}`]),
    ...a.matches,
  ];
}

/** journald JSON gives a field as a string, as an array of bytes (not valid UTF-8 / binary), or as an array of those (repeated field) */
export function decodeField(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "number")) return Buffer.from(v as number[]).toString("utf8");
    const parts = v.map(decodeField).filter((x): x is string => x !== null);
    return parts.length ? parts.join("\n") : null;
  }
  return null;
}

/** One journal entry -> a log record; null when it has no usable message or cursor. Never throws. */
export function journalEntryToRecord(entry: unknown): Rec | null {
  if (!entry || typeof entry !== "object") return null;
  const e = entry as Record<string, unknown>;
  const cursor = decodeField(e.__CURSOR);
  const raw = decodeField(e.MESSAGE);
  let message = raw === null ? null : storableText(raw);
  if (cursor === null || message === null || cursor.length > 512) return null;
  if (message.endsWith("\n")) message = message.slice(0, -1);
  const micros = Number(decodeField(e.__REALTIME_TIMESTAMP));
  const ts = Number.isFinite(micros) && micros > 0 ? micros / 1000 : Date.now();
  const ident = decodeField(e.SYSLOG_IDENTIFIER);
  const pidText = decodeField(e.SYSLOG_PID) ?? decodeField(e._PID);
  const pid = pidText !== null && /^\d{1,10}$/.test(pidText) ? Number(pidText) : undefined;
  const cut = cutLine(message);
  const rec: Rec = { kind: "log", ts, source: "journal", line: cut.line, cursor };
  if (cut.truncated) rec.truncated = true;
  if (ident !== null) rec.ident = storableText(ident).slice(0, 128);
  if (pid !== undefined && pid <= 2 ** 31) rec.pid = pid;
  return rec;
}

export interface JournalSourceOptions {
  journalctl: string;
  matches: string[];
  directory: string | null;
  /** resume after this cursor (the outbox's saved position) */
  cursor: string | null;
  log: Logger;
  emit: (rec: Rec, pos: Position) => void;
  /** may the source read more (backpressure)? default: always */
  room?: () => boolean;
  minRestartMs?: number;
}

export class JournalSource {
  private cursor: string | null;
  private sup: Supervisor;
  private badLines = 0;
  private entriesThisRun = 0;
  /** times the source stopped reading for want of room (tests and status) */
  readonly stats = { pauses: 0 };
  private lastPauseLog = 0;

  constructor(private readonly o: JournalSourceOptions) {
    this.cursor = o.cursor;
    this.sup = new Supervisor({
      name: "journalctl",
      command: o.journalctl,
      args: () => {
        this.entriesThisRun = 0;
        return journalctlArgs({ matches: o.matches, directory: o.directory, cursor: this.cursor });
      },
      onLine: (line) => this.onLine(line),
      onExit: (_code, _signal, stderr) => this.onExit(stderr),
      log: o.log,
      minDelayMs: o.minRestartMs,
    });
  }

  start(): void {
    this.o.log.info({ resumeAfter: this.cursor ? "saved cursor" : "end of journal", matches: this.o.matches }, "following the journal");
    this.sup.start();
  }

  stop(): Promise<void> {
    return this.sup.stop();
  }

  /** the outbox has room again: read on */
  resume(): void {
    if (this.sup.isPaused) this.sup.resume();
  }

  status(): string {
    let s = this.sup.status();
    const bad = this.badLines + this.sup.overlongLines;
    if (bad > 0) s = `${s}; ${bad} unreadable line(s)`;
    if (this.sup.isPaused) s = `${s}; backlog: waiting for the outbox to drain`;
    return s.slice(0, 500);
  }

  private onLine(line: string): void {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      this.badLines++;
      return;
    }
    this.entriesThisRun++;
    const cursor = decodeField((entry as Record<string, unknown> | null)?.__CURSOR);
    const rec = journalEntryToRecord(entry);
    if (cursor && cursor.length <= 512) this.cursor = cursor;
    if (!rec) return;
    if (rec.line.length > LIMITS.maxLineLength) return; // cannot happen (cut above); keeps the contract obvious
    this.o.emit(rec, { key: JOURNAL_POSITION_KEY, value: rec.cursor });
    if (this.o.room && !this.sup.isPaused && !this.o.room()) {
      this.stats.pauses++;
      this.sup.pause();
      if (Date.now() - this.lastPauseLog > 10_000) {
        this.lastPauseLog = Date.now();
        this.o.log.info({ pauses: this.stats.pauses }, "backlog: reading paused until the outbox drains (the journal cursor waits)");
      }
    }
  }

  private onExit(stderr: string[]): void {
    // a cursor journalctl cannot seek to (journal vacuumed, files replaced) would fail every restart: start over at the end
    if (this.cursor && this.entriesThisRun === 0 && stderr.some((l) => /cursor/i.test(l))) {
      this.o.log.error({ stderr }, "journalctl rejected the saved cursor; continuing from the end of the journal (lines logged meanwhile are missed)");
      this.cursor = null;
    }
  }
}
