#!/usr/bin/env node
// `npm run package:agent`: builds the agent bundle and packs it as a Debian package,
// dist/keepalived-agent_<version>_all.deb (plus its .sha256 in sha256sum format), with Debian's own tool,
// `dpkg-deb --build --root-owner-group` (issue 14). The package holds:
//   /usr/lib/keepalived-agent/keepalived-agent.cjs   the bundle (node 18+, no node_modules)
//   /usr/bin/kam-agent                               launcher (sh: exec /usr/bin/node BUNDLE "$@")
//   /lib/systemd/system/keepalived-agent.service     agent/keepalived-agent.service with the package's paths
//   /etc/default/keepalived-agent                    conffile: the settings, commented
//   DEBIAN/{control,conffiles,md5sums,postinst,prerm,postrm}
// Reproducible: every mtime is SOURCE_DATE_EPOCH (default: the last commit's time), every mode is set here (not
// left to the umask), dpkg-deb sorts the members and clamps its own timestamps to SOURCE_DATE_EPOCH; two builds
// of one commit give the same bytes (test/integration/agent-package.test.ts).
// Maintainer scripts are POSIX sh and idempotent; they live in deploy/debian/.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { INSTALLED_BUNDLE, installedUnit } from "./agent-unit.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const NAME = "keepalived-agent";
const debName = `${NAME}_${version}_all.deb`;

function fail(message) {
  console.error(`package:agent: ${message}`);
  process.exit(1);
}

if (spawnSync("dpkg-deb", ["--version"], { stdio: "ignore" }).status !== 0) {
  fail("dpkg-deb not found: install Debian's `dpkg` package (apt-get install dpkg), or build on a Debian/Ubuntu machine");
}

function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) {
    if (!/^\d+$/.test(process.env.SOURCE_DATE_EPOCH)) fail(`SOURCE_DATE_EPOCH must be seconds since 1970 (got "${process.env.SOURCE_DATE_EPOCH}")`);
    return Number(process.env.SOURCE_DATE_EPOCH);
  }
  const git = spawnSync("git", ["log", "-1", "--format=%ct"], { cwd: root, encoding: "utf8" });
  if (git.status === 0 && /^\d+\s*$/.test(git.stdout)) return Number(git.stdout.trim());
  fail("set SOURCE_DATE_EPOCH (no git history to take the last commit's time from)");
}
const epoch = sourceDateEpoch();

