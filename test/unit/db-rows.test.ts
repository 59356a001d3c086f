import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import type { Db } from "../../server/db/database";
import { firstChecked, parseRows, pgRows, queryRows, RowShapeError } from "../../server/db/rows";
import { HeldAddress } from "../../server/protocol";

const Row = z.object({ id: z.bigint(), ts: z.date(), hash: z.string(), addresses: z.array(HeldAddress), skew_ms: z.number().nullable() });
const good = { id: 7n, ts: new Date("2024-05-01T12:00:00Z"), hash: "a".repeat(64), addresses: [{ address: "10.0.0.1", prefixlen: 32, iface: "eth0" }], skew_ms: null };
const SECRET = "s3cr3t-auth-pass-hash";

/** everything an error could carry to a log: message, stack and own fields */
const allText = (e: unknown) => (e instanceof Error ? `${e.message}\n${e.stack}\n${JSON.stringify({ ...e })}` : String(e));

/** a stand-in for the Prisma client: only $queryRawUnsafe, answering `rows` */
const fakeDb = (rows: unknown[]) => ({ $queryRawUnsafe: async () => rows }) as unknown as Db;

describe("typed SQL rows (server/db/rows.ts)", () => {
  it("returns matching rows, typed", async () => {
    const rows = await queryRows(fakeDb([good, { ...good, id: 8n, skew_ms: -40 }]), "test.match", Row, "SELECT 1");
    assert.equal(rows.length, 2);
    assert.equal(rows[0].id, 7n);
    assert.equal(rows[0].ts.getTime(), Date.parse("2024-05-01T12:00:00Z"));
    assert.equal(rows[0].addresses[0].iface, "eth0");
    assert.equal(rows[1].skew_ms, -40);
  });

  it("throws RowShapeError naming the query and the field, never the value", async () => {
    const bad = { ...good, hash: 12345, addresses: [{ address: SECRET, prefixlen: "thirty-two", iface: SECRET }] };
    await assert.rejects(
      () => queryRows(fakeDb([good, bad]), "restore.configs", Row, "SELECT 1"),
      (e: unknown) => {
        assert.ok(e instanceof RowShapeError);
        assert.equal(e.name, "RowShapeError");
        assert.equal(e.query, "restore.configs");
        assert.equal(e.row, 1);
        assert.equal(e.path, "hash");
        assert.match(e.message, /restore\.configs/);
        assert.match(e.message, /row 1/);
        assert.match(e.message, /at hash/);
        assert.match(e.message, /expected string/);
        assert.doesNotMatch(allText(e), /12345|s3cr3t|thirty-two/);
        return true;
      },
    );
  });

  it("names a nested field by its path (a JSON column), without its value", () => {
    const bad = { ...good, addresses: [{ address: SECRET, prefixlen: SECRET, iface: "eth0" }] };
    assert.throws(
      () => parseRows("facts.vips", Row, [bad]),
      (e: unknown) => {
        assert.ok(e instanceof RowShapeError);
        assert.equal(e.path, "addresses[0].prefixlen");
        assert.match(e.message, /facts\.vips/);
        assert.doesNotMatch(allText(e), /s3cr3t/);
        return true;
      },
    );
  });

  it("a bigint column read as a number (or a missing column) does not pass", () => {
    assert.throws(() => parseRows("q", Row, [{ ...good, id: 7 }]), (e: unknown) => e instanceof RowShapeError && e.path === "id");
    const { ts: _ts, ...noTs } = good;
    assert.throws(() => parseRows("q", Row, [noTs]), (e: unknown) => e instanceof RowShapeError && e.path === "ts");
  });

  it("parses the rows of a pg query result", async () => {
    const calls: unknown[][] = [];
    const pool = {
      async query(sql: string, params?: unknown[]) {
        calls.push([sql, params]);
        return { rows: [{ l: "1:10,2:11", v: null }] };
      },
    };
    const [r] = await pgRows(pool, "ingest.batch", z.object({ l: z.string().nullable(), v: z.string().nullable() }), "SELECT $1", [5]);
    assert.deepEqual(r, { l: "1:10,2:11", v: null });
    assert.deepEqual(calls, [["SELECT $1", [5]]]);
    await assert.rejects(
      () => pgRows({ query: async () => ({ rows: [{ l: 1 }] }) }, "ingest.batch", z.object({ l: z.string() }), "SELECT 1"),
      (e: unknown) => e instanceof RowShapeError && e.query === "ingest.batch" && e.path === "l",
    );
  });

  it("firstChecked checks the first element of a JSON array and reports its path", () => {
    const S = z.object({ rows: firstChecked(z.tuple([z.number(), z.string()])).nullable() });
    assert.deepEqual(parseRows("timeline", S, [{ rows: [[1, "a"], [2, "b"]] }])[0].rows, [[1, "a"], [2, "b"]]);
    assert.deepEqual(parseRows("timeline", S, [{ rows: null }])[0].rows, null);
    assert.deepEqual(parseRows("timeline", S, [{ rows: [] }])[0].rows, []);
    assert.throws(
      () => parseRows("timeline", S, [{ rows: [[1, 2]] }]),
      (e: unknown) => e instanceof RowShapeError && e.path === "rows[0][1]" && /timeline/.test(e.message),
    );
    assert.throws(() => parseRows("timeline", S, [{ rows: "x" }]), (e: unknown) => e instanceof RowShapeError && e.path === "rows");
  });
  it("with onReject (stored data read at start), a row that does not match is left out and reported, the others kept", async () => {
    const rejected: RowShapeError[] = [];
    const rows = await queryRows(fakeDb([good, { ...good, id: 9n, addresses: [{ address: SECRET }] }, { ...good, id: 10n }]), "test.keep", Row, "SELECT 1", [], (e) => rejected.push(e));
    assert.deepEqual(rows.map((r) => r.id), [7n, 10n]);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].query, "test.keep");
    assert.equal(rejected[0].row, 1);
    assert.match(rejected[0].path, /^addresses\[0\]/);
    assert.ok(!allText(rejected[0]).includes(SECRET));
  });
});
