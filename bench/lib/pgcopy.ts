/**
 * `COPY ... FROM STDIN` through node-postgres, without another package: pg
 * accepts any object with submit() as a query and hands it the protocol
 * messages (CopyInResponse, CommandComplete, ErrorResponse, ReadyForQuery).
 * Data comes from a generator of text chunks (COPY text format) and is
 * written with back-pressure on the socket.
 */
import type pg from "pg";

interface Connection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(msg: string): void;
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

class CopyIn {
  callback?: (err: Error | null, rows?: number) => void;
  private rows = 0;
  private failed: Error | null = null;
  constructor(
    readonly text: string,
    private chunks: Iterable<string>,
  ) {}

  submit(con: Connection) {
    con.query(this.text);
  }

  handleCopyInResponse(con: Connection) {
    void (async () => {
      try {
        for (const c of this.chunks) {
          con.sendCopyFromChunk(Buffer.from(c));
          if (con.stream.writableNeedDrain) await new Promise((r) => con.stream.once("drain", r));
        }
        con.endCopyFrom();
      } catch (e) {
        con.sendCopyFail(String((e as Error).message ?? e));
      }
    })();
  }

  handleCommandComplete(msg: { text?: string }) {
    const m = /COPY (\d+)/.exec(msg.text ?? "");
    if (m) this.rows = Number(m[1]);
  }

  handleReadyForQuery() {
    this.callback?.(this.failed, this.rows);
  }

  handleError(err: Error) {
    this.failed = err;
    this.callback?.(err);
    this.callback = undefined;
  }

  handleRowDescription() {}
  handleDataRow() {}
  handleEmptyQuery() {}
  handlePortalSuspended() {}
  handleCopyData() {}
}

/** Run one COPY FROM STDIN; resolves with the row count PostgreSQL reports. */
export function copyFrom(client: pg.Client | pg.PoolClient, sql: string, chunks: Iterable<string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = new CopyIn(sql, chunks);
    q.callback = (err, rows) => (err ? reject(err) : resolve(rows ?? 0));
    (client as unknown as { query(q: unknown): void }).query(q);
  });
}

/** COPY text-format field: \N for null, backslash escapes for the special characters */
export function copyField(v: string | number | bigint | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r") : s;
}

/** group rows (already formatted lines) into ~256 KiB chunks */
export function* chunked(lines: Iterable<string>, bytes = 256 * 1024): Generator<string> {
  let buf: string[] = [];
  let size = 0;
  for (const l of lines) {
    buf.push(l);
    size += l.length;
    if (size >= bytes) {
      yield buf.join("");
      buf = [];
      size = 0;
    }
  }
  if (buf.length) yield buf.join("");
}
