/**
 * /metrics of a real server fed by agents (issue 15): the series named as the common keepalived exporters
 * name them (docs/METRICS.md), kam_agent_info from the handshake (and from storage after a restart),
 * kam_build_info; and every query of deploy/grafana/dashboard.json and deploy/prometheus/rules.yml reads
 * only series, and labels, that this scrape exposes.
 *
 * Why a scrape and not the HELP catalogue: the catalogue says which families may exist, the scrape shows
 * which do, with which labels (a panel filtering the ingest counters by cluster would pass the catalogue and
 * show nothing in Grafana), and it includes prom-client's default metrics, which the catalogue does not list.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { startTestServer, ROOT, type TestServer } from "../helpers/server";
import { connectFakeAgent, instance, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";
import { testDbKind } from "../helpers/db";
import { parsePromText, samplesOf, type PromFamily } from "../helpers/prom-text";
import { startReplicas, type Replicas } from "../helpers/replicas";
import { METRIC_NAME, readPromQL } from "../helpers/promql";

let srv: TestServer;
const agents: FakeAgent[] = [];

async function scrape(url = srv.url): Promise<Map<string, PromFamily>> {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  return parsePromText(await r.text());
}

/** a node of cluster "shop" with VI_1 (VRID 51, VIP 198.18.0.100/24 on eth0), keepalived watched and running, BACKUP */
async function node(token: string, name: string, priority: number, version: string, url = srv.url): Promise<FakeAgent> {
  const a = await connectFakeAgent(url, token, name, 1000, version);
  agents.push(a);
  const ts = Date.now();
  await a.send([
    { kind: "config", ts, path: "/etc/keepalived/keepalived.conf", hash: "1".repeat(64), routerId: name, netNamespace: null, errors: [],
      instances: [instance({ name: "VI_1", vrid: 51, priority, interface: "eth0", vips: ["198.18.0.100/24"] })] },
    { kind: "process", ts, running: true, event: "observed", pid: 100, vrrpPid: 101, via: "pidfile", exit: null },
  ]);
  await a.log("(VI_1) Entering BACKUP STATE (init)");
  return a;
}

/**
 * What is wrong with the queries `exprs` against the scrape: a name that is not a metric name, a series the
 * scrape does not have, a label matched or grouped by that none of its series carries. [] when all is well.
 */
function queryProblems(where: string, exprs: string[], families: Map<string, PromFamily>): string[] {
  const problems: string[] = [];
  for (const expr of exprs) {
    const q = readPromQL(expr);
    if (q.selectors.length === 0) problems.push(`${where}: reads no series: ${expr}`);
    const labelsOf = (metric: string) => new Set((families.get(metric)?.samples ?? []).flatMap((s) => Object.keys(s.labels)));
    for (const s of q.selectors) {
      if (!METRIC_NAME.test(s.metric)) problems.push(`${where}: ${JSON.stringify(s.metric)} is not a metric name`);
      else if (!families.get(s.metric)?.samples.length) problems.push(`${where}: ${s.metric} is not exposed by /metrics`);
      else for (const l of s.labels) if (!labelsOf(s.metric).has(l)) problems.push(`${where}: ${s.metric} has no label ${l}`);
    }
    for (const l of q.grouping) {
      if (!q.selectors.some((s) => labelsOf(s.metric).has(l))) problems.push(`${where}: no series of the query has the label ${l} it groups by: ${expr}`);
    }
  }
  return problems;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets: { expr: string; datasource: { type: string; uid: string } }[];
}
interface Dashboard {
  schemaVersion: number;
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; type: string; query: { query: string } | string; datasource: { uid: string } }[] };
  panels: Panel[];
}

const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, "deploy/grafana/dashboard.json"), "utf8")) as Dashboard;

before(async () => {
  srv = await startTestServer();
});

after(async () => {
  for (const a of agents) a.close();
  await srv?.close();
});

