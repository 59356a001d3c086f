/**
 * keepalived-agent: the collector that runs on every keepalived node.
 * Wires options -> state dir (agent id, lock) -> outbox -> sources (journal or
 * file, VIPs, config) -> socket.io client. Decides nothing: the server does.
 * Logs are pino JSON on stderr. SIGTERM/SIGINT: stop the sources, flush the
 * outbox (positions ride with it), close the socket, exit 0.
 */
import fs from "node:fs";
import os from "node:os";
import v8 from "node:v8";
import { AgentClient, plainHttpWarning } from "./client";
import { ConfigWatcher } from "./config-watch";
import { Dumps } from "./dumps";
import { enrol, storeToken } from "./enrol";
import { createAgentLogger } from "./log";
import { parseAgentOptions, type AgentOptions } from "./options";
import { ProcessWatch } from "./process-watch";
import { Outbox, type NewRecord, type Position } from "./outbox";
import { FileSource, FILE_POSITION_KEY, type FilePosition } from "./sources/file";
import { JournalSource, JOURNAL_POSITION_KEY } from "./sources/journal";
import { loadAgentId, lockStateDir } from "./state";
import { VipProbe } from "./vips";

declare const __AGENT_VERSION__: string | undefined;
export const AGENT_VERSION = typeof __AGENT_VERSION__ === "string" ? __AGENT_VERSION__ : "dev";

function fail(message: string, code = 2): never {
  process.stderr.write(`keepalived-agent: ${message}\n`);
  process.exit(code);
}

function isFilePosition(v: unknown): v is FilePosition {
  const p = v as FilePosition | null;
  return !!p && typeof p.inode === "string" && Number.isSafeInteger(p.offset) && typeof p.at === "number";
}

