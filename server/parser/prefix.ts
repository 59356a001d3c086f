/**
 * Splits the prefix (timestamp, syslog identifier, pid) off one raw log line.
 * Pure: no I/O, nothing beyond what a browser has.
 *
 * Supported prefixes:
 *  (a) keepalived's own console / log-file output: `Mon Nov 23 18:53:53 2026: message`
 *      (`--log-console` uses strftime "%c", i.e. a space-padded day; `--log-file` uses
 *      "%a %b %d %T.%9ld %Y", i.e. nanoseconds before the year). Both are accepted.
 *  (b) classic syslog file lines: `Nov 23 18:53:53 host Keepalived_vrrp[1234]: message` (no year)
 *  (c) RFC 3339 syslog (rsyslog high precision, journalctl -o short-iso[-precise]):
 *      `2026-11-23T18:53:53.123456+00:00 host Keepalived_vrrp[1234]: message`
 *  (d) anything else (e.g. a journald MESSAGE field): no prefix, ts = null, ident = null.
 *
 * Time zone: (a) and (b) carry no offset; they are in the writer's local time. The agent and the
 * server run with TZ set as on the node, and keepalived nodes are expected to log in UTC, so we
 * read such times as UTC. Only (c) carries an offset, and it is honoured.
 *
 * A prefix whose date or time fields are out of range is not taken as a prefix at all: the line is
 * returned whole as the message with ts = null.
 */

export interface PrefixOptions {
  /** year to use for classic syslog lines, which have none */
  year?: number;
  /** "now" in epoch ms; used to infer the year of classic syslog lines (default: Date.now()) */
  now?: number;
}

export interface SplitLine {
  ts: number | null;
  ident: string | null;
  pid: number | null;
  message: string;
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};
const MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAY_MS = 86_400_000;

// All three are anchored, have no repeated groups and only match the prefix (the message is sliced
// off afterwards), so their cost is bounded by the prefix length, not the line length.
/** (a) `Mon Nov 23 18:53:53 2026: ` / `Mon Nov  3 18:53:53.123456789 2026: ` */
const CONSOLE_RE = new RegExp(
  String.raw`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MON} {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (\d{4}):(?: |$)`,
);
/** (b) `Nov 23 18:53:53 host ident[pid]: ` */
const SYSLOG_RE = new RegExp(
  String.raw`^${MON} {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) ([^\s]{1,255}) ([^\s\[\]:]{1,255})(?:\[(\d{1,10})\])?:(?: |$)`,
);
/** (c) `2026-11-23T18:53:53.123456+00:00 host ident[pid]: ` */
const RFC3339_RE =
  /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d) ([^\s]{1,255}) ([^\s\[\]:]{1,255})(?:\[(\d{1,10})\])?:(?: |$)/;

/** Epoch ms for the given UTC fields, or null when a field is out of range (e.g. Feb 30, 25:00). */
function utc(year: number, month: number, day: number, h: number, mi: number, s: number, ms: number): number | null {
  if (month < 0 || month > 11 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return null;
  // A leap second (:60) is read as :59 so it stays within its minute.
  const t = Date.UTC(year, month, day, h, mi, Math.min(s, 59), ms);
  // Date.UTC silently rolls Feb 30 over to Mar 2; reject that instead.
  if (!Number.isFinite(t) || new Date(t).getUTCDate() !== day) return null;
  return t;
}

/** First three digits of a fraction of a second, as milliseconds ("123456" -> 123, "5" -> 500). */
function fractionMs(frac: string | undefined): number {
  if (!frac) return 0;
  return Number((frac + "00").slice(0, 3));
}

function pidOf(s: string | undefined): number | null {
  return s === undefined ? null : Number(s);
}

/**
 * Year for a classic syslog line (which has none): opts.year if given; otherwise the UTC year of
 * opts.now (default Date.now()), moved back one year when that would put the line more than a day
 * in the future (a December line read in January).
 */
function syslogTime(month: number, day: number, h: number, mi: number, s: number, opts: PrefixOptions): number | null {
  if (opts.year !== undefined) return utc(opts.year, month, day, h, mi, s, 0);
  const now = opts.now ?? Date.now();
  const year = new Date(now).getUTCFullYear();
  const t = utc(year, month, day, h, mi, s, 0);
  if (t !== null && t - now <= DAY_MS) return t;
  // In the future (or Feb 29 in a non-leap year): it must be from last year.
  const prev = utc(year - 1, month, day, h, mi, s, 0);
  return prev ?? t;
}

export function splitPrefix(raw: string, opts: PrefixOptions = {}): SplitLine {
  const line = stripEol(raw);
  const c0 = line.charCodeAt(0);

  // Cheap dispatch on the first character before any regex runs.
  if (c0 >= 48 && c0 <= 57) {
    // digit: only (c) can match
    const m = RFC3339_RE.exec(line);
    if (m) {
      const base = utc(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], fractionMs(m[7]));
      if (base !== null) {
        return { ts: base - offsetMs(m[8]), ident: m[10], pid: pidOf(m[11]), message: line.slice(m[0].length) };
      }
    }
  } else if (c0 >= 65 && c0 <= 90) {
    // capital letter: (a) starts with a weekday, (b) with a month
    const a = CONSOLE_RE.exec(line);
    if (a) {
      // groups: 1 month, 2 day, 3 h, 4 min, 5 s, 6 fraction, 7 year
      const ts = utc(+a[7], MONTHS[a[1]], +a[2], +a[3], +a[4], +a[5], fractionMs(a[6]));
      if (ts !== null) return { ts, ident: null, pid: null, message: line.slice(a[0].length) };
    }
    const b = SYSLOG_RE.exec(line);
    if (b) {
      const ts = syslogTime(MONTHS[b[1]], +b[2], +b[3], +b[4], +b[5], opts);
      if (ts !== null) return { ts, ident: b[7], pid: pidOf(b[8]), message: line.slice(b[0].length) };
    }
  }
  return { ts: null, ident: null, pid: null, message: line };
}

/** `Z`, `+02:00`, `-0530` -> offset in ms east of UTC */
function offsetMs(z: string): number {
  if (z === "Z") return 0;
  const sign = z[0] === "-" ? -1 : 1;
  const digits = z.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/** Drop one trailing line ending ("\n", "\r\n" or "\r"). */
function stripEol(s: string): string {
  let end = s.length;
  if (end > 0 && s.charCodeAt(end - 1) === 10) end--;
  if (end > 0 && s.charCodeAt(end - 1) === 13) end--;
  return end === s.length ? s : s.slice(0, end);
}
