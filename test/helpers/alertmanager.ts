/**
 * A PRIVATE Prometheus Alertmanager for tests: its own process on 127.0.0.1
 * (a free port), a temporary storage directory, a config file written here
 * with one receiver that sends nothing, and clustering (gossip, which would
 * listen on 0.0.0.0:9094) off. stop() ends only that process and deletes only
 * its directory; a test process that exits without stop() still kills it.
 *
 * The binary: Debian's package `prometheus-alertmanager` installs
 * /usr/bin/prometheus-alertmanager; upstream's is `alertmanager`. When
 * neither is on the PATH, startAlertmanager() throws, saying how to install
 * it: the tests that need it fail, they are never skipped.
 */
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hasBinary } from "./bin";
import { freePort } from "./port";
import { sleep } from "./wait";

const BINARIES = ["prometheus-alertmanager", "alertmanager"];
export const ALERTMANAGER_INSTALL =
  "Alertmanager is not installed (neither prometheus-alertmanager nor alertmanager is on the PATH): " +
  "apt-get install -y prometheus-alertmanager (Debian; .ci/run installs it), or put Prometheus' alertmanager binary on the PATH";

/** an alert as GET /api/v2/alerts returns it (the fields the tests read) */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  fingerprint: string;
  status: { state: "active" | "suppressed" | "unprocessed"; silencedBy: string[]; inhibitedBy: string[] };
}

export interface TestAlertmanager {
  /** its base URL, what a webhook of format "alertmanager" is given */
  url: string;
  /**
   * the alerts it holds whose labels match (label=value, all of them). Alertmanager lists the unresolved
   * ones only: a resolved alert (endsAt in the past) is absent
   */
  alerts(match?: Record<string, string>): Promise<GettableAlert[]>;
  /** what it logged so far */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start one, ready (GET /-/ready answers 200). `resolveTimeout`: its global resolve_timeout, after which an
 * alert that was not sent again (and has no endsAt of its own) counts as resolved, e.g. "3s".
 */
export async function startAlertmanager(opts: { resolveTimeout: string }): Promise<TestAlertmanager> {
  const name = BINARIES.find((b) => hasBinary(b));
  if (!name) throw new Error(ALERTMANAGER_INSTALL);
  const bin = execFileSync("sh", ["-c", `command -v ${name}`]).toString().trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-test-alertmanager-"));
  const config = path.join(dir, "alertmanager.yml");
  fs.writeFileSync(
    config,
    [
      "global:",
      `  resolve_timeout: ${opts.resolveTimeout}`,
      "route:",
      '  receiver: "null"',
      "receivers:",
      '  - name: "null"',
      "",
    ].join("\n"),
  );
  let out = "";
  // the free port may be taken between finding and binding it: then the process exits at once, and another is tried
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      bin,
      [
        `--config.file=${config}`,
        `--storage.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const sink = (b: Buffer) => {
      out += b.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout!.on("data", sink);
    child.stderr!.on("data", sink);
    let exited = false;
    const gone = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
    child.once("error", (e) => ((out += `\n${e.message}`), (exited = true)));
    // the test process ending without stop() (a failed before(), a crash) does not leave it running
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const stopChild = async () => {
      process.removeListener("exit", killOnExit);
      if (exited) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(t);
    };
    const url = `http://127.0.0.1:${port}`;
    const end = Date.now() + 30_000;
    let ready = false;
    while (!exited && Date.now() < end) {
      ready = await fetch(`${url}/-/ready`).then(
        (r) => r.status === 200,
        () => false, // not listening yet
      );
      if (ready) break;
      await sleep(100);
    }
    if (!ready) {
      await stopChild();
      if (exited && attempt < 3) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`${bin} did not become ready on 127.0.0.1:${port}: ${out.trim().slice(-1500) || "no output"}`);
    }
    return {
      url,
      async alerts(match = {}) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(match)) q.append("filter", `${k}=${JSON.stringify(v)}`);
        const r = await fetch(`${url}/api/v2/alerts?${q}`);
        if (r.status !== 200) throw new Error(`GET /api/v2/alerts: HTTP ${r.status} ${await r.text()}`);
        return (await r.json()) as GettableAlert[];
      },
      output: () => out,
      async stop() {
        await stopChild();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
