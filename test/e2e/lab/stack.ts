/**
 * The monitor as a user meets it: the real server (child process, real
 * database), a browser-like /live socket that records every pushed incident
 * and cluster summary with the time it arrived, the public HTTP API, and, for
 * the exactly-once checks only, read access to the stored rows.
 */
import fs from "node:fs";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import type { ClusterSummary, IncidentMsg } from "../../../server/protocol";
import { findRunningEmbedded } from "../../../server/db/embedded";
import { startTestServer, type TestServer, type TestServerOptions } from "../../helpers/server";
import { onTeardown } from "./reaper";

export interface Pushed<T> {
  at: number;
  msg: T;
}
export type IncidentPush = Pushed<{ change: "opened" | "updated" | "closed"; incident: IncidentMsg }>;

/** children of this process running the server entry (for the exit-time teardown) */
function serverPids(): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("server/main.ts")) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

export class Stack {
  readonly incidents: IncidentPush[] = [];
  readonly summaries: Pushed<ClusterSummary>[] = [];
  private live!: Socket;

  private constructor(readonly srv: TestServer) {}

  static async start(opts: TestServerOptions = {}): Promise<Stack> {
    const undo = onTeardown("server", () => serverPids().forEach((p) => process.kill(p, "SIGKILL")));
    const srv = await startTestServer({ ...opts, env: { LOG_LEVEL: "info", ...opts.env } });
    const s = new Stack(srv);
    await s.connectLive();
    onTeardown("live socket", () => s.live?.close());
    void undo;
    return s;
  }

  get url(): string {
    return this.srv.url;
  }

  private async connectLive(): Promise<void> {
    // /live needs a session (server/live/live-namespace.ts)
    const { cookie } = await this.srv.session("viewer");
    const live = io(`${this.srv.url}/live`, { transports: ["websocket"], reconnectionDelay: 200, reconnectionDelayMax: 1000, forceNew: true, extraHeaders: { cookie } });
    this.live = live;
    live.on("incident", (m: IncidentPush["msg"]) => this.incidents.push({ at: Date.now(), msg: m }));
    live.on("cluster", (m: ClusterSummary) => this.summaries.push({ at: Date.now(), msg: m }));
    // (re)subscribe on every connection: after a server restart the socket reconnects by itself
    const subscribed = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the /live socket did not connect and subscribe within 30 s")), 30_000);
      live.on("connect", () => {
        void live.timeout(5000).emitWithAck("subscribe", { clusters: ["*"] }).then(() => (clearTimeout(t), resolve()), () => undefined);
      });
    });
    await subscribed;
  }

  async close(): Promise<void> {
    this.live?.close();
    await this.srv.close();
  }

  async api<T>(p: string): Promise<T> {
    const r = await fetch(`${this.srv.url}${p}`);
    if (!r.ok) throw new Error(`GET ${p}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  async cluster(name: string): Promise<ClusterSummary | undefined> {
    return (await this.api<ClusterSummary[]>("/api/clusters")).find((c) => c.name === name);
  }

  async incidentsOf(cluster: string): Promise<IncidentMsg[]> {
    return this.api<IncidentMsg[]>(`/api/incidents?cluster=${encodeURIComponent(cluster)}`);
  }

  /** live pushes of a cluster's incidents received at or after `since` */
  pushedFor(cluster: string, since = 0): IncidentPush[] {
    return this.incidents.filter((p) => p.msg.incident.cluster === cluster && p.at >= since);
  }

  /** the first live push matching, waiting up to timeoutMs for it */
  async waitPush(what: string, pred: (p: IncidentPush["msg"]) => boolean, since: number, timeoutMs: number): Promise<IncidentPush> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.incidents.find((p) => p.at >= since && pred(p.msg));
      if (hit) return hit;
      if (Date.now() > end) {
        const seen = this.incidents.filter((p) => p.at >= since).map((p) => `${p.msg.change} ${p.msg.incident.cluster}/${p.msg.incident.kind}/${p.msg.incident.cause.code}`);
        throw new Error(`no live push of ${what} within ${timeoutMs / 1000} s (pushed meanwhile: ${seen.join(", ") || "nothing"})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** the first cluster summary pushed at or after `since` that satisfies pred */
  async waitSummary(what: string, cluster: string, pred: (c: ClusterSummary) => boolean, since: number, timeoutMs: number): Promise<Pushed<ClusterSummary>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.summaries.find((p) => p.at >= since && p.msg.name === cluster && pred(p.msg));
      if (hit) return hit;
      if (Date.now() > end) {
        const last = [...this.summaries].reverse().find((p) => p.msg.name === cluster)?.msg;
        throw new Error(`no live summary with ${what} within ${timeoutMs / 1000} s; last: ${JSON.stringify(last ? stateMap(last) : null)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** run a query on the server's database (exactly-once checks) */
  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const url = this.srv.db.databaseUrl || findRunningEmbedded(this.srv.db.dataDir);
    if (!url) throw new Error("the server's embedded database is not running");
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /** stored log lines of one node, in the order the agent sent them */
  async storedLines(cluster: string, node: string) {
    return this.query<{ seq: string; line: string; offset: string | null; cursor: string | null; source: string }>(
      `SELECT l.seq::text, l.line, l."offset"::text AS offset, l.cursor, l.source FROM log_record l
         JOIN cluster c ON c.id = l.cluster_id JOIN node n ON n.id = l.node_id
        WHERE c.name = $1 AND n.name = $2 ORDER BY l.seq`, [cluster, node]);
  }

  /** stored state changes of a cluster, oldest first */
  async stateChanges(cluster: string) {
    return this.query<{ node: string; instance: string; state: string; ts: Date }>(
      `SELECT n.name AS node, s.instance, s.state, s.ts FROM state_change s
         JOIN cluster c ON c.id = s.cluster_id JOIN node n ON n.id = s.node_id
        WHERE c.name = $1 ORDER BY s.ts, s.id`, [cluster]);
  }
}

/** incidents in full (cause, times, evidence) for failure messages */
export function describeIncidents(list: IncidentMsg[]): string {
  return list.map((i) => [`${i.kind}/${i.severity} ${i.cause.code} vrid=${i.vrid} nodes=${i.nodes.join(",")} instances=${JSON.stringify(i.instances)} ${i.openedAt} .. ${i.closedAt ?? "open"}: ${i.cause.summary}`,
    ...i.cause.evidence.map((e) => `    ${e.at} ${e.node} ${e.kind}: ${e.line}`)].join("\n")).join("\n");
}

/** node -> "STATE[+vip]" of a cluster summary, for messages and comparisons */
export function stateMap(c: ClusterSummary): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of c.nodes) {
    const i = n.instances[0];
    out[n.name] = i ? `${n.online ? "" : "offline:"}${i.state}${i.vips.some((v) => v.held) ? "+vip" : ""}` : n.online ? "no-instance" : "offline";
  }
  return out;
}
