/**
 * "Add a node from the dashboard" (issue 14) at the REAL server (child process, real database, real
 * socket.io): an admin makes a one-time enrolment code through the API; the one-line install command the
 * API gives (curl | sh) runs the served install script into a temporary root without starting anything; a
 * corrupted download is refused by its SHA-256 and installs nothing; the installed bundle, started with the
 * configuration the script wrote, exchanges the code for its token, keeps it (0600) in its state directory,
 * and its node appears in GET /api/clusters; a restart uses the stored token; a second use of the code, an
 * expired, a revoked, an unknown code and another node name are refused with typed errors, counted; the agent
 * whose answer was lost gets a new token in place of the first until one connected.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { ENROL_PATH, type ClusterSummary } from "../../server/protocol";
import { checkAnswer, fetchChecked } from "../helpers/api-schema";
import { AGENT_BUNDLE, startAgent, type AgentProc } from "../helpers/agent";
import { testDbKind } from "../helpers/db";
import { connectFakeAgent } from "../helpers/fake-agent";
import { request } from "../helpers/http";
import { ROOT, metricOf, queryDb, startTestServer, type TestServer, type TestSession } from "../helpers/server";
import { tmpDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

let srv: TestServer;
let admin: TestSession;
const agents: AgentProc[] = [];

before(async () => {
  if (!fs.existsSync(AGENT_BUNDLE)) throw new Error(`${AGENT_BUNDLE} is missing: run npm run build:agent (npm test builds it)`);
  srv = await startTestServer();
  admin = await srv.session("admin");
});

after(async () => {
  for (const a of agents) await a.stop("SIGKILL");
  await srv?.close();
});

interface NewCode {
  id: number;
  code: string;
  cluster: string;
  node: string;
  expiresAt: string;
  server: string;
  command: string;
}

async function adminWrite(method: "POST" | "DELETE", p: string, body?: unknown, who: TestSession = admin) {
  const r = await request(srv.url, p, { method, headers: { origin: srv.url, cookie: who.cookie, "x-csrf-token": who.csrf }, body: body ?? (method === "POST" ? {} : undefined) });
  return { status: r.status, body: checkAnswer<Record<string, unknown>>(method, p, r.status, r.json()) };
}

async function newCode(cluster: string, node: string, ttlMinutes?: number): Promise<NewCode> {
  const r = await adminWrite("POST", "/api/admin/enrolment-codes", { cluster, node, ...(ttlMinutes ? { ttlMinutes } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as unknown as NewCode;
}

async function exchange(code: string, node: string, agentId?: string) {
  const r = await request(srv.url, ENROL_PATH, { method: "POST", body: { code, node, ...(agentId ? { agentId } : {}) } });
  return { status: r.status, body: checkAnswer<{ code?: string; message?: string; token?: string }>("POST", ENROL_PATH, r.status, r.json()) };
}

function sh(command: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", command], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** KEY=VALUE lines of an EnvironmentFile (comments and blank lines left out) */
function envFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** the installed agent, started as its unit would start it (settings from the written file), following a log file of its own */
function startInstalled(root: string, dir: string, extraEnv: Record<string, string> = {}): AgentProc {
  const log = path.join(dir, "keepalived.log");
  fs.writeFileSync(log, "");
  const a = startAgent(["--source", "file", "--log-file", log, "--keepalived-conf", "none", "--ip", "/bin/false", "--pidfile", "none"], {
    ...envFile(path.join(root, "etc/default/keepalived-agent")), KAM_STATE_DIR: path.join(root, "var/lib/keepalived-agent"), ...extraEnv,
  }, path.join(root, "usr/lib/keepalived-agent/keepalived-agent.cjs"));
  agents.push(a);
  return a;
}

const exited = (a: AgentProc) =>
  new Promise<number | null>((resolve) => {
    if (a.child.exitCode !== null) resolve(a.child.exitCode);
    else a.child.once("exit", (code) => resolve(code));
  });