async function run(opts: AgentOptions): Promise<void> {
  const log = createAgentLogger(opts.logLevel).child({ node: opts.node });
  const stateProblem: (e: unknown) => never = (e) => fail(`--state-dir / KAM_STATE_DIR: cannot use ${opts.stateDir}: ${(e as Error).message}`);
  let lock: { release: () => void };
  let agentId = "";
  try {
    const l = lockStateDir(opts.stateDir);
    if ("error" in l) fail(l.error);
    lock = l;
    agentId = loadAgentId(opts.stateDir);
  } catch (e) {
    stateProblem(e);
  }
  let ca: string | null = null;
  if (opts.ca) {
    try {
      ca = fs.readFileSync(opts.ca, "utf8");
    } catch (e) {
      fail(`--ca / KAM_CA: cannot read ${opts.ca}: ${(e as Error).message}`);
    }
  }
  let token = opts.token;
  if (token === null) {
    // first start of a node added from the dashboard: the one-time code for this node's token (agent/enrol.ts)
    log.info({ server: opts.servers.join(",") }, "no agent token yet: exchanging the enrolment code (--enrol / KAM_ENROL_CODE)");
    const r = await enrol({ servers: opts.servers, code: opts.enrolCode!, node: opts.node, agentId, version: AGENT_VERSION, ca, log: log.child({ part: "enrol" }) });
    if (!r.ok) {
      log.error(r.message);
      lock!.release();
      fail(r.message);
    }
    let file = "";
    try {
      file = storeToken(opts.stateDir, r.reply.token);
    } catch (e) {
      const message = `--state-dir / KAM_STATE_DIR: the server issued this node's token but it cannot be stored in ${opts.stateDir}: ${(e as Error).message}; ` +
        "the code is used up: fix the directory, revoke the new token in the dashboard (Admin, Agent tokens) and make a new code";
      log.error(message);
      fail(message, 1);
    }
    token = r.reply.token;
    log.info({ cluster: r.reply.cluster, file }, "enrolled: this node's agent token is stored in the state directory (mode 0600); the enrolment code is used up and no longer needed");
  } else if (opts.enrolCode && opts.tokenFrom === "state-dir") {
    log.info("enrolled before: using the agent token stored in the state directory (KAM_ENROL_CODE is no longer needed)");
  }
  let outbox: Outbox;
  try {
    outbox = new Outbox({ dir: opts.stateDir, maxBytes: opts.outboxMaxBytes, log: log.child({ part: "outbox" }) });
  } catch (e) {
    stateProblem(e);
  }
  // keepalived liveness (agent/process-watch.ts): it reads the log lines the source produces for "Stopping"
  const procWatch = opts.watchProcesses ? new ProcessWatch({
    pidfile: opts.pidfile,
    vrrpPidfile: opts.vrrpPidfile,
    netns: opts.netns,
    log: log.child({ part: "process" }),
    emit: (rec) => void outbox.append(rec),
  }) : null;
  const append = (rec: NewRecord, pos?: Position) => {
    if (rec.kind === "log") procWatch?.noteLine(rec.line, rec.source === "journal" ? rec.ts : undefined);
    void outbox.append(rec, pos);
  };

  const source =
    opts.source === "journal"
      ? new JournalSource({
          journalctl: opts.journalctl,
          matches: opts.journalMatch,
          directory: opts.journalDirectory,
          cursor: (outbox.position(JOURNAL_POSITION_KEY) as string | undefined) ?? null,
          log: log.child({ part: "journal" }),
          emit: append,
          room: () => outbox.hasRoom(),
        })
      : new FileSource({
          file: opts.logFile!,
          start: isFilePosition(outbox.position(FILE_POSITION_KEY)) ? (outbox.position(FILE_POSITION_KEY) as FilePosition) : null,
          log: log.child({ part: "file" }),
          emit: append,
          room: () => outbox.hasRoom(),
        });
  // backpressure: the log source reads only while the outbox has room, and goes on when it has again
  outbox.on("room", () => source.resume());
  const vips = new VipProbe({ ip: opts.ip, netns: opts.netns, intervalMs: opts.vipInterval * 1000, log: log.child({ part: "vips" }), emit: append });
  const conf = opts.keepalivedConf
    ? new ConfigWatcher({
        file: opts.keepalivedConf,
        log: log.child({ part: "config" }),
        lastHash: (outbox.position("config") as string | undefined) ?? null,
        emit: append,
      })
    : null;

  // keepalived's data and stats dumps (agent/dumps.ts): only with --dumps-interval, and only for the keepalived the process watch knows
  let client: AgentClient | null = null;
  const dumps = opts.dumpsInterval > 0 && procWatch ? new Dumps({
    intervalMs: opts.dumpsInterval * 1000,
    pid: () => procWatch.pid(),
    accepts: () => client?.accepts("dumps") ?? null,
    log: log.child({ part: "dumps" }),
    emit: (rec) => void outbox.append(rec),
  }) : null;
  if (opts.dumpsInterval > 0 && !procWatch) log.warn("--dumps-interval / KAM_DUMPS_INTERVAL needs the process watch (--pidfile none turns it off): no dumps");

  const sources = (): Record<string, string> => {
    const s: Record<string, string> = { [opts.source]: source.status(), vips: vips.status() };
    if (conf) s.config = conf.status();
    if (procWatch) s.process = procWatch.status();
    if (dumps) s.dumps = dumps.status();
    const st = outbox.stats;
    s.outbox = st.droppedRecords || st.writeErrors ? `dropped ${st.droppedRecords} record(s) (outbox full), ${st.writeErrors} write error(s)` : "ok";
    return s;
  };
  client = new AgentClient({
    server: opts.server,
    servers: opts.servers,
    hello: {
      token, agentId, node: opts.node, hostname: os.hostname().slice(0, 255), version: AGENT_VERSION,
      utcOffsetMinutes: -new Date().getTimezoneOffset(),
    },
    ca,
    outbox,
    log: log.child({ part: "client" }),
    heartbeatMs: opts.heartbeatInterval * 1000,
    sources,
    onResync: () => {
      void vips.probe(true);
      conf?.check(true);
      procWatch?.report();
    },
  });

  log.info({ agentId, version: AGENT_VERSION, server: opts.servers.join(","), source: opts.source, stateDir: opts.stateDir }, "keepalived-agent starting");
  for (const server of opts.servers) {
    const plain = plainHttpWarning(server);
    if (plain) log.warn({ server }, plain);
  }
  source.start();
  vips.start();
  conf?.start();
  procWatch?.start();
  dumps?.start();
  client.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, 10_000);
    force.unref();
    try {
      await source.stop();
      await vips.stop();
      conf?.stop();
      procWatch?.stop();
      dumps?.stop();
      await outbox.flush();
      await client.stop();
      await outbox.close();
    } catch (e) {
      log.error({ err: (e as Error).message }, "error while shutting down");
    }
    lock.release();
    log.info({ depth: outbox.depth() }, "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("unhandledRejection", (e) => log.error({ err: String(e) }, "unhandled rejection"));
}

/**
 * The idle agent allocates about 10 KB/s (its 1 s tick, heartbeats, the VIP probe), and V8 collects its young
 * generation when that is 80 % full: with the unit's 1 MiB semi-space (--max-semi-space-size=1) the idle RSS crept
 * by about 0.9 MiB over the 100 s between two collections. At 10 % one collection runs every 15 s or so (0.3 ms
 * each) and the creep stays within 0.2 MiB (docs/PERFORMANCE.md, issue 17). A busy agent fills the young
 * generation before the task runs and is collected as before. V8 reads this option at each young-generation
 * allocation step, so it applies when set here; NODE_OPTIONS does not accept it.
 */
function youngGenerationSooner() {
  v8.setFlagsFromString("--minor-gc-task-trigger=10");
}

const parsed = parseAgentOptions(process.argv.slice(2), process.env, {
  readFile: (f) => fs.readFileSync(f, "utf8"),
  hostname: () => os.hostname(),
});
if (parsed.kind === "help") {
  process.stdout.write(parsed.text);
} else if (parsed.kind === "version") {
  process.stdout.write(`${AGENT_VERSION}\n`);
} else if (parsed.kind === "error") {
  fail(parsed.message);
} else {
  youngGenerationSooner();
  run(parsed.options).catch((e: Error) => fail(`cannot start: ${e.stack ?? e.message}`, 1));
}
