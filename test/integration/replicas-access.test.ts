/**
 * Issue 13: sessions and revocation across replicas. Two server processes
 * share one PostgreSQL database (real servers, real socket.io clients; the
 * PostgreSQL pass only: the embedded PGlite is one process by design).
 * - A session ended through replica A (logout) closes its /live socket on A at
 *   once and its /live socket on replica B within B's sweep (2 s), measured.
 * - An agent token revoked through replica A's admin API disconnects an agent
 *   connected to replica B within the sweep, and neither replica accepts it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { io, type Socket } from "socket.io-client";
import type { TestServer } from "../helpers/server";
import { testDbKind } from "../helpers/db";
import { startReplicas, type Replicas } from "../helpers/replicas";
import { login, request } from "../helpers/http";
import { connectFakeAgent } from "../helpers/fake-agent";
import { SWEEP_MS } from "../../server/auth/access";

const skip = testDbKind() !== "postgres" ? "runs in the PostgreSQL pass: replicas share a PostgreSQL server" : false;
const sockets: Socket[] = [];
let replicas: Replicas | null = null;
let a: TestServer;
let b: TestServer;

before(async () => {
  if (skip) return;
  replicas = await startReplicas(2);
  [a, b] = replicas.servers;
});
after(async () => {
  for (const s of sockets) s.close();
  await replicas?.close();
});

function live(url: string, cookie: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/live`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { cookie, origin: url } });
    sockets.push(socket);
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e: Error & { data?: { code?: string } }) => reject(new Error(`/live on ${url}: ${e.data?.code ?? e.message}`)));
  });
}

/** ms until the socket disconnects, or null when it is still open after `ms` */
function closedWithin(s: { connected: boolean; once(ev: "disconnect", fn: () => void): unknown }, ms: number): Promise<number | null> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (!s.connected) return resolve(0);
    const timer = setTimeout(() => resolve(null), ms);
    s.once("disconnect", () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

describe("sessions and revocation across replicas", { skip }, () => {
  it("a logout on replica A closes the session's /live sockets on A at once and on replica B within the sweep", { timeout: 60_000 }, async (t) => {
    const u = await a.user("viewer");
    const s = await login(a.url, u.name, u.password);
    const onA = await live(a.url, s.cookie!);
    const onB = await live(b.url, s.cookie!);
    const waitA = closedWithin(onA, 5000);
    const waitB = closedWithin(onB, 3 * SWEEP_MS);
    const out = await request(a.url, "/api/auth/logout", { method: "POST", headers: { origin: a.url, cookie: s.cookie!, "x-csrf-token": s.csrf! }, body: {} });
    assert.equal(out.status, 200, out.text);
    const [msA, msB] = await Promise.all([waitA, waitB]);
    assert.ok(msA !== null && msA < 1000, `closed on A after ${msA} ms (at once)`);
    assert.ok(msB !== null, `still open on B ${3 * SWEEP_MS} ms after the logout`);
    assert.ok(msB <= SWEEP_MS + 1000, `closed on B after ${msB} ms (sweep ${SWEEP_MS} ms)`);
    t.diagnostic(`logout on A: closed on A after ${msA} ms, on B after ${msB} ms`);
    assert.equal((await request(b.url, "/api/clusters", { headers: { cookie: s.cookie!, "x-forwarded-for": "203.0.113.9" } })).status, 401, "B refuses the ended session at once");
  });

  it("an agent token revoked through replica A's admin API disconnects its agent on replica B within the sweep; neither replica accepts it again", { timeout: 60_000 }, async (t) => {
    const admin = await a.session("admin");
    const h = { origin: a.url, cookie: admin.cookie, "x-csrf-token": admin.csrf };
    const made = await request(a.url, "/api/admin/agent-tokens", { method: "POST", headers: h, body: { cluster: "replicas", label: "rack 2", node: "rb1" } });
    assert.equal(made.status, 201, made.text);
    const { id, token } = made.json<{ id: number; token: string }>();
    const agent = await connectFakeAgent(b.url, token, "rb1");
    assert.equal((await agent.log("(VI_1) Entering BACKUP STATE")).ok, true, "B stores its batch");
    const gone = closedWithin(agent.socket, 3 * SWEEP_MS);
    const del = await request(a.url, `/api/admin/agent-tokens/${id}`, { method: "DELETE", headers: h });
    assert.ok(del.status === 200 || del.status === 204, `revoke: ${del.status} ${del.text}`);
    const ms = await gone;
    agent.close();
    assert.ok(ms !== null, `the agent on B still connected ${3 * SWEEP_MS} ms after the revocation on A`);
    assert.ok(ms <= SWEEP_MS + 1000, `disconnected on B after ${ms} ms (sweep ${SWEEP_MS} ms)`);
    t.diagnostic(`token revoked on A: agent on B disconnected after ${ms} ms`);
    await assert.rejects(connectFakeAgent(b.url, token, "rb1"), "B refuses the revoked token");
    await assert.rejects(connectFakeAgent(a.url, token, "rb1"), "A refuses the revoked token");
  });
});
