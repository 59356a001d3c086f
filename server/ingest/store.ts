/**
 * Batched, idempotent storage of agent records.
 *
 * One transaction per batch; one multi-row INSERT per record kind (unnest of
 * parameter arrays, so the statement text is constant and the plan cached);
 * `ON CONFLICT (agent_id, seq) DO NOTHING RETURNING` tells which records are
 * new, so redelivered records are acknowledged again without being stored or
 * processed twice. State changes derived from the new log lines are written in
 * the same transaction: history and derived data never disagree.
 */
import type { AgentRecord, ConfigRecordMsg, GapRecordMsg, LogRecordMsg, VipRecordMsg } from "../protocol";
import type { Db } from "../db/database";
import { parseLine } from "../parser";
import type { KeepalivedEvent } from "../parser/types";

export interface AgentScope {
  clusterId: number;
  nodeId: number;
  agentId: string;
  /** node's UTC offset: file lines carry local time */
  utcOffsetMinutes?: number;
}

/**
 * Node time of a record. Journald gives it (µs). A file line carries its own
 * stamp, in whole seconds of the node's local time; when the agent read the
 * line within that second (the normal case: it follows the file live), the
 * read time is the same instant with millisecond precision. A line read later
 * (backlog after a restart) keeps its own stamp.
 */
export function recordTime(rec: LogRecordMsg, lineTs: number | null, utcOffsetMinutes = 0): number {
  if (rec.source !== "file" || lineTs == null) return rec.ts;
  const stamp = lineTs - utcOffsetMinutes * 60_000;
  return rec.ts >= stamp && rec.ts < stamp + 1000 ? rec.ts : stamp;
}

export interface StoredLog {
  id: bigint;
  seq: number;
  ts: Date;
  line: string;
  event: KeepalivedEvent | null;
}

export interface StateChangeRow {
  instance: string;
  vrid: number | null;
  state: string;
  ts: Date;
  logRecordId: bigint;
}

export interface StoreResult {
  logs: StoredLog[];
  vips: (VipRecordMsg & { id: bigint })[];
  configs: (ConfigRecordMsg & { id: bigint })[];
  gaps: (GapRecordMsg & { id: bigint })[];
  stateChanges: StateChangeRow[];
  stored: number;
  duplicates: number;
}

/** Turns newly stored, parsed log lines into state-change rows (pure; supplied by the state layer). */
export type DeriveStateChanges = (logs: StoredLog[], configs: ConfigRecordMsg[]) => StateChangeRow[];

const iso = (ms: number) => new Date(ms).toISOString();

async function insertLogs(tx: Db, s: AgentScope, recs: LogRecordMsg[], now: string) {
  if (recs.length === 0) return { ids: new Map<number, bigint>(), parsed: [], ts: [] as string[] };
  const parsed = recs.map((r) => parseLine(r.line, { now: r.ts }));
  const ts = recs.map((r, i) => iso(recordTime(r, parsed[i].ts, s.utcOffsetMinutes)));
  const rows = (await tx.$queryRawUnsafe(
    `INSERT INTO log_record (cluster_id, node_id, agent_id, seq, ts, received_at, source, cursor, inode, "offset", ident, pid, line)
     SELECT $1, $2, $3::uuid, u.seq, u.ts, $4::timestamptz, u.source, u.cursor, u.inode, u.off, u.ident, u.pid, u.line
     FROM unnest($5::bigint[], $6::timestamptz[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::int[], $13::text[])
       AS u(seq, ts, source, cursor, inode, off, ident, pid, line)
     ON CONFLICT (agent_id, seq) DO NOTHING
     RETURNING id, seq`,
    s.clusterId,
    s.nodeId,
    s.agentId,
    now,
    recs.map((r) => r.seq),
    ts,
    recs.map((r) => r.source),
    recs.map((r) => r.cursor ?? null),
    recs.map((r) => r.inode ?? null),
    recs.map((r) => r.offset ?? null),
    recs.map((r, i) => r.ident ?? parsed[i].ident ?? null),
    recs.map((r) => r.pid ?? null),
    recs.map((r) => r.line),
  )) as { id: bigint; seq: bigint }[];
  const ids = new Map<number, bigint>();
  for (const row of rows) ids.set(Number(row.seq), row.id);
  return { ids, parsed, ts };
}

