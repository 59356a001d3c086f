/**
 * The installed commands (issue 14): package.json "bin" names kam-server, kam-admin, kam-token and kam-agent,
 * each an executable shebang file under bin/ that runs the compiled file from dist/ (no tsx). Run as real
 * processes: --help and --version print on stdout with exit code 0 and the usage names the command, a bad
 * flag or command is exit code 2, a failure exit code 1, and a missing build says how to make it (exit 1).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../server/paths";

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string; bin: Record<string, string> };
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bins-"));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
before(async () => {
  const { ensureBuild } = (await import("../../scripts/ensure-build.mjs")) as { ensureBuild(): void };
  ensureBuild();
});

/** runs the file itself (its shebang line, its mode), as a shell would */
function run(file: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, args, { cwd: os.tmpdir(), env: { ...process.env, DATABASE_URL: "", KAM_DATA_DIR: dataDir, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
const bin = (name: string) => path.join(ROOT, pkg.bin[name]);

describe("package.json bin", () => {
  it("names the four commands, each an executable node script under bin/", () => {
    assert.deepEqual(Object.keys(pkg.bin).sort(), ["kam-admin", "kam-agent", "kam-server", "kam-token"]);
    for (const [name, file] of Object.entries(pkg.bin)) {
      assert.match(file, /^bin\//, name);
      assert.equal(fs.readFileSync(path.join(ROOT, file), "utf8").split("\n")[0], "#!/usr/bin/env node", name);
      assert.ok(fs.statSync(path.join(ROOT, file)).mode & 0o111, `${file} is executable`);
    }
  });

  for (const name of ["kam-server", "kam-admin", "kam-token", "kam-agent"]) {
    it(`${name} --help and --version: stdout, exit code 0`, async () => {
      const help = await run(bin(name), ["--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, name === "kam-agent" ? /--server URL/ : new RegExp(`usage:[\\s\\S]*\\b${name} `), help.stdout);
      const v = await run(bin(name), ["--version"]);
      assert.deepEqual([v.code, v.stdout, v.stderr], [0, `${pkg.version}\n`, ""]);
    });
  }

  it("refuses a bad flag or command with exit code 2 and a hint naming the command", async () => {
    const server = await run(bin("kam-server"), ["--prot", "3000"]);
    assert.equal(server.code, 2);
    assert.match(server.stderr, /^server: unknown option --prot; did you mean --port\?\nusage: kam-server \[options\]/);
    const admin = await run(bin("kam-admin"), ["webhok", "list"]);
    assert.equal(admin.code, 2);
    assert.match(admin.stderr, /^admin: unknown command "webhok"; did you mean "webhook"\?\nusage:\n {2}kam-admin webhook add/);
    const token = await run(bin("kam-token"), ["revoke", "x"]);
    assert.equal(token.code, 2);
    assert.match(token.stderr, /^token: ID: must be a positive whole number/);
    const agent = await run(bin("kam-agent"), ["--bogus"]);
    assert.equal(agent.code, 2);
    assert.match(agent.stderr, /unknown option --bogus/);
  });

  it("exits 1 when the work fails (kam-token: the database cannot be reached)", async () => {
    const r = await run(bin("kam-token"), ["list"], { DATABASE_URL: "postgresql://kam@127.0.0.1:1/none" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^token: [\s\S]*Can't reach database server at 127\.0\.0\.1:1/);
  });

  it("kam-token runs the real commands on the database (create, list)", async () => {
    const created = await run(bin("kam-token"), ["create", "--cluster", "bins", "--node", "lb1"]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /token \d+ for node "lb1" of cluster "bins"/);
    const list = await run(bin("kam-token"), ["list"]);
    assert.match(list.stdout, /bins\s+lb1/);
  });

  it("without a build, says what is missing and how to build it (exit code 1)", async () => {
    // the bin/ files in a checkout without dist/
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "kam-bins-nobuild-"));
    try {
      fs.cpSync(path.join(ROOT, "bin"), path.join(copy, "bin"), { recursive: true });
      const r = await run(path.join(copy, "bin/kam-admin.mjs"), ["--version"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kam-admin: .*dist\/admin\.mjs is missing: run `npm run build`/);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
