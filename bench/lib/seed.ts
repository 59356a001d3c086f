/**
 * A month of history for the query benchmark, written with COPY (seeding time
 * is not the measurement). Shape, per cluster (20 by default): 3 nodes, two
 * VRRP instances (VRIDs 51, 52), failovers through the month (a takeover is
 * 9 lines on the new MASTER, a step-down 3 on the old one; 1 in 20 goes
 * through FAULT), as many noise lines again (gratuitous ARP refreshes, track
 * script results), a VIP observation per node at each change, one agent
 * session per node per day, and an incident for 1 failover in 12.
 * The `vipClusters` extra clusters have the same history plus what real agents
 * also send: the full VIP set every --vip-interval (10 s), changed or not,
 * stored as the server stores them: a report equal to the node's last stored
 * set is not stored again unless that one is an hour old (VIP_CONFIRM_MS).
 * Rows are generated deterministically (seeded PRNG) cluster by cluster and
 * streamed; secondary indexes are dropped during the load and rebuilt after.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { copyField as f, copyFrom } from "./pgcopy";
import { stepDown, takeover } from "./lines";
import { VIP_CONFIRM_MS } from "../../server/ingest/batches";

export interface SeedParams {
  clusters: number;
  /** extra clusters (after `clusters`) whose agents also report their VIPs every vipEveryMs, as real agents do */
  vipClusters: number;
  vipEveryMs: number;
  /** log records in total */
  logRecords: number;
  days: number;
}

const NODES = ["lb1", "lb2", "lb3"];
const VRIDS = [
  { vrid: 51, name: "VI_WEB", vip: "198.18.0.100" },
  { vrid: 52, name: "VI_DB", vip: "198.18.0.200" },
];
const NOISE = ["VRRP_Script(chk_app) succeeded", "Sending gratuitous ARP on eth0 for 198.18.0.100", "(VI_WEB) Sending/queueing gratuitous ARPs on eth0 for 198.18.0.100"];
const LOG_COLS = `(id, cluster_id, node_id, agent_id, seq, ts, received_at, source, cursor, inode, "offset", ident, pid, line)`;

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const clusterName = (i: number) => `q-${String(i + 1).padStart(2, "0")}`;
export const vipClusterName = (i: number) => `qv-${String(i + 1).padStart(2, "0")}`;

export function instancesJson() {
  return VRIDS.map((v) => ({
    name: v.name, vrid: v.vrid, interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: "PASS", authPassHash: "a".repeat(64),
    vips: [`${v.vip}/24`], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null,
  }));
}

interface Ids {
  log: number;
  cluster: number;
}

