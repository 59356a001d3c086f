/**
 * `npm run token`: creates a token shown once (only its hash stored), lists
 * and revokes it, against the database of a running server; a revoked token
 * no longer connects.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { io } from "socket.io-client";
import { PROTOCOL_VERSION } from "../../server/protocol";
import { hashToken } from "../../server/ingest/tokens";
import { findRunningEmbedded } from "../../server/db/embedded";
import { startTestServer, ROOT, type TestServer } from "../helpers/server";

const run = promisify(execFile);
let srv: TestServer;

before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv?.close();
});

function cli(...args: string[]) {
  return run(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli/token.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: srv.db.databaseUrl, KAM_DATA_DIR: srv.db.dataDir },
  });
}

function canConnect(token: string, node = "cli1"): Promise<string> {
  return new Promise((resolve) => {
    const s = io(`${srv.url}/agent`, {
      auth: { protocol: PROTOCOL_VERSION, token, agentId: randomUUID(), node, hostname: node, version: "t" },
      transports: ["websocket"],
      reconnection: false,
    });
    s.once("connect", () => {
      s.close();
      resolve("connected");
    });
    s.once("connect_error", (e: Error & { data?: { code: string } }) => resolve(e.data?.code ?? e.message));
  });
}

it("creates a token shown once, stores only its hash, lists it and revokes it", async () => {
  const created = await cli("create", "--cluster", "cli-test", "--node", "cli1", "--label", "rack 4");
  const token = /\n(kam_[A-Za-z0-9_-]{43})\n/.exec(created.stdout)?.[1];
  assert.ok(token, `token printed: ${created.stdout}`);
  assert.equal(await canConnect(token), "connected");
  assert.equal(await canConnect(token, "cli2"), "forbidden", "bound to its node (issue 19)");

  const url = srv.db.databaseUrl || findRunningEmbedded(srv.db.dataDir)!;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const rows = (await c.query(`SELECT t.id, t.token_hash, t.last_used_at FROM agent_token t JOIN cluster c ON c.id = t.cluster_id WHERE c.name = 'cli-test'`)).rows;
  const dump = JSON.stringify((await c.query(`SELECT * FROM agent_token`)).rows);
  await c.end();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].token_hash, hashToken(token));
  assert.ok(!dump.includes(token), "the token itself is stored nowhere");
  assert.ok(rows[0].last_used_at, "last use recorded");

  const list = await cli("list");
  assert.match(list.stdout, /cli-test\s+cli1\s+kam_[\w-]{6}…\s+rack 4\s+last used/);
  assert.ok(!list.stdout.includes(token));

  const revoked = await cli("revoke", String(rows[0].id));
  assert.match(revoked.stdout, /revoked/);
  assert.equal(await canConnect(token), "unauthorized");
});

it("create needs --node (or --any-node for a legacy cluster token)", async () => {
  await assert.rejects(cli("create", "--cluster", "cli-test"), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--node NODE/);
    return true;
  });
  const legacy = await cli("create", "--cluster", "cli-any", "--any-node");
  assert.match(legacy.stdout, /legacy cluster token/);
});

it("explains what is missing when create has no --cluster", async () => {
  await assert.rejects(cli("create"), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--cluster NAME/);
    return true;
  });
});
