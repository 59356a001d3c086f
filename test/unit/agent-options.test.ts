import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_JOURNAL_MATCHES, helpText, parseAgentOptions, parseBytes, type OptionsDeps } from "../../agent/options";

const TOKEN = "kam_0123456789abcdefghij";

function deps(files: Record<string, string> = {}): OptionsDeps {
  return {
    readFile: (f) => {
      if (!(f in files)) throw new Error(`ENOENT: no such file or directory, open '${f}'`);
      return files[f];
    },
    hostname: () => "lb-1.example",
  };
}

function ok(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const r = parseAgentOptions(argv, env, deps(files));
  assert.equal(r.kind, "ok", r.kind === "error" ? r.message : r.kind);
  return (r as Extract<typeof r, { kind: "ok" }>).options;
}

function err(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}): string {
  const r = parseAgentOptions(argv, env, deps(files));
  assert.equal(r.kind, "error");
  return (r as Extract<typeof r, { kind: "error" }>).message;
}

test("defaults fill everything not given", () => {
  const o = ok(["--server", "https://mon.example:3000/", "--token", TOKEN]);
  assert.deepEqual(o, {
    server: "https://mon.example:3000",
    servers: ["https://mon.example:3000"],
    token: TOKEN,
    tokenFrom: "token",
    enrolCode: null,
    node: "lb-1.example",
    stateDir: "/var/lib/keepalived-agent",
    source: "journal",
    logFile: null,
    journalMatch: DEFAULT_JOURNAL_MATCHES,
    journalctl: "journalctl",
    journalDirectory: null,
    keepalivedConf: "/etc/keepalived/keepalived.conf",
    netns: null,
    pidfile: null,
    watchProcesses: true,
    vrrpPidfile: null,
    ip: "ip",
    vipInterval: 10,
    heartbeatInterval: 5,
    dumpsInterval: 0,
    outboxMaxBytes: 64 * 1024 * 1024,
    ca: null,
    logLevel: "info",
  });
});

test("flags win over env, env over the config file, the file over defaults", () => {
  const files = { "/etc/kam.json": JSON.stringify({ server: "http://from-file:1", node: "file-node", "vip-interval": 30, heartbeatInterval: 7, "journal-match": ["_COMM=keepalived"] }) };
  const o = ok(["--config-file", "/etc/kam.json", "--node=flag-node", "--token", TOKEN], { KAM_NODE: "env-node", KAM_VIP_INTERVAL: "20" }, files);
  assert.equal(o.server, "http://from-file:1");
  assert.equal(o.node, "flag-node");
  assert.equal(o.vipInterval, 20);
  assert.equal(o.heartbeatInterval, 7);
  assert.deepEqual(o.journalMatch, ["_COMM=keepalived"]);
  const e = ok([], { KAM_SERVER: "http://s:1", KAM_TOKEN: TOKEN, KAM_JOURNAL_MATCH: "SYSLOG_FACILITY=17, _COMM=keepalived", KAM_OUTBOX_MAX_BYTES: "8MiB", KAM_KEEPALIVED_CONF: "none" });
  assert.deepEqual(e.journalMatch, ["SYSLOG_FACILITY=17", "_COMM=keepalived"]);
  assert.equal(e.outboxMaxBytes, 8 * 1024 * 1024);
  assert.equal(e.keepalivedConf, null, "`none` turns config snapshots off");
  const rep = ok(["--server", "http://s:1", "--token", TOKEN, "--journal-match", "SYSLOG_IDENTIFIER=a", "--journal-match", "SYSLOG_IDENTIFIER=b"]);
  assert.deepEqual(rep.journalMatch, ["SYSLOG_IDENTIFIER=a", "SYSLOG_IDENTIFIER=b"], "repeatable");
  const pf = { "/etc/kam.json": JSON.stringify({ pidfile: "/run/ka/keepalived.pid", "vrrp-pidfile": "/run/ka/vrrp.pid" }) };
  const p = ok(["--server", "http://s:1", "--token", TOKEN, "--config-file", "/etc/kam.json"], {}, pf);
  assert.deepEqual([p.pidfile, p.vrrpPidfile], ["/run/ka/keepalived.pid", "/run/ka/vrrp.pid"], "pidfiles from the config file");
  const pe = ok(["--server", "http://s:1", "--token", TOKEN, "--config-file", "/etc/kam.json", "--pidfile", "/x.pid"], { KAM_VRRP_PIDFILE: "/y.pid" }, pf);
  assert.deepEqual([pe.pidfile, pe.vrrpPidfile], ["/x.pid", "/y.pid"], "flag and env win over the file");
  const off = ok(["--server", "http://s:1", "--token", TOKEN, "--pidfile", "none"]);
  assert.deepEqual([off.pidfile, off.watchProcesses], [null, false], "`none` turns the watch off");
});