/** the rows of one cluster, as COPY text lines per table */
function clusterRows(ci: number, clusterId: number, nodeIds: number[], agentIds: string[], p: SeedParams, end: number, ids: Ids, vipEveryMs = 0) {
  const r = rng(ci + 1);
  const start = end - p.days * 86_400_000;
  const perCluster = Math.floor(p.logRecords / p.clusters);
  // half the lines are episodes (12 lines per failover), half noise
  const failovers = Math.floor(perCluster / 2 / 12);
  const lines: { node: number; ts: number; line: string; state?: { instance: string; vrid: number; state: string } }[] = [];
  const vips: { node: number; ts: number; held: string[] }[] = [];
  const incidents: string[] = [];
  const master = VRIDS.map((_, k) => k % NODES.length);
  const heldBy = (node: number) => VRIDS.filter((_, k) => master[k] === node).map((v) => v.vip);
  const moves: { ts: number; vi: number; next: number }[] = [];
  for (let k = 0; k < failovers; k++) {
    const t = start + ((k + r()) / failovers) * (end - start - 60_000);
    const vi = k % VRIDS.length;
    const v = VRIDS[vi];
    const old = master[vi];
    const next = (old + 1 + Math.floor(r() * (NODES.length - 1))) % NODES.length;
    const fault = r() < 0.05;
    const tk = takeover(v.name, v.vip);
    tk.lines.forEach((line, j) => lines.push({ node: next, ts: t + j, line, state: j === 1 ? { instance: v.name, vrid: v.vrid, state: "MASTER" } : undefined }));
    if (fault) {
      lines.push({ node: old, ts: t - 5, line: "Netlink reports eth0 down" });
      lines.push({ node: old, ts: t - 4, line: `(${v.name}) Entering FAULT STATE`, state: { instance: v.name, vrid: v.vrid, state: "FAULT" } });
      lines.push({ node: old, ts: t + 30_000, line: `(${v.name}) Entering BACKUP STATE`, state: { instance: v.name, vrid: v.vrid, state: "BACKUP" } });
    } else {
      stepDown(v.name, "198.18.0.2").lines.forEach((line, j) =>
        lines.push({ node: old, ts: t + 2 + j, line, state: j === 1 ? { instance: v.name, vrid: v.vrid, state: "BACKUP" } : undefined }),
      );
    }
    master[vi] = next;
    moves.push({ ts: t + 20, vi, next });
    vips.push({ node: next, ts: t + 20, held: heldBy(next) }, { node: old, ts: t + 21, held: heldBy(old) });
    if (k % 12 === 0) {
      const kind = fault ? "FAULT" : r() < 0.5 ? "DUAL_MASTER" : "NO_MASTER";
      const opened = t + 1500;
      const closed = opened + Math.floor(r() * 120_000);
      const evidence = [
        { node: NODES[old], at: new Date(t).toISOString(), line: `(${v.name}) Entering ${fault ? "FAULT" : "MASTER"} STATE`, kind: "log" },
        { node: NODES[next], at: new Date(t + 1).toISOString(), line: `(${v.name}) Entering MASTER STATE`, kind: "log" },
        { node: NODES[next], at: new Date(t + 20).toISOString(), line: `holds ${v.vip}`, kind: "vips" },
      ];
      incidents.push(
        [ids.cluster++, clusterId, kind, kind === "FAULT" || kind === "DUAL_MASTER" ? "critical" : "warning", v.vrid,
          JSON.stringify({ [NODES[old]]: v.name, [NODES[next]]: v.name }), `{${NODES[old]},${NODES[next]}}`,
          new Date(opened).toISOString(), new Date(closed).toISOString(), `${kind.toLowerCase()}_bench`, `${kind} on VRID ${v.vrid} (seeded)`,
          JSON.stringify(evidence), `seed:${clusterId}:${k}`, "f", new Date(closed).toISOString()].map(f).join("\t") + "\n",
      );
    }
  }
  if (vipEveryMs > 0) {
    // what a real agent also sends: the full set every --vip-interval, changed or not
    const m = VRIDS.map((_, k) => k % NODES.length);
    let j = 0;
    for (let t = start; t < end; t += vipEveryMs) {
      while (j < moves.length && moves[j].ts <= t) (m[moves[j].vi] = moves[j].next), j++;
      for (let n = 0; n < NODES.length; n++) vips.push({ node: n, ts: t + n * 7, held: VRIDS.filter((_, k) => m[k] === n).map((v) => v.vip) });
    }
    vips.sort((a, b) => a.ts - b.ts);
    // the server keeps changes and an hourly confirmation (server/ingest/batches.ts)
    const last = new Map<number, { key: string; ts: number }>();
    const kept = vips.filter((v) => {
      const key = [...v.held].sort().join(" ");
      const l = last.get(v.node);
      if (l && l.key === key && v.ts - l.ts < VIP_CONFIRM_MS) return false;
      last.set(v.node, { key, ts: v.ts });
      return true;
    });
    vips.length = 0;
    vips.push(...kept);
  }
  const noise = perCluster - lines.length;
  for (let k = 0; k < noise; k++) lines.push({ node: k % NODES.length, ts: start + r() * (end - start), line: NOISE[k % NOISE.length] });
  lines.sort((a, b) => a.ts - b.ts);

  const logs: string[] = [];
  const states: string[] = [];
  const seq = NODES.map(() => 0);
  for (const l of lines) {
    const id = ids.log++;
    const ts = new Date(l.ts).toISOString();
    const s = ++seq[l.node];
    logs.push([id, clusterId, nodeIds[l.node], agentIds[l.node], s, ts, ts, "journal", `s=bench;i=${s.toString(16)};x=${ci}`, null, null, "Keepalived_vrrp", 1000 + l.node, l.line].map(f).join("\t") + "\n");
    if (l.state) states.push([clusterId, nodeIds[l.node], l.state.instance, l.state.vrid, l.state.state, ts, id].map(f).join("\t") + "\n");
  }
  const vipRows = vips.map((v) => {
    const addrs = [{ address: `198.18.1.${v.node + 1}`, prefixlen: 24, iface: "eth0" }, ...v.held.map((a) => ({ address: a, prefixlen: 24, iface: "eth0" }))];
    const s = ++seq[v.node];
    const ts = new Date(v.ts).toISOString();
    return [clusterId, nodeIds[v.node], agentIds[v.node], s, ts, ts, JSON.stringify(addrs)].map(f).join("\t") + "\n";
  });
  const sessions: string[] = [];
  for (let n = 0; n < NODES.length; n++) {
    for (let d = 0; d < p.days; d++) {
      const c = start + d * 86_400_000;
      const last = d === p.days - 1 ? end : c + 86_400_000 - 1000;
      sessions.push([clusterId, nodeIds[n], agentIds[n], new Date(c).toISOString(), new Date(last).toISOString(), d === p.days - 1 ? null : new Date(last).toISOString()].map(f).join("\t") + "\n");
    }
  }
  return { logs, states, vipRows, incidents, sessions };
}

