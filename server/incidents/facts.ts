/**
 * Facts for the detectors, live and from storage, in ONE order: the order
 * in which the server stored them (received_at, then the agent's seq). The
 * live path feeds facts right after each commit in that same order, so a
 * replay of stored history meets the same sequence and yields the same
 * incidents.
 */
import { z } from "zod";
import type { Db } from "../db/database";
import { queryRows, type RowShapeError } from "../db/rows";
import type { Fact } from "../detect/types";
import { ConfigInstance, DumpInstance, HeldAddress } from "../protocol";
import { parseLine } from "../parser";
import type { StoreResult } from "../ingest/store";

/** liveness is persisted (and fed to the detectors) at most this often per agent */
export const SEEN_EVERY_MS = 5000;

/**
 * How often liveness is persisted and fed for an offline limit: SEEN_EVERY_MS, or a third of a limit
 * shorter than 15 s (a limit of 4 s fed every 5 s would read every agent as offline between two).
 */
export function seenEveryMs(offlineMs: number): number {
  return Math.max(250, Math.min(SEEN_EVERY_MS, Math.floor(offlineMs / 3)));
}

/** `rx`: the batch's receive time (epoch ms, the received_at stored with it: loadFacts gives the same) */
export function factsFromStored(node: string, r: StoreResult, rx?: number): Fact[] {
  const out: { seq: number; fact: Fact }[] = [];
  const recv = rx !== undefined && Number.isFinite(rx) ? { rx } : {};
  for (const l of r.logs) out.push({ seq: l.seq, fact: { kind: "log", node, ts: l.ts.getTime(), id: String(l.id), line: l.line, event: l.event, ...recv } });
  for (const v of r.vips) {
    out.push({ seq: v.seq, fact: { kind: "vips", node, ts: v.ts, id: `v${v.id}`, addresses: v.addresses.map((a) => a.address.toLowerCase()), ...recv } });
  }
  for (const c of r.configs) out.push({ seq: c.seq, fact: { kind: "config", node, ts: c.ts, id: `c${c.id}`, instances: c.instances, ...recv } });
  for (const p of r.processes) out.push({ seq: p.seq, fact: { ...processFact(node, p.id, p.ts, p), ...recv } });
  for (const g of r.gaps) out.push({ seq: g.seq, fact: { kind: "gap", node, ts: g.ts, id: `g${g.id}`, dropped: g.dropped, ...recv } });
  for (const k of r.dumps) out.push({ seq: k.seq, fact: { ...dumpFact(node, k.id, k.ts, k), ...recv } });
  return out.sort((a, b) => a.seq - b.seq).map((x) => x.fact);
}

const ProcessFields = z.object({ running: z.boolean(), event: z.string(), exit: z.string().nullable() });
type ProcessFields = z.infer<typeof ProcessFields>;

/** the `process` fact of a stored keepalived_process row (live and replay build it here, alike) */
function processFact(node: string, id: bigint, ts: number, p: ProcessFields): Fact {
  return { kind: "process", node, ts, id: `p${id}`, running: p.running, event: p.event as Extract<Fact, { kind: "process" }>["event"], exit: p.exit };
}

/** the `dump` fact of a stored keepalived_dump row (live and replay alike): per instance the auth-error counters' sum */
function dumpFact(node: string, id: bigint, ts: number, k: { pid: number; instances: DumpInstance[] }): Fact {
  const auth: Record<string, number> = {};
  for (const i of k.instances) auth[i.name] = i.stats.invalid_authtype + i.stats.authtype_mismatch + i.stats.auth_failure;
  return { kind: "dump", node, ts, id: `k${id}`, pid: k.pid, auth };
}

type Timed = { at: bigint; seq: number; fact: Fact };

/** received_at in µs -> the receive time in ms the live path used (Date.parse of the ISO time: truncated) */
export const rxOf = (us: bigint): number => Number(us / 1000n);

/** the columns every stored record has, as loadFacts selects them (rus: received_at in µs) */
const Stored = z.object({ id: z.bigint(), node_id: z.number(), seq: z.bigint(), ts: z.date(), rus: z.bigint() });
const LogRow = Stored.extend({ line: z.string() });
const VipRow = Stored.extend({ addresses: z.array(HeldAddress) });
const ConfigRow = Stored.extend({ instances: z.array(ConfigInstance) });
const ProcessRow = Stored.extend(ProcessFields.shape);
const GapRow = Stored.extend({ dropped: z.number() });
const DumpRow = Stored.extend({ pid: z.number(), instances: z.array(DumpInstance) });

