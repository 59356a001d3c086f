/**
 * Enrolment codes (issue 14, "Add a node from the dashboard"), the pure parts: where a code stands, why it is
 * refused (typed, naming the setting to change), the install command the dashboard shows, the agent's options
 * for a node enrolled with a code, its reading of the server's answers and its retry loop, and the token file
 * it keeps. The exchange against the real server and database: test/integration/enrol.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { codeState, installCommand, newEnrolmentCode, refusal, serverBase, type CodeRow } from "../../server/ingest/enrolment";
import { ENROL_CODE_RE, EnrolRequest } from "../../server/protocol";
import { classifyAnswer, enrol, storeToken, type EnrolAnswer } from "../../agent/enrol";
import { parseAgentOptions, storedTokenPath } from "../../agent/options";
import { silentLogger } from "../../agent/log";

const NOW = new Date("2026-12-06T01:00:00.000Z");
const row = (o: Partial<CodeRow> = {}): CodeRow => ({
  id: 7, clusterName: "edge", nodeName: "lb1", expiresAt: new Date(NOW.getTime() + 60_000), usedAt: null, revokedAt: null, ...o,
});
const CODE = newEnrolmentCode();

describe("enrolment codes", () => {
  it("are 256 random bits the protocol's pattern accepts, different every time", () => {
    assert.match(CODE, ENROL_CODE_RE);
    assert.notEqual(newEnrolmentCode(), CODE);
    assert.equal(EnrolRequest.safeParse({ code: CODE, node: "lb1" }).success, true);
    assert.equal(EnrolRequest.safeParse({ code: "kame_short", node: "lb1" }).success, false);
    assert.equal(EnrolRequest.safeParse({ code: CODE, node: "bad name" }).success, false);
  });

  it("stand pending until they expire; revoked and used say more than expired", () => {
    assert.equal(codeState(row(), NOW), "pending");
    assert.equal(codeState(row({ expiresAt: NOW }), NOW), "expired", "expiry is exclusive: at expiresAt the code is expired");
    assert.equal(codeState(row({ usedAt: NOW, expiresAt: new Date(0) }), NOW), "used");
    assert.equal(codeState(row({ revokedAt: NOW, usedAt: NOW }), NOW), "revoked");
  });

  it("are refused with a typed error per reason, each saying what to do", () => {
    assert.equal(refusal(row(), "lb1", NOW), null);
    const cases: Array<[CodeRow | null, string, number, string, RegExp]> = [
      [null, "lb1", 401, "unauthorized", /unknown enrolment code: check --enrol \/ KAM_ENROL_CODE/],
      [row({ usedAt: new Date(NOW.getTime() - 1000) }), "lb1", 409, "enrolment_used", /used at 2026-12-06T00:59:59.000Z: a code enrols one node only; make a new code/],
      [row({ expiresAt: new Date(NOW.getTime() - 1) }), "lb1", 410, "enrolment_expired", /expired at .*make a new code in the dashboard/],
      [row({ revokedAt: NOW }), "lb1", 410, "enrolment_revoked", /revoked at/],
      [row(), "lb2", 403, "forbidden", /for node "lb1" of cluster "edge", not "lb2": set --node \/ KAM_NODE to lb1/],
    ];
    for (const [r, node, status, code, message] of cases) {
      const no = refusal(r, node, NOW);
      assert.ok(no, `${code} refused`);
      assert.equal(no.status, status, code);
      assert.equal(no.code, code);
      assert.match(no.message, message);
    }
  });

  it("come with a one-line install command that sh reads back word for word", () => {
    const cmd = installCommand("https://mon.example:3000/", "lb1", CODE);
    assert.equal(cmd, `curl -fsSL https://mon.example:3000/downloads/install.sh | sh -s -- --server https://mon.example:3000 --node lb1 --code ${CODE}`);
    // a public URL with characters sh would read otherwise is quoted
    const odd = installCommand("https://mon.example/a b'c", "lb1", CODE);
    const words = execFileSync("sh", ["-c", `printf '%s\\n' ${odd.split(" | ")[1].replace(/^sh -s -- /, "")}`], { encoding: "utf8" }).trim().split("\n");
    assert.deepEqual(words, ["--server", "https://mon.example/a b'c", "--node", "lb1", "--code", CODE]);
  });

  it("name the server the nodes reach: the public URL, else the dashboard's origin", () => {
    assert.equal(serverBase("https://mon.example/", { origin: "http://127.0.0.1:3000" }, false), "https://mon.example");
    assert.equal(serverBase("", { origin: "http://127.0.0.1:3000" }, false), "http://127.0.0.1:3000");
    assert.equal(serverBase("", { referer: "https://mon:8443/admin/nodes/new" }, true), "https://mon:8443");
    assert.equal(serverBase("", { host: "mon:3000" }, true), "https://mon:3000");
  });
});

describe("the install script", () => {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), "../../agent/install.sh");
  const run = (args: string[]) => spawnSync("sh", [script, ...args], { encoding: "utf8", env: { ...process.env, KAM_SERVER: "", KAM_ENROL_CODE: "", KAM_NODE: "" } });

  it("refuses a bad command line with exit code 2 and says what is wrong, before it downloads anything", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--bogus"], /error: unknown option --bogus \(see --help\)/],
      [["--code", CODE], /error: --server is required/],
      [["--server", "ftp://mon", "--code", CODE], /error: --server must be an http:\/\/ or https:\/\/ URL/],
      [["--server", "http://127.0.0.1:9"], /error: --code is required: make an enrolment code in the dashboard/],
      [["--server", "http://127.0.0.1:9", "--code", "kame_half"], /error: --code is not an enrolment code .*copy it again/],
      [["--server", "http://127.0.0.1:9", "--code", CODE, "--node", "bad name"], /error: --node must be 1 to 128 letters/],
      [["--server", "http://127.0.0.1:9", "--code", CODE, "--root", "relative/dir"], /error: --root must be an absolute directory/],
      [["--server"], /error: --server needs a value/],
    ];
    for (const [args, want] of cases) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    const help = run(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--no-start/);
  });

  it("installs nothing when the server cannot be reached", (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "kam-install-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    // port 9 (discard) on loopback: nothing listens there
    const r = run(["--server", "http://127.0.0.1:9", "--code", CODE, "--node", "lb1", "--root", root, "--no-start"]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /error: cannot download http:\/\/127\.0\.0\.1:9\/downloads\/SHA256SUMS .*nothing was installed/);
    assert.deepEqual(fs.readdirSync(root), []);
  });
});

describe("the agent with an enrolment code", () => {
  const deps = (files: Record<string, string>) => ({
    readFile: (f: string) => {
      if (!(f in files)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${f}'`), { code: "ENOENT" });
      return files[f];
    },
    hostname: () => "lb1",
  });
  const base = ["--server", "http://127.0.0.1:3000", "--state-dir", "/var/lib/ka"];

  it("starts without a token when it has a code, and uses the stored token once enrolled", () => {
    const first = parseAgentOptions(base, { KAM_ENROL_CODE: CODE }, deps({}));
    assert.equal(first.kind, "ok", JSON.stringify(first));
    if (first.kind !== "ok") return;
    assert.equal(first.options.token, null);
    assert.equal(first.options.enrolCode, CODE);
    const later = parseAgentOptions(base, { KAM_ENROL_CODE: CODE }, deps({ [storedTokenPath("/var/lib/ka")]: "kam_0123456789abcdefghij\n" }));
    assert.ok(later.kind === "ok" && later.options.token === "kam_0123456789abcdefghij" && later.options.tokenFrom === "state-dir");
    // the code may be removed from the settings after the enrolment
    const noCode = parseAgentOptions(base, {}, deps({ [storedTokenPath("/var/lib/ka")]: "kam_0123456789abcdefghij\n" }));
    assert.ok(noCode.kind === "ok" && noCode.options.tokenFrom === "state-dir");
    // --token still wins
    const flag = parseAgentOptions([...base, "--token", "kam_fromtheflag_0123456"], { KAM_ENROL_CODE: CODE }, deps({ [storedTokenPath("/var/lib/ka")]: "kam_0123456789abcdefghij" }));
    assert.ok(flag.kind === "ok" && flag.options.token === "kam_fromtheflag_0123456" && flag.options.tokenFrom === "token");
  });

  it("refuses a mistyped code, or nothing at all, naming the settings, never echoing the code", () => {
    const bad = parseAgentOptions(base, { KAM_ENROL_CODE: "kame_copied-only-half" }, deps({}));
    assert.equal(bad.kind, "error");
    assert.match((bad as { message: string }).message, /--enrol \/ KAM_ENROL_CODE: not an enrolment code .*copy it again from the dashboard/);
    assert.ok(!(bad as { message: string }).message.includes("copied-only-half"), "the code is not echoed");
    const none = parseAgentOptions(base, {}, deps({}));
    assert.match((none as { message: string }).message, /--token \/ KAM_TOKEN, --token-file \/ KAM_TOKEN_FILE or --enrol \/ KAM_ENROL_CODE: required/);
    const unreadable = parseAgentOptions(base, {}, { readFile: () => { throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }); }, hostname: () => "x" });
    assert.match((unreadable as { message: string }).message, /--state-dir \/ KAM_STATE_DIR: cannot read the stored agent token \/var\/lib\/ka\/token: EACCES/);
  });

  it("reads the server's answers: a token, a final refusal, or something to retry", () => {
    const ok = classifyAnswer(201, undefined, JSON.stringify({ ok: true, cluster: "edge", node: "lb1", token: "kam_x" }));
    assert.deepEqual(ok, { kind: "ok", reply: { ok: true, cluster: "edge", node: "lb1", token: "kam_x" } });
    const used = classifyAnswer(409, undefined, JSON.stringify({ ok: false, code: "enrolment_used", message: "used" }));
    assert.deepEqual(used, { kind: "refused", code: "enrolment_used", status: 409, message: "used" });
    assert.equal(classifyAnswer(429, "7", JSON.stringify({ ok: false, code: "rate_limited", message: "slow down" })).kind, "retry");
    assert.deepEqual(classifyAnswer(429, "7", JSON.stringify({ ok: false, code: "rate_limited", message: "x" })), { kind: "retry", message: "rate_limited: x", retryAfterMs: 7000 });
    assert.equal(classifyAnswer(502, undefined, "<html>bad gateway</html>").kind, "retry");
    const old = classifyAnswer(404, undefined, "not here");
    assert.ok(old.kind === "refused" && /has no enrolment/.test(old.message));
  });

  it("retries what may pass later, across the servers, and stops at a refusal with the setting to change", async () => {
    const answers: EnrolAnswer[] = [
      { kind: "retry", message: "connect ECONNREFUSED", retryAfterMs: null },
      { kind: "retry", message: "rate_limited: x", retryAfterMs: 5000 },
      { kind: "ok", reply: { ok: true, cluster: "edge", node: "lb1", token: "kam_t" } },
    ];
    const asked: string[] = [];
    const slept: number[] = [];
    const r = await enrol({
      servers: ["http://a:1", "http://b:1"], code: CODE, node: "lb1", agentId: "6f1c2a52-4c1e-4a57-9a43-2b7d8f0e9c11", version: "t", ca: null, log: silentLogger(),
      post: (server) => {
        asked.push(server);
        return Promise.resolve(answers.shift()!);
      },
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    assert.deepEqual(r, { ok: true, reply: { ok: true, cluster: "edge", node: "lb1", token: "kam_t" } });
    assert.deepEqual(asked, ["http://a:1", "http://b:1", "http://a:1"]);
    assert.ok(slept[1] >= 5000, `the server's Retry-After is honoured: ${slept.join(",")}`);
    const refused = await enrol({
      servers: ["http://a:1"], code: CODE, node: "lb1", agentId: "6f1c2a52-4c1e-4a57-9a43-2b7d8f0e9c11", version: "t", ca: null, log: silentLogger(),
      post: () => Promise.resolve({ kind: "refused", code: "enrolment_expired", status: 410, message: "this enrolment code expired at X: make a new code" }),
    });
    assert.deepEqual(refused, { ok: false, message: "--enrol / KAM_ENROL_CODE: http://a:1 refused the enrolment code (enrolment_expired): this enrolment code expired at X: make a new code" });
  });

  it("keeps the token in the state directory, readable by the agent's user only", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-enrol-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = storeToken(path.join(dir, "state"), "kam_secret_token_value");
    assert.equal(file, path.join(dir, "state", "token"));
    assert.equal(fs.readFileSync(file, "utf8"), "kam_secret_token_value\n");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.join(dir, "state")), ["token"], "no temporary file left");
  });
});
