/**
 * The CLIs' conventions (issue 14), on the real programs run as child processes the way npm runs
 * them: `npm run admin`, `npm run token` and the server refuse a misspelt command or an unknown
 * flag with exit code 2 and a hint on stderr, print --help and --version on stdout with exit code
 * 0, and exit 1 when the work itself fails (the database cannot be reached).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../server/paths";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-cli-"));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** runs server/<script> with args; no database is opened unless a command gets that far */
function run(script: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "server", script), ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: "", KAM_DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: "1", ...env },
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe("npm run admin", () => {
  it("refuses a misspelt command with exit code 2, a hint and the usage, on stderr", async () => {
    const r = await run("cli/admin.ts", ["webhok", "add", "--cluster", "x", "--url", "https://h.example"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^admin: unknown command "webhok"; did you mean "webhook"\?\nusage:\n.*npm run admin -- webhook add/);
    assert.equal(r.stdout, "");
    const sub = await run("cli/admin.ts", ["user", "ad", "bob"]);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown command "user ad"; did you mean "user add"\?/);
  });

  it("refuses an unknown flag with exit code 2, naming it, with a hint", async () => {
    const r = await run("cli/admin.ts", ["maintenance", "add", "--clustr", "shop", "--for", "2h"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^admin: unknown option --clustr for "maintenance add"; did you mean --cluster\?\nusage: npm run admin -- maintenance add --cluster NAME/);
  });

  it("prints --help and --version on stdout with exit code 0", async () => {
    const help = await run("cli/admin.ts", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /npm run admin -- webhook add --cluster NAME --url URL \[--format json\|slack\|alertmanager\|pagerduty\|email\] \[--min-severity info\|warning\|critical\] \[--secret-stdin\]/);
    assert.match(help.stdout, /npm run admin -- webhook test ID\n\s+send a test notification now/);
    assert.match(help.stdout, /npm run admin -- user add NAME \[--role viewer\|operator\|admin\] \[--clusters A,B\] \[--password-stdin\]/);
    assert.match(help.stdout, /npm run admin -- backup FILE \[--force\]\n\s+write the whole database to FILE: pg_dump --format=custom/);
    assert.match(help.stdout, /npm run admin -- restore FILE \[--force\]\n\s+load a backup FILE into the database: pg_restore --clean --if-exists --no-owner/);
    assert.match(help.stdout, /exit status: 0 done, 1 failed/);
    const restore = await run("cli/admin.ts", ["restore", "--help"]);
    assert.match(restore.stdout, /--force\n {6}replace a database that holds rows/);
    const noFile = await run("cli/admin.ts", ["backup"]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /^admin: backup needs FILE/);
    const one = await run("cli/admin.ts", ["user", "add", "--help"]);
    assert.equal(one.code, 0);
    assert.match(one.stdout, /--password-stdin\n {6}read the password/);
    const v = await run("cli/admin.ts", ["--version"]);
    assert.deepEqual([v.code, v.stdout], [0, `${version}\n`]);
  });
});

describe("npm run token", () => {
  it("refuses a misspelt command and an unknown flag with exit code 2 and a hint", async () => {
    const cmd = await run("cli/token.ts", ["revok", "3"]);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /^token: unknown command "revok"; did you mean "revoke"\?/);
    const flag = await run("cli/token.ts", ["create", "--cluster", "shop", "--nod", "lb1"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^token: unknown option --nod for "create"; did you mean --node\?/);
    const value = await run("cli/token.ts", ["create", "--cluster", "shop", "--node"]);
    assert.equal(value.code, 2);
    assert.match(value.stderr, /^token: --node needs a value \(NODE\)/);
  });

  it("prints --help and --version on stdout with exit code 0", async () => {
    const help = await run("cli/token.ts", ["-h"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /npm run token -- create --cluster NAME \(--node NODE \| --any-node\) \[--label TEXT\]\n/);
    assert.match(help.stdout, /npm run token -- revoke ID\n/);
    const v = await run("cli/token.ts", ["--version"]);
    assert.deepEqual([v.code, v.stdout], [0, `${version}\n`]);
  });

  it("exits 1 when the database cannot be reached, saying so", async () => {
    const r = await run("cli/token.ts", ["list"], { DATABASE_URL: "postgresql://kam@127.0.0.1:1/none" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^token: [\s\S]*Can't reach database server at 127\.0\.0\.1:1/);
  });
});

describe("the server (npm start -- ...)", () => {
  it("refuses an unknown flag with exit code 2 and a hint, before opening anything", async () => {
    const r = await run("main.ts", ["--prot", "3000"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^server: unknown option --prot; did you mean --port\?\nusage: npm start -- \[options\]/);
  });

  it("refuses a secrets key file it cannot read with exit code 2, naming the setting, before opening the database", async () => {
    const missing = path.join(dataDir, "no-such.key");
    const r = await run("main.ts", ["--port", "0", "--host", "127.0.0.1"], { KAM_SECRETS_KEY_FILE: missing });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^invalid server configuration:\n {2}--secrets-key-file \/ KAM_SECRETS_KEY_FILE: cannot read the secrets key file .*no-such\.key \(KAM_SECRETS_KEY_FILE\): ENOENT\n$/);
    assert.equal(fs.existsSync(missing), false, "not created: a named key file must be the replicas' shared one");
  });

  it("prints --help and --version on stdout with exit code 0", async () => {
    const help = await run("main.ts", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--database-url URL\n.*\n {6}env DATABASE_URL\n/);
    const v = await run("main.ts", ["--version"]);
    assert.deepEqual([v.code, v.stdout], [0, `${version}\n`]);
  });
});