describe(`/metrics for Prometheus, exporter dashboards and the shipped rules and dashboard (${testDbKind()})`, () => {
  let families: Map<string, PromFamily>;

  it("exposes the exporters' series per node with their labels and values, and the agents' versions", { timeout: 90_000 }, async () => {
    const token = await srv.token("shop");
    const a = await node(token, "a", 150, "1.2.3");
    const b = await node(token, "b", 100, "1.2.4");
    const c = await node(token, "c", 50, "");
    await a.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE");
    // b took over and gave it back: one become, one release
    await b.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE",
      "(VI_1) Master received advert from 198.18.0.1 with higher priority 150, ours 100", "(VI_1) Entering BACKUP STATE");
    await c.log("Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
    // one refused batch, so the ingest panel's refusals have a series
    const refused = (await c.socket.timeout(10_000).emitWithAck("batch", { records: [{ kind: "nope" }] })) as { ok: boolean; code?: string };
    assert.equal(refused.code, "invalid_message");
    // the FAULT incident opened, and every agent's clock skew measured (at its first heartbeat)
    families = await waitFor("the FAULT incident and the clock skews in /metrics", async () => {
      const f = await scrape();
      const fault = samplesOf(f, "kam_open_incidents", { cluster: "shop", kind: "FAULT" })[0]?.value === 1;
      return fault && samplesOf(f, "kam_agent_clock_skew_seconds", { cluster: "shop" }).length === 3 ? f : null;
    }, 30_000);

    const rows = (name: string, match: Record<string, string> = {}) =>
      samplesOf(families, name, { cluster: "shop", ...match }).map((s) => [s.labels, s.value]);
    assert.deepEqual(rows("keepalived_vrrp_state"), [
      [{ cluster: "shop", node: "a", iname: "VI_1", intf: "eth0", vrid: "51", ip_address: "198.18.0.100/24" }, 2],
      [{ cluster: "shop", node: "b", iname: "VI_1", intf: "eth0", vrid: "51", ip_address: "198.18.0.100/24" }, 1],
      [{ cluster: "shop", node: "c", iname: "VI_1", intf: "eth0", vrid: "51", ip_address: "198.18.0.100/24" }, 3],
    ]);
    assert.deepEqual(rows("keepalived_up"), [["a", 1], ["b", 1], ["c", 1]].map(([n, v]) => [{ cluster: "shop", node: n }, v]));
    const counted = (name: string, label: string) => samplesOf(families, name, { cluster: "shop" }).map((s) => [s.labels.node, s.labels[label], s.value]);
    assert.deepEqual(counted("keepalived_become_master_total", "iname"), [["a", "VI_1", 1], ["b", "VI_1", 1], ["c", "VI_1", 0]]);
    assert.deepEqual(counted("keepalived_release_master_total", "iname"), [["a", "VI_1", 0], ["b", "VI_1", 1], ["c", "VI_1", 0]]);
    assert.deepEqual(counted("keepalived_vrrp_become_master", "state"), [["a", "MASTER", 1], ["b", "BACKUP", 1], ["c", "FAULT", 0]]);
    assert.deepEqual(counted("keepalived_vrrp_release_master", "name"), [["a", "VI_1", 0], ["b", "VI_1", 1], ["c", "VI_1", 0]]);
    assert.deepEqual(counted("kam_instance_become_master_total", "instance"), [["a", "VI_1", 1], ["b", "VI_1", 1], ["c", "VI_1", 0]]);
    assert.equal(families.get("keepalived_become_master_total")?.type, "counter");
    assert.deepEqual(rows("kam_agent_info"), [["a", "1.2.3"], ["b", "1.2.4"], ["c", "unknown"]].map(([n, v]) => [{ cluster: "shop", node: n, version: v }, 1]));
    const build = samplesOf(families, "kam_build_info");
    assert.equal(build.length, 1);
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    assert.deepEqual(build[0].labels, { version: build[0].labels.version, commit: head, node_version: build[0].labels.node_version, node: build[0].labels.node_version });
    assert.match(build[0].labels.node_version, /^v\d+\.\d+\.\d+$/);
  });

  it("serves every query of deploy/grafana/dashboard.json from series /metrics exposes, labels included", () => {
    assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);
    assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]), [["DS_PROMETHEUS", "datasource", "prometheus"]]);
    const ds = { type: "prometheus", uid: "${DS_PROMETHEUS}" };
    const exprs: string[] = [];
    const byPanel = new Map<string, string[]>();
    for (const p of dashboard.panels) {
      assert.deepEqual(p.datasource, ds, p.title);
      assert.ok(p.targets.length > 0, p.title);
      for (const t of p.targets) {
        assert.deepEqual(t.datasource, ds, p.title);
        exprs.push(t.expr);
      }
      byPanel.set(p.title, p.targets.flatMap((t) => readPromQL(t.expr).selectors.map((s) => s.metric)));
    }
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, "panel ids are unique");
    // no two panels overlap on the 24-column grid
    for (const [i, p] of dashboard.panels.entries()) {
      for (const q of dashboard.panels.slice(i + 1)) {
        const apart = p.gridPos.x + p.gridPos.w <= q.gridPos.x || q.gridPos.x + q.gridPos.w <= p.gridPos.x ||
          p.gridPos.y + p.gridPos.h <= q.gridPos.y || q.gridPos.y + q.gridPos.h <= p.gridPos.y;
        assert.ok(apart, `${p.title} overlaps ${q.title}`);
        assert.ok(p.gridPos.x + p.gridPos.w <= 24, p.title);
      }
    }
    // what the dashboard is for: a panel for each
    const panelReading = (type: string, metric: string) => dashboard.panels.some((p) => p.type === type && byPanel.get(p.title)?.includes(metric));
    assert.ok(panelReading("state-timeline", "kam_instance_state"), "per-node VRRP state timeline");
    assert.ok(panelReading("timeseries", "kam_open_incidents"), "open incidents by kind");
    assert.ok(panelReading("stat", "kam_node_online") && panelReading("state-timeline", "kam_node_online"), "agents online");
    assert.ok(panelReading("state-timeline", "keepalived_up"), "keepalived up");
    assert.ok(panelReading("timeseries", "kam_agent_clock_skew_seconds"), "clock skew");
    assert.ok(panelReading("timeseries", "kam_ingest_records_total"), "ingest rates");
    // the variables: cluster and node, from the scrape's series, on the same data source
    const vars = dashboard.templating.list;
    assert.deepEqual(vars.map((v) => [v.name, v.type, v.datasource.uid]), [["cluster", "query", "${DS_PROMETHEUS}"], ["node", "query", "${DS_PROMETHEUS}"]]);
    const problems: string[] = [];
    for (const v of vars) {
      const query = typeof v.query === "string" ? v.query : v.query.query;
      const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(query);
      assert.ok(m, `variable ${v.name}: ${query}`);
      problems.push(...queryProblems(`variable ${v.name}`, [m[1]], families));
      const metric = readPromQL(m[1]).selectors[0]?.metric;
      if (!samplesOf(families, metric).some((s) => m[2] in s.labels)) problems.push(`variable ${v.name}: ${metric} has no label ${m[2]}`);
    }
    problems.push(...queryProblems("dashboard", exprs, families));
    assert.deepEqual(problems, []);
    assert.ok(exprs.length >= 15, `${exprs.length} queries`);
  });

  it("serves every expression of deploy/prometheus/rules.yml from series /metrics exposes", () => {
    const rules = fs.readFileSync(path.join(ROOT, "deploy/prometheus/rules.yml"), "utf8");
    const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]);
    assert.equal(exprs.length, [...rules.matchAll(/^\s+- alert: /gm)].length, "one single-line expr per alert");
    assert.deepEqual(queryProblems("rules.yml", exprs, families), []);
  });

  it("finds what a wrong query reads (the checks above can fail)", () => {
    assert.deepEqual(queryProblems("probe", ['sum by (nolabel) (kam_node_online{cluster="shop", bogus="x"})', "rate(kam_no_such_total[5m])", "1 + 2"], families), [
      "probe: kam_node_online has no label bogus",
      "probe: no series of the query has the label nolabel it groups by: sum by (nolabel) (kam_node_online{cluster=\"shop\", bogus=\"x\"})",
      "probe: kam_no_such_total is not exposed by /metrics",
      "probe: reads no series: 1 + 2",
    ]);
  });

  it("after a restart: agent versions from storage, MASTER counters from zero, no exporter series for nodes not yet back", { timeout: 90_000 }, async () => {
    for (const a of agents.splice(0)) a.close();
    await srv.restart();
    const f = await scrape();
    assert.deepEqual(samplesOf(f, "kam_agent_info", { cluster: "shop" }).map((s) => [s.labels.node, s.labels.version]), [["a", "1.2.3"], ["b", "1.2.4"], ["c", "unknown"]]);
    assert.deepEqual(samplesOf(f, "kam_instance_become_master_total", { cluster: "shop" }).map((s) => s.value), [0, 0, 0], "a counter starts again with the process");
    // the agents are gone: their nodes go offline past the limit, and no exporter would answer for them
    const offline = await waitFor("the nodes offline", async () => {
      const g = await scrape();
      return samplesOf(g, "kam_node_online", { cluster: "shop" }).every((s) => s.value === 0) ? g : null;
    }, 40_000, 1000);
    assert.equal(samplesOf(offline, "keepalived_vrrp_state", { cluster: "shop" }).length, 0);
    assert.equal(samplesOf(offline, "keepalived_up", { cluster: "shop" }).length, 0);
  });
});