async function insertJsonKind(
  tx: Db,
  table: "vip_observation" | "config_snapshot" | "agent_gap",
  s: AgentScope,
  recs: (VipRecordMsg | ConfigRecordMsg | GapRecordMsg)[],
  now: string,
): Promise<Map<number, bigint>> {
  if (recs.length === 0) return new Map();
  // Columns per kind; values travel as one JSON document per record.
  const spec = {
    vip_observation: { cols: "addresses", sel: "(d->'addresses')" },
    config_snapshot: { cols: "path, hash, instances, errors", sel: "d->>'path', d->>'hash', d->'instances', d->'errors'" },
    agent_gap: {
      cols: "from_seq, to_seq, dropped, reason",
      sel: "(d->>'fromSeq')::bigint, (d->>'toSeq')::bigint, (d->>'dropped')::int, d->>'reason'",
    },
  }[table];
  const rows = (await tx.$queryRawUnsafe(
    `INSERT INTO ${table} (cluster_id, node_id, agent_id, seq, ts, received_at, ${spec.cols})
     SELECT $1, $2, $3::uuid, (d->>'seq')::bigint, to_timestamp((d->>'ts')::double precision / 1000), $4::timestamptz, ${spec.sel}
     FROM unnest($5::jsonb[]) AS d
     ON CONFLICT (agent_id, seq) DO NOTHING
     RETURNING id, seq`,
    s.clusterId,
    s.nodeId,
    s.agentId,
    now,
    recs.map((r) => JSON.stringify(r)),
  )) as { id: bigint; seq: bigint }[];
  return new Map(rows.map((r) => [Number(r.seq), r.id]));
}

export async function storeBatch(
  db: Db,
  scope: AgentScope,
  records: AgentRecord[],
  derive: DeriveStateChanges,
  /** server receive time, ISO-8601 (microseconds allowed: the hub keeps it strictly increasing) */
  receivedAt = new Date().toISOString(),
): Promise<StoreResult> {
  const nowIso = receivedAt;
  // a seq repeated inside one batch is one record
  const seen = new Set<number>();
  records = records.filter((r) => !seen.has(r.seq) && seen.add(r.seq) !== undefined);
  const logs = records.filter((r): r is LogRecordMsg => r.kind === "log");
  const vips = records.filter((r): r is VipRecordMsg => r.kind === "vips");
  const configs = records.filter((r): r is ConfigRecordMsg => r.kind === "config");
  const gaps = records.filter((r): r is GapRecordMsg => r.kind === "gap");
  const maxSeq = records.reduce((m, r) => Math.max(m, r.seq), 0);

  return db.$transaction(
    async (tx) => {
      const t = tx as unknown as Db;
      const logRes = await insertLogs(t, scope, logs, nowIso);
      const vipIds = await insertJsonKind(t, "vip_observation", scope, vips, nowIso);
      const cfgIds = await insertJsonKind(t, "config_snapshot", scope, configs, nowIso);
      const gapIds = await insertJsonKind(t, "agent_gap", scope, gaps, nowIso);

      const storedLogs: StoredLog[] = [];
      logs.forEach((r, i) => {
        const id = logRes.ids.get(r.seq);
        if (id !== undefined) {
          storedLogs.push({ id, seq: r.seq, ts: new Date(logRes.ts[i]), line: r.line, event: logRes.parsed[i].event });
        }
      });
      const newConfigs = configs.filter((c) => cfgIds.has(c.seq));
      const stateChanges = derive(storedLogs, newConfigs);
      if (stateChanges.length > 0) {
        await t.$executeRawUnsafe(
          `INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id)
           SELECT $1, $2, u.instance, u.vrid, u.state, u.ts, u.lid
           FROM unnest($3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::bigint[]) AS u(instance, vrid, state, ts, lid)
           ON CONFLICT (log_record_id) DO NOTHING`,
          scope.clusterId,
          scope.nodeId,
          stateChanges.map((c) => c.instance),
          stateChanges.map((c) => c.vrid),
          stateChanges.map((c) => c.state),
          stateChanges.map((c) => c.ts.toISOString()),
          stateChanges.map((c) => c.logRecordId),
        );
      }
      await t.$executeRawUnsafe(
        `UPDATE agent SET last_seq = GREATEST(last_seq, $2), last_seen_at = $3::timestamptz WHERE id = $1::uuid`,
        scope.agentId,
        maxSeq,
        nowIso,
      );
      const stored = storedLogs.length + vipIds.size + cfgIds.size + gapIds.size;
      return {
        logs: storedLogs,
        vips: vips.filter((v) => vipIds.has(v.seq)).map((v) => ({ ...v, id: vipIds.get(v.seq)! })),
        configs: newConfigs.map((c) => ({ ...c, id: cfgIds.get(c.seq)! })),
        gaps: gaps.filter((g) => gapIds.has(g.seq)).map((g) => ({ ...g, id: gapIds.get(g.seq)! })),
        stateChanges,
        stored,
        duplicates: records.length - stored,
      };
    },
    { timeout: 30_000, maxWait: 30_000 },
  );
}
