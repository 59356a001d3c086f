/**
 * Optional TLS, end to end with real parts: a throwaway CA and a server
 * certificate for 127.0.0.1 made with `openssl` at test time (in a temp dir,
 * deleted afterwards), the REAL server started with KAM_TLS_CERT/KAM_TLS_KEY,
 * and the REAL agent bundle connecting over https:// with and without --ca.
 * `openssl` is needed to make the certificates (node:crypto cannot sign
 * X.509 certificates); without it the test is skipped with the reason
 * (failed under CI=true).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { startTestServer, type TestServer, queryDb } from "../helpers/server";
import { createTestDb } from "../helpers/db";
import { startAgent } from "../helpers/agent";
import { waitFor } from "../helpers/wait";

const openssl = spawnSync("openssl", ["version"], { encoding: "utf8" });
const NO_OPENSSL = openssl.status === 0 ? null : `openssl is not installed (${openssl.error?.message ?? openssl.stderr}): it makes the test certificates`;
if (NO_OPENSSL && process.env.CI === "true") throw new Error(NO_OPENSSL);

let dir = "";
let srv: TestServer;
const file = (n: string) => path.join(dir, n);

function ssl(...args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** a CA (name.pem/name.key) */
function makeCa(name: string): void {
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2",
    "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
}

const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDb<T>(srv, sql, params);

function get(url: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  const mod = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { ...opts, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

function agentWith(t: { after: (fn: () => unknown) => void }, token: string, node: string, extra: string[]) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "kam-tls-agent-"));
  const log = path.join(d, "keepalived.log");
  fs.writeFileSync(log, `Mon Nov 23 18:53:53 2026: hello from ${node}\n`);
  const agent = startAgent(["--server", srv.url, "--node", node, "--state-dir", path.join(d, "state"), "--source", "file", "--log-file", log,
    "--keepalived-conf", "none", "--ip", "/bin/false", "--heartbeat-interval", "1", ...extra], { KAM_TOKEN: token, NODE_EXTRA_CA_CERTS: "" });
  t.after(async () => {
    await agent.stop("SIGKILL");
    fs.rmSync(d, { recursive: true, force: true });
  });
  return agent;
}

const stored = async (node: string) =>
  (await query(`SELECT l.line FROM log_record l JOIN node n ON n.id = l.node_id WHERE n.name = $1`, [node])).length;

describe("TLS (real openssl certificates, real server, real agent)", { skip: NO_OPENSSL ?? false }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-tls-"));
    makeCa("ca");
    makeCa("other-ca");
    ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    fs.writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf");
    srv = await startTestServer({ env: { KAM_TLS_CERT: file("server.pem"), KAM_TLS_KEY: file("server.key") } });
  });
  after(async () => {
    await srv?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves pages and the API over https only, with the configured certificate", { timeout: 60_000 }, async () => {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = fs.readFileSync(file("ca.pem"));
    const health = await get(`${srv.url}/api/health`, { ca });
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).ok, true);
    // pages over https too: the sign-in page, and the dashboard's redirect to it
    const page = await get(`${srv.url}/`, { ca });
    assert.equal(page.status, 303);
    assert.equal((await get(`${srv.url}/login`, { ca })).status, 200);
    await assert.rejects(get(`${srv.url}/api/health`), /self-signed certificate in certificate chain|unable to verify/i, "a client that does not trust the CA refuses");
    await assert.rejects(get(`http://127.0.0.1:${srv.port}/api/health`), "plain http is not served");
  });

  it("an agent given the CA with --ca streams over https://", { timeout: 90_000 }, async (t) => {
    const token = await srv.token("tls");
    const agent = agentWith(t, token, "tls-ok", ["--ca", file("ca.pem")]);
    await waitFor("the line stored", async () => (await stored("tls-ok")) === 1, 60_000).catch((e) => assert.fail(`${(e as Error).message}\n${agent.output().slice(-2000)}`));
    assert.match(agent.output(), /connected to the server/);
  });

  it("without --ca, or with another CA, the agent refuses the server and says to pass its CA with --ca", { timeout: 90_000 }, async (t) => {
    const token = await srv.token("tls");
    const none = agentWith(t, token, "tls-none", []);
    const wrong = agentWith(t, token, "tls-wrong", ["--ca", file("other-ca.pem")]);
    for (const a of [none, wrong]) {
      const line = await waitFor("the TLS refusal", () => a.output().split("\n").find((l) => /cannot verify the server's TLS certificate/.test(l)), 30_000);
      const rec = JSON.parse(line) as { level: number; msg: string; detail: string };
      assert.ok(rec.level >= 50);
      assert.match(rec.msg, /--ca \/ KAM_CA/);
      assert.match(rec.detail, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
      assert.doesNotMatch(a.output(), /connected to the server/);
    }
    assert.equal(await stored("tls-none"), 0);
    assert.equal(await stored("tls-wrong"), 0);
  });

  it("an unreadable certificate or key stops the start with a message naming the setting (and never prints the key)", { timeout: 60_000 }, async () => {
    const db = await createTestDb();
    try {
      await assert.rejects(
        startTestServer({ db, env: { KAM_TLS_CERT: file("server.pem"), KAM_TLS_KEY: file("missing.key") } }),
        (e: Error) => /server exited \(code 2\)/.test(e.message) && /--tls-key \/ KAM_TLS_KEY: cannot read .*missing\.key: ENOENT/.test(e.message),
      );
      await assert.rejects(
        startTestServer({ db, env: { KAM_TLS_CERT: file("server.pem"), KAM_TLS_KEY: file("ca.pem") } }),
        (e: Error) => /--tls-cert \/ KAM_TLS_CERT and --tls-key \/ KAM_TLS_KEY: not a usable PEM certificate and matching private key/.test(e.message)
          && !e.message.includes(fs.readFileSync(file("server.key"), "utf8").split("\n")[1]),
      );
    } finally {
      await db.drop();
    }
  });
});