/** Every fact of a cluster whose storage time is in [from, to), in storage order. */
/** `onReject`: a stored row that does not match its schema is left out and reported there (the detection restore at start); without it the load throws */
/** `everyMs`: the cadence the live path fed "seen" at (seenEveryMs of the server's offline limit) */
export async function loadFacts(
  db: Db, clusterId: number, from: Date, to: Date, onReject?: (e: RowShapeError) => void, everyMs = SEEN_EVERY_MS,
): Promise<Fact[]> {
  const nodes = new Map((await db.node.findMany({ where: { clusterId } })).map((n) => [n.id, n.name]));
  const name = (id: number) => nodes.get(id) ?? `node#${id}`;
  const us = (d: Date) => BigInt(d.getTime()) * 1000n;
  const out: Timed[] = [];
  const args = [clusterId, from.toISOString(), to.toISOString()] as const;

  const stored = <S extends typeof Stored>(label: string, Row: S, table: string, columns: string) =>
    queryRows(
      db, label, Row,
      `SELECT id, node_id, seq, ts, ${columns}, (extract(epoch from received_at) * 1000000)::bigint AS rus
       FROM ${table} WHERE cluster_id = $1 AND received_at >= $2::timestamptz AND received_at < $3::timestamptz`,
      args, onReject,
    );
  for (const l of await stored("facts.logs", LogRow, "log_record", "line")) {
    const ts = l.ts.getTime();
    out.push({ at: l.rus, seq: Number(l.seq), fact: { kind: "log", node: name(l.node_id), ts, id: String(l.id), line: l.line, event: parseLine(l.line, { now: ts }).event, rx: rxOf(l.rus) } });
  }
  for (const v of await stored("facts.vips", VipRow, "vip_observation", "addresses")) {
    out.push({ at: v.rus, seq: Number(v.seq), fact: { kind: "vips", node: name(v.node_id), ts: v.ts.getTime(), id: `v${v.id}`, addresses: v.addresses.map((a) => a.address.toLowerCase()), rx: rxOf(v.rus) } });
  }
  for (const c of await stored("facts.configs", ConfigRow, "config_snapshot", "instances")) {
    out.push({ at: c.rus, seq: Number(c.seq), fact: { kind: "config", node: name(c.node_id), ts: c.ts.getTime(), id: `c${c.id}`, instances: c.instances, rx: rxOf(c.rus) } });
  }
  for (const p of await stored("facts.processes", ProcessRow, "keepalived_process", "running, event, exit")) {
    out.push({ at: p.rus, seq: Number(p.seq), fact: { ...processFact(name(p.node_id), p.id, p.ts.getTime(), p), rx: rxOf(p.rus) } });
  }
  for (const g of await stored("facts.gaps", GapRow, "agent_gap", "dropped")) {
    out.push({ at: g.rus, seq: Number(g.seq), fact: { kind: "gap", node: name(g.node_id), ts: g.ts.getTime(), id: `g${g.id}`, dropped: g.dropped, rx: rxOf(g.rus) } });
  }
  for (const k of await stored("facts.dumps", DumpRow, "keepalived_dump", "pid, instances")) {
    out.push({ at: k.rus, seq: Number(k.seq), fact: { ...dumpFact(name(k.node_id), k.id, k.ts.getTime(), k), rx: rxOf(k.rus) } });
  }
  // Liveness: a session row is one unbroken stretch of heartbeats (liveness
  // starts a new row after any silence longer than the offline limit), so
  // "seen" every everyMs across [connected_at, last_seen_at] stands for
  // the heartbeats the live path fed; incidents depend only on the stretches' ends.
  const sessions = await db.agentSession.findMany({
    where: { clusterId, connectedAt: { lt: to }, lastSeenAt: { gte: from } },
    orderBy: { id: "asc" },
  });
  for (const s of sessions) {
    const node = name(s.nodeId);
    const seen = (ms: number) => {
      if (ms >= from.getTime() && ms < to.getTime()) out.push({ at: BigInt(ms) * 1000n, seq: 0, fact: { kind: "seen", node, ts: ms } });
    };
    const end = s.lastSeenAt.getTime();
    for (let t = s.connectedAt.getTime(); t < end; t += everyMs) seen(t);
    seen(end);
    if (s.disconnectedAt && s.disconnectedAt >= from && s.disconnectedAt < to) {
      out.push({ at: us(s.disconnectedAt), seq: 1, fact: { kind: "disconnected", node, ts: s.disconnectedAt.getTime() } });
    }
  }
  // the starts of the server (every cluster's): the downtime before each does not count against the agents
  const starts = await db.serverStart.findMany({ where: { listeningAt: { gte: from, lt: to } }, orderBy: { id: "asc" } });
  for (const s of starts) out.push({ at: us(s.listeningAt), seq: 0, fact: { kind: "server_started", node: "", ts: s.listeningAt.getTime() } });
  out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq));
  return out.map((x) => x.fact);
}
