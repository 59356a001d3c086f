/**
 * Realistic rows written with plain SQL, in columns that exist since the third migration (20261123225813_access):
 * usable on a database of an earlier release (the upgrade test) as on the current one (backup/restore).
 * Two clusters, three nodes, agents, state changes of a failover, an open and a closed incident, a user, an
 * agent token and an API token. `checkSeeded` checks the rows and what the API answers about them.
 */
import assert from "node:assert/strict";
import { fetchChecked } from "./api-schema";
import { queryUrl } from "./server";

export const SEED = {
  clusters: ["shop", "db"],
  nodes: { shop: ["lb1", "lb2"], db: ["pg1"] },
  user: "olduser",
} as const;

const T0 = Date.parse("2026-11-20T10:00:00Z");
const iso = (min: number) => new Date(T0 + min * 60_000).toISOString();

export async function seedHistory(url: string): Promise<void> {
  const q = (sql: string, params: unknown[] = []) => queryUrl(url, sql, params);
  for (const c of SEED.clusters) await q(`INSERT INTO cluster (name, created_at) VALUES ($1, $2)`, [c, iso(-60)]);
  const cid = async (name: string) => (await q(`SELECT id FROM cluster WHERE name = $1`, [name]))[0].id as number;
  const shop = await cid("shop");
  const dbc = await cid("db");
  await q(`INSERT INTO agent_token (cluster_id, label, token_hash, prefix, created_at) VALUES ($1, 'shop nodes', $2, 'kamt_aaaa', $3), ($4, 'db nodes', $5, 'kamt_bbbb', $3)`,
    [shop, "a".repeat(64), iso(-60), dbc, "b".repeat(64)]);
  const tok = async (c: number) => (await q(`SELECT id FROM agent_token WHERE cluster_id = $1`, [c]))[0].id as number;
  let agentN = 0;
  for (const [cluster, nodes] of Object.entries(SEED.nodes)) {
    const c = await cid(cluster);
    for (const n of nodes) {
      await q(`INSERT INTO node (cluster_id, name, token_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)`, [c, n, await tok(c), iso(-60), iso(30)]);
      const nodeId = (await q(`SELECT id FROM node WHERE cluster_id = $1 AND name = $2`, [c, n]))[0].id;
      await q(`INSERT INTO agent (id, cluster_id, node_id, token_id, version, hostname, first_seen_at, last_seen_at, last_seq) VALUES ($1, $2, $3, $4, '0.1.0', $5, $6, $7, 42)`,
        [`00000000-0000-4000-8000-00000000000${++agentN}`, c, nodeId, await tok(c), n, iso(-60), iso(30)]);
    }
  }
  const node = async (name: string) => (await q(`SELECT id FROM node WHERE name = $1`, [name]))[0].id as number;
  const [lb1, lb2] = [await node("lb1"), await node("lb2")];
  const sc = [[lb1, "MASTER", -50], [lb2, "BACKUP", -50], [lb1, "FAULT", 0], [lb2, "MASTER", 0.05], [lb1, "BACKUP", 10]] as const;
  let log = 1000;
  for (const [n, state, m] of sc) {
    await q(`INSERT INTO state_change (cluster_id, node_id, instance, vrid, state, ts, log_record_id) VALUES ($1, $2, 'VI_1', 51, $3, $4, $5)`, [shop, n, state, iso(m), log++]);
  }
  await q(
    `INSERT INTO incident (cluster_id, kind, severity, vrid, instances, nodes, opened_at, closed_at, cause_code, cause_summary, evidence, dedup_key, updated_at, acked_at, acked_by)
     VALUES ($1, 'FAULT', 'critical', 51, '{"lb1":"VI_1"}', ARRAY['lb1'], $2, $3, 'fault', 'lb1 entered FAULT: eth0 down', $4, 'fault:shop:51:lb1', $3, $3, 'olduser'),
            ($1, 'DUAL_MASTER', 'critical', 51, '{}', ARRAY['lb1','lb2'], $5, NULL, 'dual_master', 'lb1 and lb2 both MASTER', '[]', 'dual:shop:51', $5, NULL, NULL)`,
    [shop, iso(0), iso(10), JSON.stringify([{ node: "lb1", at: T0, line: "Netlink reports eth0 down", kind: "log" }]), iso(20)],
  );
  await q(`INSERT INTO app_user (name, role, password_hash, created_at, updated_at) VALUES ($1, 'admin', 'scrypt$placeholder', $2, $2)`, [SEED.user, iso(-60)]);
  await q(`INSERT INTO api_token (name, token_hash, prefix, created_by, created_at) VALUES ('grafana', $1, 'kama_cccc', $2, $3)`, ["c".repeat(64), SEED.user, iso(-60)]);
}

/** the seeded rows are all there, and the API answers with them */
export async function checkSeeded(url: string, base: string): Promise<void> {
  const count = async (t: string) => Number((await queryUrl<{ n: string }>(url, `SELECT count(*) AS n FROM ${t}`))[0].n);
  assert.deepEqual(
    { cluster: await count("cluster"), node: await count("node"), agent: await count("agent"), state_change: await count("state_change"), incident: await count("incident"), app_user: await count("app_user"), agent_token: await count("agent_token"), api_token: await count("api_token") },
    { cluster: 2, node: 3, agent: 3, state_change: 5, incident: 2, app_user: 1, agent_token: 2, api_token: 1 },
  );
  const clusters = (await fetchChecked<{ name: string; nodes: { name: string }[]; openIncidents: number }[]>(base, "/api/clusters")).body;
  const shop = clusters.find((c) => c.name === "shop");
  assert.ok(shop, `GET /api/clusters names shop: ${JSON.stringify(clusters.map((c) => c.name))}`);
  assert.deepEqual(shop.nodes.map((n) => n.name).sort(), ["lb1", "lb2"]);
  assert.equal(shop.openIncidents, 1);
  assert.deepEqual(clusters.map((c) => c.name).sort(), ["db", "shop"]);
  const incidents = (await fetchChecked<{ id: number; kind: string; closedAt: string | null }[]>(base, "/api/incidents?cluster=shop")).body;
  assert.deepEqual(incidents.map((i) => i.kind).sort(), ["DUAL_MASTER", "FAULT"]);
  const fault = incidents.find((i) => i.kind === "FAULT")!;
  const one = await fetchChecked<{ kind: string; closedAt: string | null; cause: { summary: string; evidence: { line: string }[] } }>(base, `/api/incidents/${fault.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.cause.summary, "lb1 entered FAULT: eth0 down");
  assert.equal(one.body.cause.evidence[0].line, "Netlink reports eth0 down");
  assert.equal(one.body.closedAt, iso(10));
  const stats = await fetchChecked<{ clusters: { cluster: string; failovers: number; incidents: Record<string, number> }[] }>(base, `/api/stats?cluster=shop&from=${encodeURIComponent(iso(-60))}&to=${encodeURIComponent(iso(60))}`);
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  const s = stats.body.clusters.find((c) => c.cluster === "shop");
  assert.equal(s?.failovers, 1, `one failover (lb1 -> lb2): ${JSON.stringify(stats.body)}`);
  assert.deepEqual(s.incidents, { FAULT: 1, DUAL_MASTER: 1 });
}
