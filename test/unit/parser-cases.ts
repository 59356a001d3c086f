/**
 * Test lines for the keepalived parser's pattern table: real lines from the 2.2.7 captures in
 * test/fixtures (looked up, never retyped) and, where no capture has the line, lines built from
 * the exact format strings in keepalived's source (as quoted in KEEPALIVED.md).
 */
import { readFileSync } from "node:fs";
import type { KeepalivedEvent } from "../../server/parser/types";

const FIXTURES = new URL("../fixtures/keepalived-2.2.7/", import.meta.url);

export type ConsoleFile = "node1" | "node2";
export type JournalFile = "hx1" | "hx2" | "hx3";

export function consoleLines(file: ConsoleFile): string[] {
  const text = readFileSync(new URL(`two-node-console/${file}.log`, FIXTURES), "utf8");
  return text.split("\n").filter((l) => l.length > 0);
}

export interface JournalRecord {
  MESSAGE: string;
  SYSLOG_IDENTIFIER: string;
  __REALTIME_TIMESTAMP: string;
  [k: string]: string;
}

export function journalRecords(file: JournalFile): JournalRecord[] {
  const text = readFileSync(new URL(`three-node-journald/${file}.journal.json`, FIXTURES), "utf8");
  return text.split("\n").filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as JournalRecord);
}

/** A test line: `raw` goes through parseLine (console) or parseMessage (journald MESSAGE / source). */
export interface Case {
  id: string;
  title: string;
  raw: string;
  viaParseLine: boolean;
  expected: KeepalivedEvent;
}

/** printf for the conversions keepalived's formats use here: %s %d %u %i. */
export function fmt(format: string, ...args: Array<string | number>): string {
  let i = 0;
  const out = format.replace(/%[sdui]/g, () => {
    if (i >= args.length) throw new Error(`too few arguments for format: ${format}`);
    return String(args[i++]);
  });
  if (i !== args.length) throw new Error(`too many arguments for format: ${format}`);
  return out;
}

/** The first line of a console capture containing `fragment` (whole raw line, prefix included). */
export function realConsole(id: string, file: ConsoleFile, fragment: string, expected: KeepalivedEvent): Case {
  const raw = consoleLines(file).find((l) => l.includes(fragment));
  if (raw === undefined) throw new Error(`fixture ${file}.log has no line containing ${JSON.stringify(fragment)}`);
  return { id, title: `real 2.2.7 line (two-node-console/${file}.log): ${raw}`, raw, viaParseLine: true, expected };
}

/** The MESSAGE of the first journald record containing `fragment`. */
export function realJournal(id: string, file: JournalFile, fragment: string, expected: KeepalivedEvent): Case {
  const rec = journalRecords(file).find((r) => r.MESSAGE.includes(fragment));
  if (rec === undefined) throw new Error(`fixture ${file}.journal.json has no MESSAGE containing ${JSON.stringify(fragment)}`);
  return { id, title: `real 2.2.7 journald MESSAGE (three-node-journald/${file}): ${rec.MESSAGE}`, raw: rec.MESSAGE, viaParseLine: false, expected };
}

/** A line built from a keepalived format string (no capture contains one). */
export function fromSource(id: string, versions: string, format: string, args: Array<string | number>, expected: KeepalivedEvent): Case {
  const raw = fmt(format, ...args);
  return { id, title: `${versions} format (from keepalived source): "${format}" -> ${raw}`, raw, viaParseLine: false, expected };
}
