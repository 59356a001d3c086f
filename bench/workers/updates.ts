/**
 * Fan-out check inside the swarm worker: failovers in many clusters while
 * every browser watches; each update must reach every browser.
 *
 * An update is one state line of one node ("(VI_1) Entering MASTER STATE" on
 * the BACKUP, then "(VI_1) Entering BACKUP STATE" on the old MASTER: a
 * failover in two updates, milliseconds apart, so no split brain is flagged).
 * Clusters take turns; a cluster has at most one update in flight. An update
 * is delivered to a browser when a `cluster` summary shows that node's VI_1 in
 * the new state; latency = send -> that summary, on this process's clock.
 */
import type { Socket } from "socket.io-client";
import type { ClusterSummary } from "../../server/protocol";
import type { FakeAgent } from "../../test/helpers/fake-agent";
import type { AgentSpec } from "./swarm";
import { dist } from "../lib/stats";

export interface UpdateArgs {
  /** updates per second in total */
  rate: number;
  durationMs: number;
  /** how long to wait for the last deliveries */
  settleMs: number;
}

interface Pending {
  cluster: string;
  node: string;
  state: "MASTER" | "BACKUP";
  sentAt: number;
  got: Set<number>;
}

export async function runUpdates(a: UpdateArgs, agents: FakeAgent[], specs: AgentSpec[], browsers: Socket[]) {
  // clusters and their agents, the first one MASTER (as connected with initial: true)
  const clusters = new Map<string, { members: number[]; master: number }>();
  specs.forEach((s, i) => {
    const c = clusters.get(s.cluster) ?? { members: [], master: i };
    c.members.push(i);
    clusters.set(s.cluster, c);
  });
  const names = [...clusters.keys()].filter((n) => clusters.get(n)!.members.length >= 2);
  const pending = new Map<string, Pending[]>();
  const done: Pending[] = [];
  const latencies: number[] = [];
  const busy = new Set<string>();
  let sendErrors = 0;

  const onSummary = (bi: number) => (s: ClusterSummary) => {
    const list = pending.get(s.name);
    if (!list) return;
    const now = performance.now();
    for (const p of list) {
      if (p.got.has(bi)) continue;
      const st = s.nodes.find((n) => n.name === p.node)?.instances.find((i) => i.name === "VI_1")?.state;
      if (st === p.state) {
        p.got.add(bi);
        latencies.push(now - p.sentAt);
      }
    }
  };
  const handlers = browsers.map((b, bi) => {
    const h = onSummary(bi);
    b.on("cluster", h);
    return h;
  });

  const send = async (cluster: string, idx: number, state: "MASTER" | "BACKUP") => {
    const p: Pending = { cluster, node: specs[idx].node, state, sentAt: performance.now(), got: new Set() };
    const list = pending.get(cluster) ?? [];
    list.push(p);
    pending.set(cluster, list);
    done.push(p);
    const r = await agents[idx].log(`(VI_1) Entering ${state} STATE`);
    if (!r.ok) sendErrors++;
  };

  const failover = async (name: string) => {
    const c = clusters.get(name)!;
    const next = c.members[(c.members.indexOf(c.master) + 1) % c.members.length];
    busy.add(name);
    try {
      await send(name, next, "MASTER");
      await send(name, c.master, "BACKUP");
      c.master = next;
    } catch {
      sendErrors++;
    } finally {
      busy.delete(name);
    }
  };

  const t0 = performance.now();
  let k = 0;
  let started = 0;
  const every = 1000 / (a.rate / 2);
  const inflight: Promise<void>[] = [];
  while (performance.now() - t0 < a.durationMs) {
    const due = Math.floor((performance.now() - t0) / every);
    while (started <= due) {
      const name = names[k++ % names.length];
      if (!busy.has(name)) inflight.push(failover(name));
      started++;
    }
    await new Promise((r) => setTimeout(r, Math.max(1, every / 2)));
  }
  await Promise.all(inflight);
  const settleEnd = performance.now() + a.settleMs;
  while (performance.now() < settleEnd && done.some((p) => p.got.size < browsers.length)) await new Promise((r) => setTimeout(r, 50));
  browsers.forEach((b, i) => b.off("cluster", handlers[i]));

  const expected = done.length * browsers.length;
  const delivered = done.reduce((s, p) => s + p.got.size, 0);
  return {
    updates: done.length,
    browsers: browsers.length,
    expected,
    delivered,
    missing: done.filter((p) => p.got.size < browsers.length).slice(0, 5).map((p) => ({ cluster: p.cluster, node: p.node, state: p.state, got: p.got.size })),
    sendErrors,
    latency: dist(latencies),
    seconds: (performance.now() - t0) / 1000,
  };
}
