/**
 * GET /api/clusters/:name/timeline and /logs on the real server and database,
 * fed by socket.io clients speaking the agent protocol.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { IncidentMsg } from "../../server/protocol";
import type { LogLine, TimelineLane, TimelineResponse } from "../../server/timeline/types";
import { startTestServer, type TestServer } from "../helpers/server";
import { connectFakeAgent, consoleStamp, instance, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";
import { testDbKind } from "../helpers/db";
import { fetchChecked } from "../helpers/api-schema";

type Rec = Parameters<FakeAgent["send"]>[0][number];
const OFFLINE_S = 2;
let srv: TestServer;
const agents: FakeAgent[] = [];

const log = (ts: number, message: string): Rec => ({ kind: "log", ts, source: "file", line: `${consoleStamp(new Date(ts))}: ${message}`, inode: "1", offset: 0 });
const config = (ts: number, prio: number): Rec => ({
  kind: "config", ts, path: "/etc/keepalived/keepalived.conf", hash: "1".repeat(64), routerId: null, netNamespace: null, errors: [],
  instances: [instance({ name: "VI_1", vrid: 51, priority: prio, vips: ["198.18.0.100/24"] }), instance({ name: "VI_2", vrid: 52, priority: prio, vips: ["198.18.0.200/24"] })],
});
const vips = (ts: number, ...addresses: string[]): Rec => ({ kind: "vips", ts, addresses: addresses.map((address) => ({ address, prefixlen: 24, iface: "eth0" })) });

async function send(a: FakeAgent, records: Rec[]) {
  const ack = await a.send(records);
  assert.ok(ack.ok, JSON.stringify(ack));
}

async function node(cluster: string, name: string): Promise<FakeAgent> {
  const a = await connectFakeAgent(srv.url, await srv.token(cluster), name, 500);
  agents.push(a);
  return a;
}

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  // every answer, success or error, is checked against the route's schema
  const r = await fetchChecked<T>(srv.url, path);
  return { status: r.status, body: r.body };
}

const timeline = async (cluster: string, q: string) => {
  const r = await get<TimelineResponse>(`/api/clusters/${encodeURIComponent(cluster)}/timeline?${q}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const lane = (t: TimelineResponse, nodeName: string, vrid: number): TimelineLane => {
  const l = t.lanes.find((x) => x.node === nodeName && x.vrid === vrid);
  assert.ok(l, `lane ${nodeName}/${vrid} in ${JSON.stringify(t.lanes.map((x) => `${x.node}/${x.vrid}`))}`);
  return l;
};
const iso = (ms: number) => new Date(ms).toISOString();

before(async () => {
  srv = await startTestServer({ env: { KAM_AGENT_OFFLINE_SECONDS: String(OFFLINE_S) } });
});

after(async () => {
  for (const a of agents) a.close();
  await srv?.close();
});

describe(`cluster timeline API (${testDbKind()})`, () => {
  const t0 = Date.now() - 10 * 60_000;

  it("draws one lane per node and VRID with the states, VIP ownership and the state before the range", { timeout: 60_000 }, async () => {
    const a = await node("tl", "a");
    const b = await node("tl", "b");
    await send(a, [config(t0, 150), vips(t0 + 1, "198.18.0.10"), log(t0 + 1000, "(VI_1) Entering BACKUP STATE (init)"),
      log(t0 + 1001, "(VI_2) Entering BACKUP STATE (init)"), log(t0 + 5000, "(VI_1) Entering MASTER STATE"),
      vips(t0 + 5100, "198.18.0.10", "198.18.0.100")]);
    await send(b, [config(t0, 100), vips(t0 + 1, "198.18.0.11"), log(t0 + 1000, "(VI_1) Entering BACKUP STATE (init)"),
      log(t0 + 1001, "(VI_2) Entering BACKUP STATE (init)"), log(t0 + 6000, "(VI_2) Entering MASTER STATE"),
      vips(t0 + 6100, "198.18.0.11", "198.18.0.200")]);

    const t = await timeline("tl", `from=${iso(t0 - 60_000)}`);
    assert.deepEqual(t.lanes.map((l) => `${l.vrid}/${l.node}/${l.instance}`), ["51/a/VI_1", "51/b/VI_1", "52/a/VI_2", "52/b/VI_2"]);
    const a51 = lane(t, "a", 51);
    assert.deepEqual(a51.segments.map((s) => [s.state, s.from, s.to]), [
      ["BACKUP", iso(t0 + 1000), iso(t0 + 5000)],
      ["MASTER", iso(t0 + 5000), null],
    ]);
    assert.equal(a51.transitions, 1);
    assert.deepEqual(a51.vips, ["198.18.0.100"]);
    assert.deepEqual(a51.vipHeld, [{ from: iso(t0 + 5100), to: null }]);
    assert.deepEqual(lane(t, "b", 51).vipHeld, []);
    assert.deepEqual(lane(t, "b", 52).vipHeld, [{ from: iso(t0 + 6100), to: null }]);
    assert.deepEqual(lane(t, "b", 52).segments.map((s) => s.state), ["BACKUP", "MASTER"]);

    // a range that starts later knows the state from before it; a closed range ends at its end
    const later = await timeline("tl", `from=${iso(t0 + 10_000)}&to=${iso(t0 + 20_000)}`);
    assert.deepEqual(lane(later, "a", 51).segments, [{ state: "MASTER", from: iso(t0 + 10_000), to: iso(t0 + 20_000) }]);
    assert.deepEqual(lane(later, "a", 51).vipHeld, [{ from: iso(t0 + 10_000), to: iso(t0 + 20_000) }]);
    assert.equal(later.from, iso(t0 + 10_000));
    assert.equal(later.to, iso(t0 + 20_000));
    assert.equal(later.incidentsTruncated, false);
  });

  it("applies a keepalived shutdown to every lane of the node", { timeout: 60_000 }, async () => {
    const a = await node("stop", "a");
    await send(a, [config(t0, 150), log(t0 + 1000, "(VI_1) Entering MASTER STATE"), log(t0 + 1001, "(VI_2) Entering BACKUP STATE"),
      log(t0 + 30_000, "Stopping"), log(t0 + 60_000, "(VI_1) Entering BACKUP STATE")]);
    const t = await timeline("stop", `from=${iso(t0)}`);
    assert.deepEqual(lane(t, "a", 51).segments.map((s) => [s.state, s.from]), [
      ["MASTER", iso(t0 + 1000)], ["STOP", iso(t0 + 30_000)], ["BACKUP", iso(t0 + 60_000)],
    ]);
    assert.deepEqual(lane(t, "a", 52).segments.map((s) => [s.state, s.from, s.to]), [
      ["BACKUP", iso(t0 + 1001), iso(t0 + 30_000)], ["STOP", iso(t0 + 30_000), null],
    ]);
  });

  it("shows UNKNOWN from the moment a node's agent went silent past the offline limit", { timeout: 60_000 }, async () => {
    const a = await node("off", "a");
    const b = await node("off", "b");
    await send(a, [config(t0, 150), log(Date.now() - 5000, "(VI_1) Entering MASTER STATE")]);
    await send(b, [config(t0, 100), log(Date.now() - 5000, "(VI_1) Entering BACKUP STATE")]);
    const goneAt = Date.now();
    b.close();
    const t = await waitFor("b's lane turns UNKNOWN", async () => {
      const r = await timeline("off", `from=${iso(goneAt - 60_000)}`);
      const last = lane(r, "b", 51).segments.at(-1);
      return last?.state === "UNKNOWN" ? r : null;
    }, 20_000, 250);
    const b51 = lane(t, "b", 51).segments;
    assert.deepEqual(b51.map((s) => s.state), ["BACKUP", "UNKNOWN"]);
    assert.equal(b51[1].to, null, "still offline: open UNKNOWN segment");
    assert.ok(Math.abs(Date.parse(b51[1].from) - goneAt) < 1500, `UNKNOWN from the disconnect (${b51[1].from} vs ${iso(goneAt)})`);
    assert.deepEqual(lane(t, "a", 51).segments.map((s) => s.state), ["MASTER"], "the connected node is unaffected");
  });

  it("aggregates sub-pixel transitions: no lane has more segments than pixels, FAULT stays visible", { timeout: 60_000 }, async () => {
    const a = await node("flap", "a");
    const start = Date.now() - 5 * 60_000;
    const recs: Rec[] = [config(start - 1000, 150)];
    for (let i = 0; i < 400; i++) recs.push(log(start + i * 150, `(VI_1) Entering ${i % 2 ? "BACKUP" : "MASTER"} STATE`));
    recs.push(log(start + 400 * 150, "(VI_1) Entering FAULT STATE"), log(start + 400 * 150 + 20, "(VI_1) Entering BACKUP STATE"));
    await send(a, recs);
    const full = await timeline("flap", `from=${iso(start - 60_000)}&width=10000`);
    assert.equal(lane(full, "a", 51).transitions, 401);
    const t = await timeline("flap", `from=${iso(start - 60_000)}&width=60`);
    assert.equal(t.width, 60);
    const segs = lane(t, "a", 51).segments;
    assert.ok(segs.length <= 60, `${segs.length} segments for 60 px`);
    const agg = segs.filter((s) => s.aggregated);
    assert.ok(agg.length > 0, "aggregated segments");
    assert.ok(agg.reduce((n, s) => n + (s.transitions ?? 0), 0) >= 390, "their transitions are counted");
    assert.ok(segs.some((s) => s.state === "FAULT"), "the 20 ms FAULT is still drawn");
  });

  it("lists the cluster's incidents in the range in the same shape as /api/incidents", { timeout: 60_000 }, async () => {
    const list = async () => (await get<IncidentMsg[]>(`/api/incidents?cluster=flap`)).body;
    // detection of the previous test's 400 lines may still be updating its incidents: wait until they settle
    const settled = await waitFor("the incidents of the previous test settle", async () => {
      const first = JSON.stringify(await list());
      await new Promise((r) => setTimeout(r, 700));
      const second = await list();
      return second.length > 0 && JSON.stringify(second) === first ? second : null;
    }, 30_000, 100);
    // a range ending before now: its last segments are closed in every answer (a range reaching the server's
    // now ends in open segments, so a \`to\` equal to the client's now made the two answers differ by a millisecond)
    const range = `from=${iso(Date.now() - 20 * 60_000)}&to=${iso(Date.now() - 1000)}`;
    const t = await timeline("flap", range);
    assert.deepEqual(t.incidents.map((i) => i.id).sort(), settled.map((i) => i.id).sort());
    for (const inc of t.incidents) assert.deepEqual(inc, settled.find((i) => i.id === inc.id));
    const none = await timeline("flap", `from=${iso(t0 - 86_400_000)}&to=${iso(t0 - 3600_000)}`);
    assert.deepEqual(none.incidents, [], "no incident outside the range");

    // ?evidence=none (the page's own request): the same incidents, their evidence lines left out and said so
    assert.ok(t.incidents.some((i) => i.cause.evidence.length > 0), "the fixture's incidents have evidence lines");
    assert.equal(t.evidence, undefined, "a full answer does not carry the mark");
    const brief = await timeline("flap", `${range}&evidence=none`);
    assert.equal(brief.evidence, "none");
    assert.deepEqual(brief.incidents.map((i) => i.id).sort(), settled.map((i) => i.id).sort());
    for (const inc of brief.incidents) {
      const full = settled.find((i) => i.id === inc.id)!;
      assert.deepEqual(inc, { ...full, cause: { ...full.cause, evidence: [] } }, "everything but the evidence lines");
      // the details panel's second request: the one incident, with its lines
      const one = await get<IncidentMsg>(`/api/incidents/${inc.id}`);
      assert.deepEqual(one.body.cause.evidence, full.cause.evidence);
    }
    assert.deepEqual(brief.lanes, t.lanes, "the lanes do not depend on it");
  });

  it("answers bad queries with typed errors and an unknown cluster with 404", async () => {
    for (const q of ["from=yesterday", "width=0", "width=abc", "evidence=some", `from=${iso(t0)}&to=${iso(t0 - 1)}`, `from=${iso(t0 - 40 * 86_400_000)}&to=${iso(t0)}`]) {
      const r = await get<{ ok: boolean; code: string; message: string }>(`/api/clusters/tl/timeline?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.ok, false);
      assert.equal(r.body.code, "invalid_message");
      assert.ok(r.body.message.length > 0);
    }
    const nf = await get<{ code: string }>(`/api/clusters/nope/timeline`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, "not_found");
    assert.equal((await get(`/api/clusters/nope/logs`)).status, 404);
    assert.equal((await get(`/api/clusters/tl/logs?limit=5000`)).status, 400);
    assert.equal((await get(`/api/clusters/tl/logs?node=zz`)).status, 404);
  });

  it("serves the log lines of a range, of one node, and around a moment", { timeout: 60_000 }, async () => {
    const a = await node("logs", "a");
    const b = await node("logs", "b");
    const base = Date.now() - 120_000;
    await send(a, Array.from({ length: 10 }, (_, i) => log(base + i * 1000, `a line ${i}`)));
    await send(b, Array.from({ length: 10 }, (_, i) => log(base + i * 1000 + 500, `b line ${i}`)));
    const all = (await get<LogLine[]>(`/api/clusters/logs/logs?from=${iso(base - 1)}&to=${iso(base + 60_000)}`)).body;
    assert.equal(all.length, 20);
    assert.deepEqual(all.slice(0, 3).map((l) => [l.node, l.line.replace(/^.*: /, "")]), [["a", "a line 0"], ["b", "b line 0"], ["a", "a line 1"]]);
    assert.ok(all.every((l, i) => i === 0 || Date.parse(all[i - 1].at) <= Date.parse(l.at)), "ordered by time");
    assert.equal(all[0].source, "file");
    assert.equal(all[0].at, iso(base));

    const onlyB = (await get<LogLine[]>(`/api/clusters/logs/logs?from=${iso(base - 1)}&node=b&limit=3`)).body;
    assert.deepEqual(onlyB.map((l) => l.line.replace(/^.*: /, "")), ["b line 0", "b line 1", "b line 2"]);

    const around = (await get<LogLine[]>(`/api/clusters/logs/logs?around=${iso(base + 5000)}&node=a&limit=4`)).body;
    assert.deepEqual(around.map((l) => l.line.replace(/^.*: /, "")), ["a line 4", "a line 5", "a line 6", "a line 7"]);
  });
});