// 1. the bundle, built now so that it carries this version
const build = spawnSync(process.execPath, [path.join(root, "agent", "build.mjs")], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
if (build.status !== 0) fail("the agent bundle did not build (npm run build:agent)");
const bundle = fs.readFileSync(path.join(dist, "keepalived-agent.cjs"));

// 2. the unit, from agent/keepalived-agent.service: the package's paths instead of the hand-install ones
function packagedUnit() {
  const header = [
    "# systemd unit of the keepalived monitor agent, installed by the keepalived-agent package.",
    "# Settings: /etc/default/keepalived-agent (KAM_SERVER, KAM_TOKEN_FILE, ...), then",
    "#   systemctl restart keepalived-agent",
    "# Local changes: `systemctl edit keepalived-agent` (a drop-in; this file is replaced on upgrade).",
    "# `kam-agent --help` lists every setting.",
    "",
  ].join("\n");
  try {
    return installedUnit(fs.readFileSync(path.join(root, "agent", "keepalived-agent.service"), "utf8"), header);
  } catch (e) {
    fail(e.message);
  }
}

// Debian's usual variables (dch, dh_make) name the maintainer of a build; a placeholder otherwise (lintian: bogus-mail-host)
const maintainer = `${process.env.DEBFULLNAME || "keepalived-monitor maintainers"} <${process.env.DEBEMAIL || "keepalived-monitor@localhost"}>`;
// Debian's changelog of a native package, one entry for this version (the project's history is git's); gzip
// from node's zlib writes no name and no time into the header, so it is reproducible as it is
function changelog() {
  const date = new Date(epoch * 1000).toUTCString().replace(/^(\w{3}), (\d{2}) (\w{3}) (\d{4}) (\S+) GMT$/, "$1, $2 $3 $4 $5 +0000");
  return `${NAME} (${version}) unstable; urgency=medium\n\n  * keepalived-monitor ${version}: the agent (see the project's git history).\n\n -- ${maintainer}  ${date}\n`;
}

// 3. the tree
const stage = fs.mkdtempSync(path.join(dist, `.${NAME}-pkg-`));
const tree = path.join(stage, "root");
const files = []; // [relative path, mode]
function put(rel, content, mode) {
  const file = path.join(tree, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  files.push(rel);
}
const deploy = path.join(root, "deploy", "debian");
try {
  // 0755: the bundle has a shebang line (`#!/usr/bin/env node`) and runs alone too
  put(INSTALLED_BUNDLE.slice(1), bundle, 0o755);
  put("usr/bin/kam-agent", '#!/bin/sh\n# keepalived monitor agent (package keepalived-agent); settings: kam-agent --help\nexec /usr/bin/node /usr/lib/keepalived-agent/keepalived-agent.cjs "$@"\n', 0o755);
  put("lib/systemd/system/keepalived-agent.service", packagedUnit(), 0o644);
  put("etc/default/keepalived-agent", fs.readFileSync(path.join(deploy, "default")), 0o644);

  put(`usr/share/doc/${NAME}/changelog.gz`, gzipSync(changelog(), { level: 9 }), 0o644);

  const installedKiB = files.reduce((n, rel) => n + Math.ceil(fs.statSync(path.join(tree, rel)).size / 1024), 0);
  const control = [
    `Package: ${NAME}`,
    `Version: ${version}`,
    "Architecture: all",
    `Maintainer: ${maintainer}`,
    `Installed-Size: ${installedKiB}`,
    // nodejs 18 is what the bundle targets (agent/build.mjs: target node18) and what Debian 12 and Ubuntu 24.04
    // ship; adduser makes the system user in postinst, init-system-helpers has deb-systemd-helper/-invoke
    "Depends: nodejs (>= 18), adduser, init-system-helpers (>= 1.54~)",
    "Recommends: iproute2, systemd",
    "Suggests: acl, keepalived",
    "Section: net",
    "Priority: optional",
    "Description: keepalived monitor agent",
    " Streams keepalived's log lines (journal or file), its VRRP addresses and its",
    " configuration from this node to a keepalived monitor server over socket.io,",
    " with a durable on-disk outbox while the server is unreachable.",
    " .",
    " Runs as the unprivileged system user keepalived-agent under a hardened",
    " systemd unit; configure it in /etc/default/keepalived-agent.",
    "",
  ].join("\n");
  put("DEBIAN/control", control, 0o644);
  put("DEBIAN/conffiles", "/etc/default/keepalived-agent\n", 0o644);
  const payload = files.filter((f) => !f.startsWith("DEBIAN/")).sort();
  const md5 = (rel) => createHash("md5").update(fs.readFileSync(path.join(tree, rel))).digest("hex");
  put("DEBIAN/md5sums", payload.map((rel) => `${md5(rel)}  ${rel}\n`).join(""), 0o644);
  for (const script of ["postinst", "prerm", "postrm"]) put(`DEBIAN/${script}`, fs.readFileSync(path.join(deploy, script)), 0o755);

  // every directory 0755 and every mtime the epoch: nothing from the umask or the clock gets into the package
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        fs.chmodSync(p, 0o755);
        walk(p);
      }
      fs.utimesSync(p, epoch, epoch);
    }
  };
  fs.chmodSync(tree, 0o755);
  walk(tree);
  fs.utimesSync(tree, epoch, epoch);

  const out = path.join(dist, debName);
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", tree, tmp], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  fs.renameSync(tmp, out);
  const sum = createHash("sha256").update(fs.readFileSync(out)).digest("hex");
  fs.writeFileSync(`${out}.sha256`, `${sum}  ${debName}\n`);
  console.log(`built dist/${debName}: ${(fs.statSync(out).size / 1024).toFixed(1)} KiB, sha256 ${sum} (dist/${debName}.sha256)`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
