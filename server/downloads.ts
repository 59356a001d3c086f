/**
 * What the server hands to a node being installed (issue 14, "Add a node from the dashboard"), at stable URLs
 * (GET /downloads/:file, server/http/routes/downloads.ts): the agent bundle, the agent's .deb of this
 * version, the systemd unit with the installed paths, the install script, and SHA256SUMS over them (the
 * format of `sha256sum -c`). With I/O: reads dist/ and agent/ under the root. Each file's bytes and SHA-256
 * are computed on its first request and kept while the file's size and modification time stay the same (a
 * rebuilt bundle is hashed again).
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { installedUnit } from "../scripts/agent-unit.mjs";

export interface Download {
  name: string;
  bytes: Buffer;
  /** hex */
  sha256: string;
  contentType: string;
}

interface Source {
  contentType: string;
  file: (root: string, version: string) => string;
  /** what to do when the file is missing (the 404's message) */
  missing: (version: string) => string;
  /** the bytes served, from the file's */
  transform?: (bytes: Buffer) => Buffer;
}

const UNIT_HEADER = [
  "# systemd unit of the keepalived monitor agent, installed by the monitor server's install script",
  "# (GET /downloads/install.sh). Settings: /etc/default/keepalived-agent (KAM_SERVER, KAM_NODE,",
  "# KAM_ENROL_CODE until the node is enrolled), then `systemctl restart keepalived-agent`.",
  "# Local changes: `systemctl edit keepalived-agent` (a drop-in; a new install replaces this file).",
  "",
].join("\n");

const SOURCES: Record<string, Source> = {
  "keepalived-agent.cjs": {
    contentType: "application/javascript; charset=utf-8",
    file: (root) => path.join(root, "dist", "keepalived-agent.cjs"),
    missing: () => "the agent bundle is not built on this server: run `npm run build:agent` there (npm start builds it)",
  },
  "keepalived-agent.deb": {
    contentType: "application/vnd.debian.binary-package",
    file: (root, version) => path.join(root, "dist", `keepalived-agent_${version}_all.deb`),
    missing: (version) => `this server has no agent package of version ${version}: run \`npm run package:agent\` there`,
  },
  "keepalived-agent.service": {
    contentType: "text/plain; charset=utf-8",
    file: (root) => path.join(root, "agent", "keepalived-agent.service"),
    missing: () => "agent/keepalived-agent.service is missing from this server's installation",
    transform: (b) => Buffer.from(installedUnit(b.toString("utf8"), UNIT_HEADER), "utf8"),
  },
  "install.sh": {
    contentType: "text/x-shellscript; charset=utf-8",
    file: (root) => path.join(root, "agent", "install.sh"),
    missing: () => "agent/install.sh is missing from this server's installation",
  },
};

/** the files served, in SHA256SUMS order */
export const DOWNLOAD_NAMES = Object.keys(SOURCES);
export const SUMS_NAME = "SHA256SUMS";

export class DownloadMissing extends Error {}

export class Downloads {
  private readonly cache = new Map<string, { key: string; d: Download }>();

  constructor(
    private readonly root: string,
    private readonly version: string,
  ) {}

  /** one file (bytes and SHA-256), or DownloadMissing naming what to do; another name is a RangeError */
  async get(name: string): Promise<Download> {
    const src = SOURCES[name];
    if (!src) throw new RangeError(`no download ${name}`);
    const file = src.file(this.root, this.version);
    let st: Awaited<ReturnType<typeof fs.stat>>;
    try {
      st = await fs.stat(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new DownloadMissing(src.missing(this.version));
      throw e;
    }
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = this.cache.get(name);
    if (hit?.key === key) return hit.d;
    const raw = await fs.readFile(file);
    const bytes = src.transform ? src.transform(raw) : raw;
    const d = { name, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), contentType: src.contentType };
    this.cache.set(name, { key, d });
    return d;
  }

  /** SHA256SUMS: "<hex>  <name>" for every file this server has (a missing .deb is left out) */
  async sums(): Promise<Download> {
    const lines: string[] = [];
    for (const name of DOWNLOAD_NAMES) {
      try {
        lines.push(`${(await this.get(name)).sha256}  ${name}\n`);
      } catch (e) {
        if (!(e instanceof DownloadMissing)) throw e;
      }
    }
    const bytes = Buffer.from(lines.join(""), "utf8");
    return { name: SUMS_NAME, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), contentType: "text/plain; charset=utf-8" };
  }
}