async function secondaryIndexes(db: pg.Client, tables: string[]): Promise<{ name: string; def: string }[]> {
  const r = await db.query(
    `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
      WHERE i.schemaname = 'public' AND i.tablename = ANY($1) AND i.indexname NOT LIKE '%_pkey'`,
    [tables],
  );
  return r.rows as { name: string; def: string }[];
}

/** Seed an empty, migrated database. Returns what was written. */
export async function seed(db: pg.Client, p: SeedParams, end: number, log: (s: string) => void) {
  const tables = ["log_record", "state_change", "vip_observation", "incident", "agent_session"];
  const clusters: { id: number; nodeIds: number[]; agentIds: string[] }[] = [];
  for (let i = 0; i < p.clusters + p.vipClusters; i++) {
    const c = (await db.query(`INSERT INTO cluster (name) VALUES ($1) RETURNING id`, [i < p.clusters ? clusterName(i) : vipClusterName(i - p.clusters)])).rows[0].id as number;
    const tok = (await db.query(`INSERT INTO agent_token (cluster_id, token_hash, prefix) VALUES ($1, $2, 'kam_seed') RETURNING id`, [c, randomUUID()])).rows[0].id as number;
    const nodeIds: number[] = [];
    const agentIds: string[] = [];
    for (const n of NODES) {
      const nid = (await db.query(`INSERT INTO node (cluster_id, name, token_id, last_seen_at) VALUES ($1, $2, $3, $4) RETURNING id`, [c, n, tok, new Date(end)])).rows[0].id as number;
      const aid = randomUUID();
      await db.query(`INSERT INTO agent (id, cluster_id, node_id, token_id, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5)`, [aid, c, nid, tok, new Date(end)]);
      await db.query(
        `INSERT INTO config_snapshot (cluster_id, node_id, agent_id, seq, ts, path, hash, instances) VALUES ($1, $2, $3, 0, $4, '/etc/keepalived/keepalived.conf', $5, $6)`,
        [c, nid, aid, new Date(end - p.days * 86_400_000 - 60_000), "b".repeat(64), JSON.stringify(instancesJson())],
      );
      nodeIds.push(nid);
      agentIds.push(aid);
    }
    clusters.push({ id: c, nodeIds, agentIds });
  }
  const idx = await secondaryIndexes(db, tables);
  for (const i of idx) await db.query(`DROP INDEX "${i.name}"`);
  const ids: Ids = { log: 1, cluster: 1 };
  const counts = { logs: 0, states: 0, vips: 0, incidents: 0, sessions: 0, vipsPeriodic: 0 };
  const t0 = performance.now();
  // one cluster at a time: generate, then COPY each table's rows
  for (let i = 0; i < clusters.length; i++) {
    const c = clusters[i];
    const rows = clusterRows(i, c.id, c.nodeIds, c.agentIds, p, end, ids, i < p.clusters ? 0 : p.vipEveryMs);
    counts.logs += await copyFrom(db, `COPY log_record ${LOG_COLS} FROM STDIN`, chunks(rows.logs));
    counts.states += await copyFrom(db, `COPY state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id) FROM STDIN`, chunks(rows.states));
    const nv = await copyFrom(db, `COPY vip_observation (cluster_id, node_id, agent_id, seq, ts, received_at, addresses) FROM STDIN`, chunks(rows.vipRows));
    if (i < p.clusters) counts.vips += nv;
    else counts.vipsPeriodic += nv;
    counts.incidents += await copyFrom(
      db,
      `COPY incident (id, cluster_id, kind, severity, vrid, instances, nodes, opened_at, closed_at, cause_code, cause_summary, evidence, dedup_key, silenced, updated_at) FROM STDIN`,
      chunks(rows.incidents),
    );
    counts.sessions += await copyFrom(db, `COPY agent_session (cluster_id, node_id, agent_id, connected_at, last_seen_at, disconnected_at) FROM STDIN`, chunks(rows.sessions));
    if ((i + 1) % 5 === 0) log(`seeded ${i + 1}/${clusters.length} clusters (${counts.logs} log records) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await db.query(`SELECT setval('log_record_id_seq', $1)`, [ids.log]);
  await db.query(`SELECT setval('incident_id_seq', $1)`, [ids.cluster]);
  log(`rebuilding ${idx.length} indexes...`);
  for (const i of idx) await db.query(i.def);
  await db.query(`ANALYZE`);
  return counts;
}

function* chunks(lines: string[]): Generator<string> {
  for (let i = 0; i < lines.length; i += 2000) yield lines.slice(i, i + 2000).join("");
}
