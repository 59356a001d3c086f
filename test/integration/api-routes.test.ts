/**
 * The one route table (server/http/routes/) on the real server: every read
 * route, the session and admin reads and the writes answer what their zod
 * schemas say, errors included (test/helpers/api-schema.ts); Next never sees
 * /api/*: an unknown API path is a JSON 404 after the read check, a wall
 * session reads only what the wall shows, HEAD runs a GET route.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ROUTES } from "../../server/http/routes";
import type { IncidentMsg } from "../../server/protocol";
import { checkAnswer, fetchChecked } from "../helpers/api-schema";
import { testDbKind } from "../helpers/db";
import { backupPair, type FakeAgent } from "../helpers/fake-agent";
import { request } from "../helpers/http";
import { startTestServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";

let srv: TestServer;
const agents: FakeAgent[] = [];
let incidentId = "";

before(async () => {
  srv = await startTestServer();
  const token = await srv.token("rt");
  agents.push(...(await backupPair(srv.url, token)));
  await agents[0].log("Netlink reports eth0 down", "(VI_1) Entering FAULT STATE");
  const list = await waitFor("an incident in cluster rt", async () => {
    const r = await fetch(`${srv.url}/api/incidents?cluster=rt`);
    const l = (await r.json()) as IncidentMsg[];
    return l.length > 0 ? l : null;
  });
  incidentId = list[0].id;
});

after(async () => {
  for (const a of agents) a.close();
  await srv?.close();
});

describe(`the route table on the real server (${testDbKind()})`, () => {
  it("answers every read route as its schema says, successes and errors", { timeout: 60_000 }, async () => {
    // path -> [request, expected status]
    const samples: Record<string, [string, number][]> = {
      "/api/health": [["/api/health", 200]],
      "/api/clusters": [["/api/clusters", 200]],
      "/api/clusters/:name/timeline": [["/api/clusters/rt/timeline", 200], ["/api/clusters/rt/timeline?width=1", 400], ["/api/clusters/nope/timeline", 404]],
      "/api/clusters/:name/logs": [["/api/clusters/rt/logs", 200], ["/api/clusters/rt/logs?limit=0", 400], ["/api/clusters/rt/logs?node=zz", 404]],
      "/api/clusters/:name/gaps": [["/api/clusters/rt/gaps", 200], ["/api/clusters/rt/gaps?from=x", 400], ["/api/clusters/nope/gaps", 404]],
      "/api/incidents": [["/api/incidents", 200], ["/api/incidents?cluster=rt&open=true", 200], ["/api/incidents?kind=NOPE", 400]],
      "/api/incidents/:id": [[`/api/incidents/${incidentId}`, 200], ["/api/incidents/abc", 400], ["/api/incidents/999999", 404]],
      "/api/stats": [["/api/stats", 200], ["/api/stats?cluster=rt", 200], ["/api/stats?cluster=nope", 404], ["/api/stats?from=x", 400]],
      "/api/reports": [["/api/reports?cluster=rt", 200], ["/api/reports?cluster=rt&days=x&from=x", 400], ["/api/reports", 400], ["/api/reports?cluster=nope", 404]],
      "/metrics": [["/metrics", 200]],
      "/api/clusters/:name/settings": [["/api/clusters/rt/settings", 200], ["/api/clusters/nope/settings", 404]],
      "/api/maintenance": [["/api/maintenance", 200], ["/api/maintenance?cluster=rt", 200], ["/api/maintenance?limit=0", 400]],
      "/api/openapi.json": [["/api/openapi.json", 200]],
      // the agent's install files (issue 14; the .deb only after npm run package:agent: test/integration/enrol.test.ts)
      "/downloads/:file": [["/downloads/SHA256SUMS", 200], ["/downloads/install.sh", 200], ["/downloads/nope", 404]],
      // sign-in with an identity provider: not configured on this server (the flow: test/integration/oidc.test.ts)
      "/api/auth/oidc/login": [["/api/auth/oidc/login", 404]],
      "/api/auth/oidc/callback": [["/api/auth/oidc/callback?state=x&code=y", 404]],
    };
    const reads = ROUTES.filter((r) => r.method === "GET" && (r.access === "public" || r.access === "read" || r.access === "read+wall")).map((r) => r.path);
    assert.deepEqual(Object.keys(samples).sort(), [...reads].sort(), "every read route of the table has samples here");
    for (const [, cases] of Object.entries(samples)) {
      for (const [path, status] of cases) {
        const r = await fetchChecked(srv.url, path);
        assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`);
      }
    }
    const clusters = (await fetchChecked<{ name: string }[]>(srv.url, "/api/clusters")).body;
    assert.ok(clusters.some((c) => c.name === "rt"));
    // the served OpenAPI document describes every route, with this server's version
    const doc = (await fetchChecked<{ info: { version: string }; paths: Record<string, object> }>(srv.url, "/api/openapi.json")).body;
    assert.ok(doc.paths["/api/clusters/{name}/timeline"] && doc.paths["/api/admin/users/{id}"], Object.keys(doc.paths).join(" "));
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
  });

  it("answers the session and admin reads as their schemas say", async () => {
    const admin = await srv.session("admin");
    for (const path of ["/api/auth/session", "/api/admin/users", "/api/admin/tokens", "/api/admin/channels", "/api/audit", "/api/audit/export"]) {
      const r = await fetchChecked(srv.url, path, { headers: { cookie: admin.cookie } });
      assert.equal(r.status, 200, path);
    }
    const anon = await fetchChecked(srv.url, "/api/admin/users");
    assert.equal(anon.status, 401);
  });

  it("answers writes as their schemas say", async () => {
    const admin = await srv.session("admin");
    const write = async (method: string, path: string, body?: unknown) => {
      const r = await request(srv.url, path, { method, headers: { origin: srv.url, cookie: admin.cookie, "x-csrf-token": admin.csrf }, body });
      return { status: r.status, body: checkAnswer<Record<string, unknown>>(method, path, r.status, r.json()) };
    };
    const api = await write("POST", "/api/admin/api-tokens", { name: "schema" });
    assert.equal(api.status, 201);
    assert.equal((await write("DELETE", `/api/admin/api-tokens/${String(api.body.id)}`)).status, 200);
    const wall = await write("POST", "/api/admin/wall-tokens", { name: "schema" });
    assert.equal(wall.status, 201);
    assert.equal((await write("DELETE", `/api/admin/wall-tokens/${String(wall.body.id)}`)).status, 200);
    const agent = await write("POST", "/api/admin/agent-tokens", { cluster: "rt", node: "c" });
    assert.equal(agent.status, 201);
    assert.equal((await write("DELETE", `/api/admin/agent-tokens/${String(agent.body.id)}`)).status, 200);
    const user = await write("POST", "/api/admin/users", { name: "schema-user", role: "viewer", password: "a long enough password 1" });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const uid = String((user.body.user as { id: number }).id);
    assert.equal((await write("POST", `/api/admin/users/${uid}/role`, { role: "operator" })).status, 200);
    assert.equal((await write("POST", `/api/admin/users/${uid}/password`, { password: "another long password 2" })).status, 200);
    assert.equal((await write("DELETE", `/api/admin/users/${uid}/sessions`)).status, 200);
    assert.equal((await write("DELETE", `/api/admin/users/${uid}`)).status, 200);
    assert.equal((await write("DELETE", `/api/admin/users/x`)).status, 400);
    const w = await write("POST", "/api/maintenance", { cluster: "rt", minutes: 5, reason: "schema" });
    assert.equal(w.status, 201);
    assert.equal((await write("POST", "/api/maintenance", { cluster: "rt" })).status, 400);
    assert.equal((await write("POST", "/api/maintenance", { cluster: "nope", minutes: 5 })).status, 404);
    assert.equal((await write("POST", `/api/maintenance/${String((w.body.window as { id: number }).id)}/end`)).status, 200);
    assert.equal((await write("DELETE", `/api/maintenance/${String((w.body.window as { id: number }).id)}`)).status, 200);
    const ack = await write("POST", `/api/incidents/${incidentId}/ack`);
    assert.equal(ack.status, 200);
    assert.equal(ack.body.ackedBy, admin.user);
    assert.equal((await write("POST", "/api/auth/logout")).status, 200);
  });

  it("keeps /api/* away from Next: unknown paths, wall sessions, HEAD, other methods", async () => {
    const unknown = await request(srv.url, "/api/nope");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().code, "not_found");
    assert.equal((await request(srv.url, "/api/nope", { headers: { authorization: "Bearer kam_api_nope" } })).status, 401);

    const t = await srv.wallToken("schema-wall");
    const wall = (await request(srv.url, `/wall?token=${t.token}`)).cookie("kam_session");
    assert.ok(wall, "a wall session cookie");
    assert.equal((await request(srv.url, "/api/clusters", { headers: { cookie: wall } })).status, 200);
    assert.equal((await request(srv.url, "/api/incidents", { headers: { cookie: wall } })).status, 200);
    assert.equal((await request(srv.url, `/api/incidents/${incidentId}`, { headers: { cookie: wall } })).status, 403);
    assert.equal((await request(srv.url, "/api/nope", { headers: { cookie: wall } })).status, 403);

    const head = await request(srv.url, "/api/health", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    const post = await request(srv.url, "/api/clusters", { method: "POST", headers: { origin: srv.url }, body: {} });
    assert.equal(post.status, 405);
  });
});