test("the token comes from --token-file when --token is absent; it is never echoed in errors", () => {
  assert.equal(ok(["--server", "http://s:1", "--token-file", "/run/tok"], {}, { "/run/tok": `${TOKEN}\n` }).token, TOKEN);
  const m = err(["--server", "http://s:1", "--token", "short secret"]);
  assert.match(m, /--token \/ KAM_TOKEN: not a valid token/);
  assert.ok(!m.includes("short secret"));
  assert.match(err(["--server", "http://s:1", "--token-file", "/nope"]), /--token-file \/ KAM_TOKEN_FILE: cannot read \/nope/);
});

test("bad values name the flag and env var and say why", () => {
  const base = ["--server", "http://s:1", "--token", TOKEN];
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[...base, "--source", "syslog"], {}, /--source \/ KAM_SOURCE: must be journal or file \(got "syslog"\)/],
    [[...base, "--source", "file"], {}, /--log-file \/ KAM_LOG_FILE: required with --source file/],
    [[...base], { KAM_HEARTBEAT_INTERVAL: "0" }, /--heartbeat-interval \/ KAM_HEARTBEAT_INTERVAL: .*(>=|at least|too small)/i],
    [[...base, "--vip-interval", "1.5"], {}, /--vip-interval \/ KAM_VIP_INTERVAL: must be a whole number/],
    [[...base, "--outbox-max-bytes", "lots"], {}, /--outbox-max-bytes \/ KAM_OUTBOX_MAX_BYTES: must be a size/],
    [[...base, "--outbox-max-bytes", "1K"], {}, /--outbox-max-bytes \/ KAM_OUTBOX_MAX_BYTES: must be at least 1MiB/],
    [[...base, "--node", "bad name"], {}, /--node \/ KAM_NODE: use letters, digits/],
    [[...base, "--journal-match", "keepalived"], {}, /--journal-match \/ KAM_JOURNAL_MATCH: each match must be FIELD=VALUE/],
    [[...base, "--log-level", "loud"], {}, /--log-level \/ KAM_LOG_LEVEL: must be one of/],
    [[...base, "--netns", "a/b"], {}, /--netns \/ KAM_NETNS/],
    [["--token", TOKEN], {}, /--server \/ KAM_SERVER: required/],
    [["--server", "mon:3000", "--token", TOKEN], {}, /--server \/ KAM_SERVER: must be an http:\/\/ or https:\/\/ URL/],
    [[...base, "--bogus", "1"], {}, /unknown option --bogus/],
    [[...base, "--node"], {}, /--node needs a value/],
    [[...base, "stray"], {}, /unexpected argument "stray"/],
  ];
  for (const [argv, env, want] of cases) assert.match(err(argv, env), want);
  assert.match(err([...base, "--config-file", "/c.json"], {}, { "/c.json": '{"sever": "x"}' }), /unknown setting "sever"/);
  assert.match(err([...base, "--config-file", "/c.json"], {}, { "/c.json": "{nope" }), /--config-file \/ KAM_CONFIG_FILE: cannot read \/c\.json/);
  assert.match(err([...base, "--config-file", "/c.json"], {}, { "/c.json": '{"vip-interval": "x"}' }), /--vip-interval/);
  // several problems are reported together
  const many = err(["--source", "x", "--vip-interval", "0"]);
  assert.ok(many.includes("--source") && many.includes("--vip-interval") && many.includes("--server") && many.includes("--token"));
});

test("--help lists every option with its env var and default; sizes parse with units", () => {
  assert.equal(parseAgentOptions(["--help"], {}, deps()).kind, "help");
  const h = helpText();
  for (const s of ["--server URL", "KAM_SERVER", "--state-dir DIR", "default: /var/lib/keepalived-agent", "--journal-directory", "KAM_OUTBOX_MAX_BYTES; default: 64MiB", "_COMM=keepalived", "_UID=0", "cannot forge"]) {
    assert.ok(h.includes(s), `help mentions ${s}`);
  }
  assert.equal(parseBytes("64MiB"), 64 * 1024 * 1024);
  assert.equal(parseBytes("10M"), 10 * 1024 * 1024);
  assert.equal(parseBytes("1.5G"), 1.5 * 1024 ** 3);
  assert.equal(parseBytes("4096"), 4096);
  assert.ok(Number.isNaN(parseBytes("-1")));
});

test("--server takes several replicas, comma-separated, in order and without repeats; a bad one is named", () => {
  const o = ok(["--server", "https://a.example:3000/,https://b.example:3000,https://a.example:3000", "--token", TOKEN]);
  assert.equal(o.server, "https://a.example:3000");
  assert.deepEqual(o.servers, ["https://a.example:3000", "https://b.example:3000"]);
  assert.deepEqual(ok(["--token", TOKEN], { KAM_SERVER: "http://127.0.0.1:3000,http://127.0.0.1:3001" }).servers, ["http://127.0.0.1:3000", "http://127.0.0.1:3001"]);
  assert.match(err(["--server", "https://a.example, https://b.example", "--token", TOKEN]), /--server \/ KAM_SERVER: must be an http:\/\/ or https:\/\/ URL, or several separated by commas/);
  assert.match(err(["--server", "https://a.example,ftp://b", "--token", TOKEN]), /--server \/ KAM_SERVER: must be/);
});
