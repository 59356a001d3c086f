import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  closest, EXIT, ID_ARG, invokedAs, parseCommandLine, report, runCli, UsageError, type CliIo, type CliSpec, type CommandSpec, type ParseResult,
} from "../../server/cli/args";
import { ConfigError, configWarnings, loadServerConfig, SERVER_CLI } from "../../server/config";
import { ROOT } from "../../server/paths";

const SPEC: CliSpec = {
  name: "demo",
  invoke: "demo",
  summary: "demo: a CLI to test the parser.",
  commands: [
    {
      name: "webhook add",
      help: "add a webhook",
      flags: {
        cluster: { type: "string", arg: "NAME", required: true, help: "the cluster" },
        url: { type: "string", arg: "URL", help: "where to POST", check: z.string().regex(/^https?:\/\//, "must be an http:// or https:// URL") },
        quiet: { type: "boolean", help: "say nothing" },
      },
    },
    { name: "webhook list", help: "list webhooks" },
    { name: "webhook remove", help: "remove one", args: [ID_ARG] },
    { name: "settings set", help: "set settings", args: [{ name: "KEY=VALUE", variadic: true }] },
    {
      name: "session revoke", help: "end sessions", args: [{ ...ID_ARG, optional: true }],
      flags: { user: { type: "string", arg: "NAME", help: "every session of this user" } },
      check: (a) => ((a.positionals[0] === undefined) === (a.string("user") === undefined) ? "session revoke needs an ID or --user NAME" : null),
    },
  ],
};

function ok(argv: string[]) {
  const r = parseCommandLine(SPEC, argv);
  assert.equal(r.kind, "ok", r.kind === "error" ? r.message : r.kind);
  return r as Extract<ParseResult<CommandSpec>, { kind: "ok" }>;
}

function err(argv: string[]): { message: string; usage: string } {
  const r = parseCommandLine(SPEC, argv);
  assert.equal(r.kind, "error", JSON.stringify(r));
  return r as Extract<ParseResult<CommandSpec>, { kind: "error" }>;
}

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe("command-line parser (server/cli/args.ts)", () => {
  it("finds a command of two words and reads --flag value, --flag=value and booleans", () => {
    const r = ok(["webhook", "add", "--cluster", "shop", "--url=https://x.example/h", "--quiet"]);
    assert.equal(r.command.name, "webhook add");
    assert.equal(r.args.need("cluster"), "shop");
    assert.equal(r.args.string("url"), "https://x.example/h");
    assert.equal(r.args.flag("quiet"), true);
    assert.equal(ok(["webhook", "add", "--cluster=a=b"]).args.string("cluster"), "a=b", "only the first = splits");
    assert.equal(ok(["webhook", "add", "--cluster", "shop"]).args.flag("quiet"), false);
  });

  it("refuses an unknown flag, naming it, with a hint when a known flag is close", () => {
    const e = err(["webhook", "add", "--clustr", "shop"]);
    assert.match(e.message, /^unknown option --clustr for "webhook add"; did you mean --cluster\?$/);
    assert.match(e.usage, /usage: demo webhook add --cluster NAME \[--url URL\] \[--quiet\]/);
    assert.equal(err(["webhook", "add", "--cluster", "x", "--zzz"]).message, 'unknown option --zzz for "webhook add"', "no hint when nothing is close");
    assert.match(err(["webhook", "list", "-x"]).message, /^unknown option -x for "webhook list"/);
  });

  it("refuses a misspelt or unknown command with a hint and the usage of that level", () => {
    const first = err(["webhok", "add"]);
    assert.equal(first.message, 'unknown command "webhok"; did you mean "webhook"?');
    assert.match(first.usage, /demo webhook add .*\n.*\n\s+demo webhook list/);
    const second = err(["webhook", "ad", "--cluster", "x"]);
    assert.equal(second.message, 'unknown command "webhook ad"; did you mean "webhook add"?');
    assert.doesNotMatch(second.usage, /settings/, "the usage of the webhook commands only");
    assert.equal(err(["frobnicate"]).message, 'unknown command "frobnicate"');
    assert.equal(err([]).message, "missing command (one of: webhook, settings, session)");
    assert.equal(err(["webhook"]).message, '"webhook" needs one of: add, list, remove');
  });

  it("says which flag lacks its value: at the end, or followed by another flag", () => {
    assert.equal(err(["webhook", "add", "--cluster"]).message, "--cluster needs a value (NAME)");
    assert.equal(err(["webhook", "add", "--cluster", "--quiet"]).message, "--cluster needs a value (NAME)");
    assert.equal(err(["webhook", "add", "--cluster", "x", "--quiet=yes"]).message, "--quiet takes no value");
    assert.equal(err(["webhook", "add"]).message, "webhook add needs --cluster NAME");
  });

  it("checks values with the spec's zod check, naming the flag or argument and the value", () => {
    assert.equal(err(["webhook", "add", "--cluster", "x", "--url", "ftp://x"]).message, '--url: must be an http:// or https:// URL (got "ftp://x")');
    assert.match(err(["webhook", "remove", "abc"]).message, /^ID: must be a positive whole number .*\(got "abc"\)$/);
  });

  it("runs the command's own check across flags and arguments before anything runs", () => {
    assert.equal(ok(["session", "revoke", "4"]).args.positionals[0], "4");
    assert.equal(err(["session", "revoke"]).message, "session revoke needs an ID or --user NAME");
    assert.equal(err(["session", "revoke", "4", "--user", "bob"]).message, "session revoke needs an ID or --user NAME");
  });

  it("takes positional arguments as declared: required, optional, variadic, and no more", () => {
    assert.deepEqual(ok(["webhook", "remove", "7"]).args.positionals, ["7"]);
    assert.equal(err(["webhook", "remove"]).message, "webhook remove needs ID");
    assert.equal(err(["webhook", "remove", "7", "8"]).message, 'unexpected argument "8": webhook remove takes ID');
    assert.equal(err(["webhook", "list", "extra"]).message, 'unexpected argument "extra": webhook list takes none');
    assert.deepEqual(ok(["settings", "set", "a=1", "b=2"]).args.positionals, ["a=1", "b=2"]);
    assert.equal(err(["settings", "set"]).message, "settings set needs KEY=VALUE...");
    assert.deepEqual(ok(["session", "revoke", "--user", "bob"]).args.positionals, []);
    assert.deepEqual(ok(["webhook", "remove", "--", "7"]).args.positionals, ["7"], "-- ends the options");
  });

  it("--help and -h print the usage (to stdout, exit 0), for the program, a group or one command, whatever else is on the line", () => {
    for (const argv of [["--help"], ["-h"], ["webhook", "add", "--bogus", "--help"]]) assert.equal(parseCommandLine(SPEC, argv).kind, "help", argv.join(" "));
    const all = parseCommandLine(SPEC, ["--help"]);
    assert.ok(all.kind === "help");
    assert.match(all.text, /^demo: a CLI to test the parser\.\n\nusage:\n {2}demo webhook add --cluster NAME/);
    assert.match(all.text, /demo settings set KEY=VALUE\.\.\./);
    assert.match(all.text, /exit status: 0 done, 1 failed .*, 2 usage error/);
    const group = parseCommandLine(SPEC, ["webhook", "--help"]);
    assert.ok(group.kind === "help" && /webhook remove ID/.test(group.text) && !/settings/.test(group.text));
    const one = parseCommandLine(SPEC, ["webhook", "add", "-h"]);
    assert.ok(one.kind === "help");
    assert.match(one.text, /usage: demo webhook add --cluster NAME .*\n[\s\S]*--cluster NAME {3}\(required\)\n {6}the cluster\n/);
    const io = capture();
    assert.equal(report(SPEC, all, io), EXIT.ok);
    assert.deepEqual([io.stdout.length, io.stderr.length], [1, 0]);
  });

  it("--version prints the package.json version to stdout and exits 0", () => {
    const r = parseCommandLine(SPEC, ["webhook", "list", "--version"]);
    assert.equal(r.kind, "version");
    const io = capture();
    assert.equal(report(SPEC, r as Exclude<typeof r, { kind: "ok" }>, io), EXIT.ok);
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.deepEqual(io.stdout, [version]);
  });

  it("a usage error goes to stderr, prefixed with the program's name, with exit code 2", () => {
    const r = parseCommandLine(SPEC, ["webhok"]);
    const io = capture();
    assert.equal(report(SPEC, r as Exclude<typeof r, { kind: "ok" }>, io), EXIT.usage);
    assert.equal(io.stdout.length, 0);
    assert.match(io.stderr[0], /^demo: unknown command "webhok"; did you mean "webhook"\?\nusage:/);
  });

  it("runCli: the command's exit code, 2 for a UsageError (with the command's usage), 1 for any other error (its message)", async () => {
    const run = (argv: string[], fn: () => Promise<number | void>) => {
      const io = capture();
      return runCli(SPEC, argv, fn, io).then((code) => ({ code, ...io }));
    };
    assert.equal((await run(["webhook", "list"], async () => undefined)).code, 0);
    assert.equal((await run(["webhook", "list"], async () => EXIT.failure)).code, 1);
    const usage = await run(["webhook", "remove", "3"], () => Promise.reject(new UsageError("no such thing")));
    assert.equal(usage.code, 2);
    assert.match(usage.stderr[0], /^demo: no such thing\nusage: demo webhook remove ID\n\(demo webhook remove --help for details\)$/);
    const failed = await run(["webhook", "list"], () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:1")));
    assert.deepEqual([failed.code, failed.stderr], [1, ["demo: connect ECONNREFUSED 127.0.0.1:1"]]);
    let ran = false;
    assert.equal((await run(["webhok"], async () => void (ran = true))).code, 2);
    assert.equal(ran, false, "nothing runs after a usage error");
  });

  it("suggests the closest known word: one edit or a swap, two from five letters, or the only one it begins", () => {
    assert.equal(closest("prot", ["port", "host"]), "port");
    assert.equal(closest("clustr", ["cluster", "url"]), "cluster");
    assert.equal(closest("lables", ["label", "url"]), "label");
    assert.equal(closest("retain-log", ["retain-log-days", "retain-vip-days"]), "retain-log-days");
    assert.equal(closest("xyz", ["port", "host"]), undefined);
    assert.equal(closest("re", ["revoke", "remove"]), undefined, "ambiguous");
  });
});

describe("invokedAs: the usage names the command run", () => {
  it("an installed command (bin/kam-*.mjs, or npm's link without .mjs) by its name; anything else by the npm run form", () => {
    assert.equal(invokedAs("npm run admin --", "/usr/local/bin/kam-admin"), "kam-admin");
    assert.equal(invokedAs("npm start --", "/opt/keepalived-monitor/bin/kam-server.mjs"), "kam-server");
    assert.equal(invokedAs("npm run token --", "/srv/app/server/cli/token.ts"), "npm run token --");
    assert.equal(invokedAs("npm start --", "/srv/app/scripts/start.mjs"), "npm start --");
    assert.equal(invokedAs("npm run admin --", "/usr/bin/kam-admins"), "npm run admin --");
    assert.equal(invokedAs("npm run admin --", undefined), "npm run admin --");
  });
});

describe("the server's command line (loadServerConfig)", () => {
  it("refuses an unknown flag with a ConfigError naming it (main.ts exits 2), with a hint", () => {
    assert.throws(() => loadServerConfig(["--prot", "4000"], {}), (e: Error) => e instanceof ConfigError && /unknown option --prot; did you mean --port\?/.test(e.message));
    assert.throws(() => loadServerConfig(["--port"], {}), (e: Error) => e instanceof ConfigError && /--port needs a value/.test(e.message));
    assert.throws(() => loadServerConfig(["start"], {}), (e: Error) => e instanceof ConfigError && /unexpected argument "start"/.test(e.message));
    assert.throws(() => configWarnings(["--hots", "::1"], {}), (e: Error) => e instanceof ConfigError && /--hots; did you mean --host\?/.test(e.message));
  });

  it("takes every flag the code base passes to server/main.ts, in both forms", () => {
    // test/helpers/server.ts: --port N --host 127.0.0.1; npm run dev: --dev; --x=y as anyone may write it
    const c = loadServerConfig(["--port", "0", "--host", "127.0.0.1", "--dev", "--log-level=warn", "--data-dir=/srv/kam"], {});
    assert.deepEqual([c.port, c.host, c.dev, c.logLevel, c.dataDir], [0, "127.0.0.1", true, "warn", "/srv/kam"]);
    assert.equal(loadServerConfig([], {}).dev, false);
  });

  it("knows every flag of README's server configuration table, and --help lists each with its variable", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration (server)"), readme.indexOf("## TLS"));
    const flags = [...section.matchAll(/^\| `--([a-z0-9-]+)` \| `([A-Z0-9_]+)` \|/gm)].map((m) => [m[1], m[2]]);
    assert.ok(flags.length >= 30, `README table read (${flags.length} rows)`);
    const help = parseCommandLine(SERVER_CLI, ["--help"]);
    assert.ok(help.kind === "help");
    for (const [flag, env] of flags) {
      assert.equal(parseCommandLine(SERVER_CLI, [`--${flag}`, "x"]).kind, "ok", flag);
      assert.match(help.text, new RegExp(`--${flag} [^\\n]*\\n[^\\n]*\\n {6}env ${env}[;\\n]`), flag);
    }
  });
});