describe(`add a node from the dashboard (${testDbKind()})`, () => {
  it("serves the agent's files at stable URLs with their SHA-256", async () => {
    const sums = await fetchChecked<string>(srv.url, "/downloads/SHA256SUMS");
    assert.equal(sums.status, 200);
    const listed = new Map(sums.body.trim().split("\n").map((l) => [l.split(/\s+/)[1], l.split(/\s+/)[0]] as const));
    for (const f of ["keepalived-agent.cjs", "keepalived-agent.service", "install.sh"]) assert.match(listed.get(f) ?? "", /^[0-9a-f]{64}$/, `SHA256SUMS lists ${f}`);
    const bundle = Buffer.from(await (await fetch(`${srv.url}/downloads/keepalived-agent.cjs`)).arrayBuffer());
    assert.equal(sha256(bundle), sha256(fs.readFileSync(AGENT_BUNDLE)), "the bundle served is the built one");
    assert.equal(listed.get("keepalived-agent.cjs"), sha256(bundle));
    const unit = await fetchChecked<string>(srv.url, "/downloads/keepalived-agent.service");
    assert.match(unit.body, /^ExecStart=\/usr\/bin\/node \/usr\/lib\/keepalived-agent\/keepalived-agent\.cjs$/m);
    assert.match(unit.body, /^EnvironmentFile=\/etc\/default\/keepalived-agent$/m);
    assert.equal(unit.headers.get("repr-digest"), `sha-256=:${Buffer.from(listed.get("keepalived-agent.service")!, "hex").toString("base64")}:`);
    const script = await fetchChecked<string>(srv.url, "/downloads/install.sh");
    assert.match(script.body, /^#!\/bin\/sh\n/);
    assert.equal(sha256(script.body), listed.get("install.sh"));
    const deb = await fetchChecked(srv.url, "/downloads/keepalived-agent.deb");
    assert.ok(deb.status === 200 || (deb.status === 404 && /npm run package:agent/.test(JSON.stringify(deb.body))), `the .deb, or why not: ${deb.status}`);
    if (deb.status === 200) {
      // the package of the server's version, as npm run package:agent wrote it
      const version = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
      const bytes = Buffer.from(await (await fetch(`${srv.url}/downloads/keepalived-agent.deb`)).arrayBuffer());
      assert.equal(sha256(bytes), sha256(fs.readFileSync(path.join(ROOT, "dist", `keepalived-agent_${version}_all.deb`))));
      assert.equal(listed.get("keepalived-agent.deb"), sha256(bytes));
    } else {
      assert.equal(listed.has("keepalived-agent.deb"), false, "SHA256SUMS lists only what is served");
    }
    assert.equal((await fetchChecked(srv.url, "/downloads/nope.sh")).status, 404);
  });

  it("installs with the command the dashboard shows, enrols the node once, and the node appears", { timeout: 120_000 }, async (t) => {
    const c = await newCode("enrol-c", "n1");
    assert.match(c.code, /^kame_/);
    assert.equal(c.server, srv.url);
    assert.ok(Math.abs(Date.parse(c.expiresAt) - Date.now() - 3600_000) < 60_000, `default lifetime 1 h: ${c.expiresAt}`);
    assert.equal(c.command, `curl -fsSL ${srv.url}/downloads/install.sh | sh -s -- --server ${srv.url} --node n1 --code ${c.code}`);
    const listed = await fetchChecked<Array<{ id: number; state: string; prefix: string }>>(srv.url, "/api/admin/enrolment-codes", { headers: { cookie: admin.cookie } });
    assert.equal(listed.body.find((r) => r.id === c.id)?.state, "pending");
    assert.ok(!JSON.stringify(listed.body).includes(c.code), "the list never shows a code");
    const stored = await queryDb<{ code_hash: string }>(srv, "SELECT code_hash FROM enrolment_code WHERE id = $1", [c.id]);
    assert.equal(stored[0].code_hash, sha256(c.code), "only the SHA-256 of the code is stored");

    // 1. a corrupted download: a loopback proxy flips one byte of the bundle; SHA256SUMS is the server's own
    const proxy = http.createServer((req, res) => {
      void fetch(`${srv.url}${req.url}`).then(async (r) => {
        const b = Buffer.from(await r.arrayBuffer());
        if (req.url === "/downloads/keepalived-agent.cjs") b[100] ^= 1;
        res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/octet-stream" });
        res.end(b);
      }, (e: Error) => {
        res.writeHead(502);
        res.end(e.message);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    t.after(() => proxy.close());
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const bad = tmpDir(t, "kam-enrol-bad-");
    const refused = await sh(`curl -fsSL ${proxyUrl}/downloads/install.sh | sh -s -- --server ${proxyUrl} --node n1 --code ${c.code} --root ${bad} --no-start`);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /checksum mismatch for keepalived-agent\.cjs: SHA256SUMS says [0-9a-f]{64}, the download is [0-9a-f]{64} .*nothing was installed/);
    assert.deepEqual(fs.readdirSync(bad), [], "nothing installed");

    // 2. the command as shown, into a temporary root, nothing started
    const root = tmpDir(t, "kam-enrol-root-");
    const ok = await sh(`${c.command} --root ${root} --no-start`);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /verified keepalived-agent\.cjs/);
    const installed = path.join(root, "usr/lib/keepalived-agent/keepalived-agent.cjs");
    assert.equal(sha256(fs.readFileSync(installed)), sha256(fs.readFileSync(AGENT_BUNDLE)));
    assert.equal(fs.statSync(installed).mode & 0o777, 0o755);
    assert.match(fs.readFileSync(path.join(root, "etc/systemd/system/keepalived-agent.service"), "utf8"), /^ExecStart=\S*node \/usr\/lib\/keepalived-agent\/keepalived-agent\.cjs$/m);
    const defaults = path.join(root, "etc/default/keepalived-agent");
    assert.equal(fs.statSync(defaults).mode & 0o777, 0o600, "the settings hold the code: root only");
    assert.deepEqual(envFile(defaults), { KAM_SERVER: srv.url, KAM_NODE: "n1", KAM_ENROL_CODE: c.code });

    // 3. the installed agent with the written settings: enrols, keeps its token, connects, appears
    const work = tmpDir(t, "kam-enrol-work-");
    const enrolsBefore = await metricOf(srv, "kam_enrolments_total", { result: "ok" });
    const agent = startInstalled(root, work);
    const cluster = await waitFor("node n1 of enrol-c online in /api/clusters", async () => {
      const r = await fetchChecked<ClusterSummary[]>(srv.url, "/api/clusters");
      return r.body.find((x) => x.name === "enrol-c" && x.nodes.some((n) => n.name === "n1" && n.online));
    }, 30_000);
    assert.ok(cluster);
    const tokenFile = path.join(root, "var/lib/keepalived-agent/token");
    assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
    const token = fs.readFileSync(tokenFile, "utf8").trim();
    assert.match(token, /^kam_/);
    assert.match(agent.output(), /enrolled: this node's agent token is stored in the state directory/);
    const used = await queryDb<{ used_at: Date | null; used_from: string | null; node_name: string; token_hash: string; cluster: string }>(srv,
      `SELECT e.used_at, e.used_from, t.node_name, t.token_hash, c.name AS cluster
         FROM enrolment_code e JOIN agent_token t ON t.id = e.agent_token_id JOIN cluster c ON c.id = t.cluster_id WHERE e.id = $1`, [c.id]);
    assert.equal(used.length, 1, "the code names the token it gave");
    assert.ok(used[0].used_at && used[0].used_from);
    assert.deepEqual([used[0].cluster, used[0].node_name, used[0].token_hash], ["enrol-c", "n1", sha256(token)], "a per-node token, stored hashed");
    assert.equal(await metricOf(srv, "kam_enrolments_total", { result: "ok" }), enrolsBefore + 1);
    // the audit log: the admin made the code, the node's agent redeemed it; neither secret is kept there
    const audit = await queryDb<{ actor_kind: string; actor: string; action: string; target: string; after: string }>(srv,
      "SELECT actor_kind, actor, action, target, after::text AS after FROM audit_log WHERE target = $1 ORDER BY id", [`enrolment-code:${c.id}`]);
    assert.deepEqual(audit.map((a) => [a.actor_kind, a.action]), [["user", "enrolment-code.create"], ["agent", "enrolment-code.redeem"]]);
    assert.equal(audit[1].actor, "n1");
    assert.match(audit[1].after, /"usedAt": "/);
    for (const a of audit) assert.ok(!a.after.includes(c.code) && !a.after.includes(token), "no secret in the audit log");
    const list = await fetchChecked<Array<{ id: number; state: string }>>(srv.url, "/api/admin/enrolment-codes", { headers: { cookie: admin.cookie } });
    assert.equal(list.body.find((r) => r.id === c.id)?.state, "used");
    for (const secret of [c.code, token]) {
      assert.ok(!agent.output().includes(secret), "no secret in the agent's log");
      assert.ok(!srv.output().includes(secret), "no secret in the server's log");
    }

    // 4. a restart uses the stored token (the code, still in the settings, is used up and not sent again)
    await agent.stop();
    const again = startInstalled(root, work);
    await waitFor("the restarted agent connected with its stored token", () => /enrolled before: using the agent token stored/.test(again.output()) && /connected to the server/.test(again.output()), 30_000);
    assert.equal(await metricOf(srv, "kam_enrolments_total", { result: "ok" }), enrolsBefore + 1, "no second exchange");

    // 5. the same command on a second node: refused, typed, the agent says which setting
    const root2 = tmpDir(t, "kam-enrol-root2-");
    const copied = await sh(`${c.command} --root ${root2} --no-start`);
    assert.equal(copied.code, 0, "installing is not enrolling: the script itself does not spend the code");
    const usedBefore = await metricOf(srv, "kam_enrolments_total", { result: "enrolment_used" });
    const second = startInstalled(root2, tmpDir(t, "kam-enrol-work2-"));
    assert.notEqual(await exited(second), 0);
    assert.match(second.output(), /--enrol \/ KAM_ENROL_CODE: http:\/\/127\.0\.0\.1:\d+ refused the enrolment code \(enrolment_used\): this enrolment code was used at .*make a new code/);
    assert.ok(!fs.existsSync(path.join(root2, "var/lib/keepalived-agent/token")));
    assert.equal(await metricOf(srv, "kam_enrolments_total", { result: "enrolment_used" }), usedBefore + 1);
    const direct = await exchange(c.code, "n1");
    assert.equal(direct.status, 409);
    assert.equal(direct.body.code, "enrolment_used");

    // 6. a new code for n1 while its token is valid could never connect: refused at creation, saying what to do
    const again2 = await adminWrite("POST", "/api/admin/enrolment-codes", { cluster: "enrol-c", node: "n1" });
    assert.equal(again2.status, 409);
    assert.equal(again2.body.code, "conflict");
    assert.match(String(again2.body.message), /node "n1" of cluster "enrol-c" is bound to agent token #\d+ .*revoke it first/);
  });

  it("refuses expired, revoked and unknown codes and other node names, typed and counted", async () => {
    const expired = await newCode("enrol-c", "n2", 1);
    await queryDb(srv, "UPDATE enrolment_code SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.id]);
    const before = await metricOf(srv, "kam_enrolments_total", { result: "enrolment_expired" });
    const e = await exchange(expired.code, "n2");
    assert.equal(e.status, 410);
    assert.equal(e.body.code, "enrolment_expired");
    assert.match(e.body.message ?? "", /expired at .*make a new code in the dashboard/);
    assert.equal(await metricOf(srv, "kam_enrolments_total", { result: "enrolment_expired" }), before + 1);

    const revoked = await newCode("enrol-new-cluster", "n3");
    const rv = await adminWrite("DELETE", `/api/admin/enrolment-codes/${revoked.id}`);
    assert.deepEqual(rv, { status: 200, body: { ok: true, revoked: true } });
    assert.equal((await adminWrite("DELETE", `/api/admin/enrolment-codes/${revoked.id}`)).body.revoked, false, "revoked once");
    const r = await exchange(revoked.code, "n3");
    assert.equal(r.status, 410);
    assert.equal(r.body.code, "enrolment_revoked");
    const clusters = (await fetchChecked<ClusterSummary[]>(srv.url, "/api/clusters")).body;
    assert.ok(!clusters.some((x) => x.name === "enrol-new-cluster"), "a code for a new cluster creates nothing until it is used");

    const other = await newCode("enrol-c", "n4");
    const wrong = await exchange(other.code, "n5");
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, "forbidden");
    assert.match(wrong.body.message ?? "", /for node "n4" of cluster "enrol-c", not "n5": set --node \/ KAM_NODE to n4/);
    // refused exchanges change nothing: the right node still enrols with it
    const right = await exchange(other.code, "n4");
    assert.equal(right.status, 201);
    assert.match(right.body.token ?? "", /^kam_/);

    // an answer lost on the way: the same agent (its id) asks again before it ever connected, and its first
    // token is replaced; another agent id, or the same once its token connected, is refused as a second use
    const lost = await newCode("enrol-c", "n6");
    const agentId = randomUUID();
    const first = await exchange(lost.code, "n6", agentId);
    assert.equal(first.status, 201);
    const second = await exchange(lost.code, "n6", agentId);
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.notEqual(second.body.token, first.body.token);
    const firstRow = await queryDb<{ revoked_at: Date | null }>(srv, "SELECT revoked_at FROM agent_token WHERE token_hash = $1", [sha256(first.body.token!)]);
    assert.ok(firstRow[0].revoked_at, "the first token is revoked");
    assert.equal((await exchange(lost.code, "n6", randomUUID())).body.code, "enrolment_used", "another agent id");
    const connected = await connectFakeAgent(srv.url, second.body.token!, "n6");
    connected.close();
    const late = await exchange(lost.code, "n6", agentId);
    assert.equal(late.status, 409, "once its token connected, the code is used for good");
    assert.equal(late.body.code, "enrolment_used");

    const unknown = await exchange(`kame_${"A".repeat(43)}`, "n4");
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.code, "unauthorized");
    const invalidBefore = await metricOf(srv, "kam_http_invalid_requests_total", { route: `POST ${ENROL_PATH}`, code: "invalid_message" });
    const garbage = await exchange("not-a-code", "n4");
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.code, "invalid_message");
    assert.equal(await metricOf(srv, "kam_http_invalid_requests_total", { route: `POST ${ENROL_PATH}`, code: "invalid_message" }), invalidBefore + 1);
  });

  it("lets only admins make, list and revoke codes", async () => {
    const operator = await srv.session("operator");
    const made = await adminWrite("POST", "/api/admin/enrolment-codes", { cluster: "enrol-c", node: "n9" }, operator);
    assert.equal(made.status, 403);
    assert.equal(made.body.code, "forbidden");
    assert.equal((await fetchChecked(srv.url, "/api/admin/enrolment-codes")).status, 401);
    const bad = await adminWrite("POST", "/api/admin/enrolment-codes", { cluster: "enrol c", node: "n9", ttlMinutes: 0 });
    assert.equal(bad.status, 400);
  });
});