describe("/metrics on every replica", { skip: testDbKind() !== "postgres" ? "runs in the PostgreSQL pass: replicas share a PostgreSQL server" : false }, () => {
  let replicas: Replicas | null = null;
  after(async () => {
    await replicas?.close();
  });

  it("a node whose agent is on replica A: its version, exporter series and MASTER counts on replica B too", { timeout: 120_000 }, async () => {
    replicas = await startReplicas(2);
    const [a, b] = replicas.servers;
    const agent = await node(await a.token("ha"), "lb1", 150, "2.0.0", a.url);
    await agent.log("(VI_1) Receive advertisement timeout", "(VI_1) Entering MASTER STATE");
    for (const r of [a, b]) {
      const f = await waitFor(`lb1 MASTER on ${r.url}`, async () => {
        const g = await scrape(r.url);
        return samplesOf(g, "keepalived_vrrp_state", { cluster: "ha", node: "lb1" })[0]?.value === 2 ? g : null;
      }, 20_000);
      assert.deepEqual(samplesOf(f, "kam_agent_info", { cluster: "ha" }).map((s) => [s.labels.node, s.labels.version]), [["lb1", "2.0.0"]], r.url);
      assert.deepEqual(samplesOf(f, "keepalived_become_master_total", { cluster: "ha" }).map((s) => s.value), [1], r.url);
      assert.deepEqual(samplesOf(f, "keepalived_up", { cluster: "ha" }).map((s) => s.value), [1], r.url);
    }
  });
});
