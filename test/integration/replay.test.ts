/**
 * The captured three-node journald run (test/fixtures/keepalived-2.2.7/
 * three-node-journald: a partition of hx3, then hx1's health check toggling)
 * sent through the REAL ingest path at its original pace, with its times
 * shifted to now. The live server must open DUAL_MASTER for the partition and
 * FLAPPING for the toggling, with causes and evidence; replaying the stored
 * history through the detectors must give exactly the same incidents.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../server/generated/prisma/client";
import { parseKeepalivedConf } from "../../agent/keepalived-conf";
import { loadFacts } from "../../server/incidents/facts";
import { settingsOf } from "../../server/incidents/detection-host";
import { replay } from "../../server/detect";
import { findRunningEmbedded } from "../../server/db/embedded";
import type { IncidentMsg } from "../../server/protocol";
import { startTestServer, ROOT, type TestServer } from "../helpers/server";
import { connectFakeAgent, type FakeAgent } from "../helpers/fake-agent";
import { waitFor } from "../helpers/wait";
import { testDbKind } from "../helpers/db";

const FIX = path.join(ROOT, "test/fixtures/keepalived-2.2.7/three-node-journald");
const NODES = ["hx1", "hx2", "hx3"];
const events = Object.fromEntries(
  fs.readFileSync(path.join(FIX, "events.txt"), "utf8").trim().split("\n").map((l) => {
    const [t, what] = l.split(/\s+(.*)/);
    return [what, Number(t) * 1000];
  }),
) as Record<string, number>;

interface JournalEntry {
  node: string;
  us: number;
  message: string;
  ident: string;
  pid: number;
  cursor: string;
}

let srv: TestServer;
const agents: FakeAgent[] = [];

before(async () => {
  srv = await startTestServer();
});
after(async () => {
  for (const a of agents) a.close();
  await srv?.close();
});

describe(`three-node fixture through the real ingest path (${testDbKind()})`, () => {
  it("opens DUAL_MASTER for hx3's partition and FLAPPING for hx1, and a replay of the stored history agrees", { timeout: 150_000 }, async () => {
    const token = await srv.token("hx");
    const entries: JournalEntry[] = [];
    for (const node of NODES) {
      for (const l of fs.readFileSync(path.join(FIX, `${node}.journal.json`), "utf8").trim().split("\n")) {
        const j = JSON.parse(l) as Record<string, string>;
        entries.push({ node, us: Number(j.__REALTIME_TIMESTAMP), message: j.MESSAGE, ident: j.SYSLOG_IDENTIFIER, pid: Number(j.SYSLOG_PID), cursor: j.__CURSOR });
      }
    }
    entries.sort((a, b) => a.us - b.us);
    const t0 = entries[0].us / 1000;
    const shift = Date.now() + 1000 - t0;

    const byNode = new Map<string, FakeAgent>();
    for (const node of NODES) {
      const fa = await connectFakeAgent(srv.url, token, node);
      agents.push(fa);
      byNode.set(node, fa);
      const conf = parseKeepalivedConf(path.join(FIX, `${node}.conf`), { readFile: (f) => fs.readFileSync(f, "utf8"), glob: () => [] });
      await fa.send([{ kind: "config", ts: t0 + shift - 500, path: "/etc/keepalived/keepalived.conf", hash: "0".repeat(63) + NODES.indexOf(node),
        routerId: conf.routerId, netNamespace: conf.netNamespace, errors: [], instances: conf.instances }]);
    }
    // at the captured pace, as the agents would have sent it
    const held = new Map<string, Set<string>>(NODES.map((n) => [n, new Set<string>()]));
    const vipOf: Record<string, string> = { VI_WEB: "192.0.2.100", VI_DB: "192.0.2.101" };
    for (const e of entries) {
      const at = e.us / 1000 + shift;
      const wait = at - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const fa = byNode.get(e.node)!;
      const recs: Parameters<FakeAgent["send"]>[0] = [
        { kind: "log", ts: at, source: "journal", line: e.message, ident: e.ident, pid: e.pid, cursor: e.cursor },
      ];
      // what `ip addr` would show: keepalived sets/removes the VIPs as it logs
      const m = /^\((VI_\w+)\) (setting|removing) VIPs\.$/.exec(e.message);
      if (m) {
        const set = held.get(e.node)!;
        if (m[2] === "setting") set.add(vipOf[m[1]]);
        else set.delete(vipOf[m[1]]);
        recs.push({ kind: "vips", ts: at, addresses: [...set].map((address) => ({ address, prefixlen: 24, iface: "eth0" })) });
      }
      const ack = await fa.send(recs);
      assert.equal(ack.ok, true);
    }

    const fetchAll = async () => (await (await fetch(`${srv.url}/api/incidents?cluster=hx`)).json()) as IncidentMsg[];
    const incidents = await waitFor("DUAL_MASTER and FLAPPING stored", async () => {
      const list = await fetchAll();
      return list.some((i) => i.kind === "DUAL_MASTER") && list.some((i) => i.kind === "FLAPPING") ? list : null;
    }, 20_000);

    const dual = incidents.find((i) => i.kind === "DUAL_MASTER")!;
    const partition = events["partition hx3"] + shift;
    assert.ok(dual.nodes.includes("hx3"), `hx3 involved: ${dual.nodes}`);
    assert.ok(Math.abs(Date.parse(dual.openedAt) - partition) < 10_000, `opened near the partition (${dual.openedAt})`);
    assert.equal(dual.cause.code, "adverts_not_received");
    assert.ok(dual.cause.evidence.some((e) => e.node === "hx3" && /Entering MASTER STATE/.test(e.line)), "hx3's MASTER line is evidence");

    const flap = incidents.find((i) => i.kind === "FLAPPING")!;
    assert.ok(flap.nodes.includes("hx1"));
    assert.equal(flap.vrid, 51);
    assert.ok(Date.parse(flap.openedAt) >= events["flap-start hx1"] + shift - 1000);
    assert.ok(flap.cause.evidence.some((e) => /chk_web/.test(e.line)), "the toggling health check is evidence");

    // hx3's VI_WEB is renamed (config reload): it is retired on hx3 at that snapshot, and lines of the old
    // name that still arrive (a journal backlog) are history: no incident, live and in the replay alike
    const hx3 = byNode.get("hx3")!;
    const conf3 = parseKeepalivedConf(path.join(FIX, "hx3.conf"), { readFile: (f) => fs.readFileSync(f, "utf8"), glob: () => [] });
    const renamedAt = Date.now();
    assert.equal((await hx3.send([{ kind: "config", ts: renamedAt, path: "/etc/keepalived/keepalived.conf", hash: "f".repeat(64),
      routerId: conf3.routerId, netNamespace: conf3.netNamespace, errors: [],
      instances: conf3.instances.map((i) => (i.name === "VI_WEB" ? { ...i, name: "VI_WEB_NEW" } : i)) }])).ok, true);
    assert.equal((await hx3.send([{ kind: "log", ts: renamedAt + 10, source: "journal", line: "(VI_WEB) Entering FAULT STATE", ident: "Keepalived_vrrp", pid: 1, cursor: "old-name-1" }])).ok, true);
    await new Promise((r) => setTimeout(r, 1500));
    const afterRename = await fetchAll();
    assert.deepEqual(afterRename.filter((i) => Date.parse(i.openedAt) >= renamedAt - 1000 && i.severity !== "info").map((i) => `${i.kind} ${i.cause.code}`), [],
      "the old instance name opens nothing");

    // replay what was stored, through the same detectors
    const url = srv.db.databaseUrl || findRunningEmbedded(srv.db.dataDir)!;
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 1 }) });
    try {
      const c = await prisma.cluster.findUniqueOrThrow({ where: { name: "hx" } });
      const now = Date.now();
      const live = await fetchAll();
      const facts = await loadFacts(prisma, c.id, new Date(0), new Date(now + 1));
      const replayed = replay(facts, now, settingsOf(c.settings)).map((i) => ({ ...i }));
      const shape = (xs: { kind: string; vrid: number | null; nodes: string[]; openedAt: string | number; closedAt: string | number | null; cause: { code: string } }[]) =>
        xs.map((i) => ({
          kind: i.kind, vrid: i.vrid, nodes: [...i.nodes].sort(), cause: i.cause.code,
          openedAt: new Date(i.openedAt).toISOString(), closedAt: i.closedAt == null ? null : new Date(i.closedAt).toISOString(),
        })).sort((a, b) => `${a.openedAt} ${a.kind} ${a.vrid}`.localeCompare(`${b.openedAt} ${b.kind} ${b.vrid}`));
      assert.deepEqual(shape(replayed), shape(live));
    } finally {
      await prisma.$disconnect();
    }
  });
});
