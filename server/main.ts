/**
 * Server entry: one HTTP server hosting the gate with the HTTP API route table
 * (server/http/), Next (pages) and two socket.io servers: the agents' (/agent on SOCKET_PATHS.agent, 4 MiB
 * messages, token holders only) and the default one (/live for browsers and the legacy /agent, 256 KiB
 * messages). It only wires: it builds
 * the application context (server/app-context.ts) with its event bus (server/bus.ts) and hands them to the
 * parts that do the work (ingest/, state/, incidents/, live/, http/).
 */
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createAdapter } from "@socket.io/postgres-adapter";
import { fileURLToPath } from "node:url";
import next from "next";
import { Server, type ServerOptions } from "socket.io";
import { loadServerConfig, configWarnings, ConfigError, checkTlsPair, readTlsFiles, SERVER_CLI, type ServerConfig } from "./config";
import { EXIT, parseCommandLine, report } from "./cli/args";
import { openDatabase, type Database } from "./db/database";
import { attachAgentNamespace, sweepRevokedAgentTokens } from "./ingest/agent-namespace";
import { agentGate } from "./ingest/agent-gate";
import { attachLiveNamespace } from "./live/live-namespace";
import { createLogger, type Logger } from "./log";
import { Counters } from "./metrics";
import { EventBus } from "./bus";
import type { AppContext, ServerParts } from "./app-context";
import { LivePicture } from "./state/live-picture";
import { Ingest } from "./ingest/batches";
import { Liveness } from "./ingest/liveness";
import { StorageRecovery } from "./ingest/recovery";
import { LIMITS, SOCKET_PATHS } from "./protocol";
import { setServerParts } from "./context";
import { createWebServer } from "./web-server";
import { restoreState } from "./state/restore";
import { DETECTION_LAG_MS, DetectionHost } from "./incidents/detection-host";
import { loadSecretBox, SecretKeyError } from "./incidents/secret-box";
import { SETTINGS_POLL_MS } from "./incidents/detector-settings";
import { Notifier } from "./incidents/notifier";
import { ROOT } from "./paths";
import { DEFAULT_CAPS, IngestLimiter } from "./ingest/limits";
import { RetentionJob } from "./retention/job";
import { Access } from "./auth/access";
import { OidcError, OidcSignIn, oidcSettings } from "./auth/oidc";
import { createSetupToken } from "./auth/store";
import { HttpGate } from "./http/gate";
import { FeedFollower } from "./ingest/feed";
import { Coordination } from "./incidents/leases";
import { RemoteLiveness } from "./ingest/remote-liveness";
import { forwardAgentEvents } from "./ingest/replica-events";
import { LogThrottle } from "./ingest/limits";

export { ROOT };

export interface RunningServer {
  url: string;
  port: number;
  /** the application context and the live picture (tests, the demo) */
  parts: ServerParts;
  db: Database;
  log: Logger;
  close(): Promise<void>;
  /** the step close() is at: "not started", a step's name, or "done" */
  closingStep(): string;
}

export async function startServer(
  config: ServerConfig,
  log: Logger = createLogger(config.logLevel),
  opts: { setupLink?: boolean } = {},
): Promise<RunningServer> {
  // TLS files are checked before anything starts: a bad path fails fast, naming the setting
  const tlsFiles = readTlsFiles(config);
  if (tlsFiles) checkTlsPair(tlsFiles);
  // the key of the alert channels' secrets: an unusable key file fails the start, naming KAM_SECRETS_KEY_FILE
  const secrets = secretBoxOf(config);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, cwd: ROOT, log });
  const counters = new Counters({ defaults: true });
  if (counters.build.commitUnknown) log.info({ reason: counters.build.commitUnknown }, "kam_build_info: commit unknown (set KAM_BUILD_COMMIT where the server runs outside its git checkout)");
  const app: AppContext = {
    db: db.prisma, dbKind: db.kind, log, counters, bus: new EventBus(log.child({ part: "bus" }), counters),
    replica: `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
    settings: {
      offlineMs: config.agentOfflineSeconds * 1000,
      caps: { ...DEFAULT_CAPS, nodesPerToken: config.maxNodesPerToken, instancesPerNode: config.maxInstancesPerNode },
    },
  };
  const picture = new LivePicture(app);
  const ingest = new Ingest(app, picture);
  const liveness = new Liveness(app, picture);
  // Several replicas on one PostgreSQL (issue 13, ARCHITECTURE.md "Several replicas"): each follows every
  // cluster's feed, detection runs where the cluster's lease is held, socket.io's adapter carries the rest.
  // The embedded PGlite is one process: its own batches are the whole feed, and it holds every cluster.
  const replicated = db.kind === "postgres" && !!config.databaseUrl;
  const feed = new FeedFollower(app, ingest);
  ingest.feed = feed;
  // the positions first: the picture restored next holds at least what they name
  await feed.start(replicated);
  await restoreState(db.prisma, picture.store, (e) => {
    counters.inc("kam_db_rows_rejected_total", { query: e.query });
    log.error({ query: e.query, row: e.row, path: e.path, issue: e.issue }, "a stored row does not match what this version reads: left out of the live picture (kam_db_rows_rejected_total)");
  });
  const notifier = new Notifier(db.prisma, log.child({ part: "notifier" }), counters, config.publicUrl || null, { secrets });
  const detection = new DetectionHost(db.prisma, log.child({ part: "detect" }), counters, notifier, app.bus, { offlineMs: app.settings.offlineMs });
  let leases: Coordination | null = null;
  if (replicated) {
    leases = new Coordination(config.databaseUrl!, app.replica, log.child({ part: "leases" }), counters, {
      // at start, and later a dead replica's clusters (detection.restore() below waits for the first ones)
      acquired: (clusters) => {
        for (const c of clusters) void detection.adopt(c.id, c.name);
      },
      lost: (ids) => detection.release(ids),
      notified: (payload) => feed.notified(payload),
    });
    detection.leases = leases;
    await leases.start();
  }
  await detection.restore();
  const remoteLiveness = replicated ? new RemoteLiveness(app, picture, (id) => liveness.isOwnSession(id)) : null;
  remoteLiveness?.start();
  detection.lagMs = DETECTION_LAG_MS;
  await notifier.checkSecrets();
  notifier.start();
  const parts: ServerParts = { app, picture, detection, channels: { secrets, publicUrl: config.publicUrl || null } };
  setServerParts(parts);

  const pages = next({ dev: config.dev, dir: ROOT, quiet: !config.dev });
  await pages.prepare();
  const handle = pages.getRequestHandler();
  const access = new Access(db.prisma, config, counters, log.child({ part: "access" }));
  // sign-in with the identity provider: discovered now, in the background; a provider that does not answer
  // does not stop the start (logged, naming KAM_OIDC_ISSUER) and is tried again at the next sign-in
  const oidc = oidcSettings(config);
  if (oidc) {
    access.oidc = new OidcSignIn(oidc, secrets, log.child({ part: "oidc" }));
    access.oidc.discover().catch((e: unknown) => {
      // logged by discover() with the setting to check; only anything else is news here
      if (!(e instanceof OidcError)) log.error({ err: e }, "OIDC: discovery failed unexpectedly (retried at the next sign-in)");
    });
  }
  /** the default socket.io server (browsers' /live, the legacy /agent) and the agents' own */
  let io: Server | null = null;
  let agentIo: Server | null = null;
  /** this replica's /agent namespaces: the agent path's and the legacy path's */
  const agentNamespaces = () => [agentIo, io].flatMap((s) => (s ? [s.of("/agent")] : []));
  const gate = new HttpGate({
    access, parts, dev: config.dev, root: ROOT, frameAncestors: config.wallFrameAncestors,
    hooks: {
      agentTokenRevoked(id) {
        // this replica's agents at once; the other replicas' within their revocation sweep (1 s)
        for (const nsp of agentNamespaces()) {
          nsp.local.fetchSockets().then(
            (all) => {
              for (const s of all) if ((s.data as { tokenId?: number }).tokenId === id) s.disconnect(true);
            },
            (err: unknown) => log.error({ err, tokenId: id }, "could not disconnect the revoked token's agents (the sweep retries within 1 s)"),
          );
        }
      },
    },
  });

  // with --tls-cert/--tls-key everything (pages, API, socket.io) is served over https only
  const server = createWebServer(tlsFiles, (req, res) => {
    // the gate authenticates and authorises before anything reaches Next (server/http/gate.ts)
    gate
      .handle(req, res)
      .then((answered) => (answered ? undefined : handle(req, res)))
      .catch((e: unknown) => {
        log.error({ err: e, url: req.url?.split("?")[0] }, "request failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: false, code: "internal", message: "internal error" }));
      });
  });
  const limiter = new IngestLimiter(
    {
      agentRecordsPerSecond: config.agentRecordsPerSecond, agentMessagesPerSecond: config.agentMessagesPerSecond,
      ipHandshakesPer10s: config.ipHandshakesPer10s, agentBytesPerSecond: config.agentBytesPerSecond,
    },
    LIMITS.maxBatchRecords,
    Date.now,
    LIMITS.maxMessageBytes,
  );
  // Two socket.io servers on the one port (issue 19). Each leaves upgrades of other paths alone
  // (destroyUpgrade: false): the agents' token check may outlast engine.io's 1 s before it destroys an
  // upgrade it does not handle; `upgrade` below ends those of neither path.
  const shared: Partial<ServerOptions> = { serveClient: false, destroyUpgrade: false };
  // the default path: browsers' /live and legacy agents; anyone may open a connection here, so 256 KiB
  io = new Server(server, {
    ...shared,
    path: SOCKET_PATHS.browser,
    maxHttpBufferSize: LIMITS.maxBrowserMessageBytes,
    cors: config.allowedOrigins ? { origin: config.allowedOrigins.split(",").map((s) => s.trim()) } : undefined,
  });
  // the agents' path: 4 MiB messages, for token holders only (the gate runs before any engine.io session);
  // websocket only (the agent's transport), so no polling request body to bound either
  agentIo = new Server(server, {
    ...shared,
    path: SOCKET_PATHS.agent,
    maxHttpBufferSize: LIMITS.maxMessageBytes,
    transports: ["websocket"],
    allowRequest: agentGate(app, limiter, access.trustedProxies),
  });
  // nothing is served on the main namespace "/" of either (a client connects it only when asked to)
  for (const s of [io, agentIo]) refuseMainNamespace(s, app.counters);
  // the fan-out across replicas: socket.io's PostgreSQL adapter (LISTEN/NOTIFY), on a pool of its own whose
  // connections report their errors (a database outage must not end the process)
  let fanoutPool: pg.Pool | null = null;
  if (replicated) {
    const quiet = new LogThrottle(60_000);
    const report = (err: Error) => {
      counters.inc("kam_adapter_errors_total");
      const left = quiet.allow("adapter");
      if (left !== null) log.warn({ err, suppressed: left }, "socket.io PostgreSQL adapter: error (fan-out to other replicas; kam_adapter_errors_total)");
    };
    fanoutPool = new pg.Pool({ connectionString: config.databaseUrl!, max: 2, application_name: "kam-fanout" });
    fanoutPool.on("error", report);
    fanoutPool.on("connect", (c) => c.on("error", report));
    io.adapter(createAdapter(fanoutPool, { errorHandler: report }));
  }
  // after a database outage the agents are told to send at once, not at the end of their retry delay
  const recovery = new StorageRecovery(app, () => {
    for (const nsp of agentNamespaces()) nsp.local.emit("resume");
  });
  const agentParts = { ingest, liveness, recovery };
  const stopRevocationSweep = sweepRevokedAgentTokens([
    attachAgentNamespace(agentIo, app, agentParts, limiter, { trustedProxies: access.trustedProxies, path: "agent" }),
    attachAgentNamespace(io, app, agentParts, limiter, { trustedProxies: access.trustedProxies, path: config.agentLegacyPath === "on" ? "legacy" : "legacy-off" }),
  ], app);
  attachLiveNamespace(io, app, picture, access, replicated);
  // The fan-out is the default server's (its adapter above): /live's rooms and server-side events, and the
  // agents' connection events, which travel as server-side events of its /agent namespace whichever path the
  // agent came by (the channel older replicas use too). The agents' server broadcasts nothing across
  // replicas (revocations: each replica's own sweep), so it has no adapter.
  if (replicated) forwardAgentEvents(io.of("/agent"), app.bus);
  const retention = new RetentionJob({
    db: db.prisma, dbKind: db.kind, log: log.child({ part: "retention" }), counters, intervalMs: config.retentionIntervalSeconds * 1000,
    settings: {
      logDays: config.retainLogDays, vipDays: config.retainVipDays, configDays: config.retainConfigDays,
      sessionDays: config.retainSessionDays, stateDays: config.retainStateDays, incidentDays: config.retainIncidentDays,
      auditDays: config.retainAuditDays,
    },
  });
  retention.start();
  // periodic: liveness by the clock; detection deadlines also have their own precise timer
  const ticker = setInterval(() => {
    const now = Date.now();
    detection.tick(now - DETECTION_LAG_MS);
    picture.tick(now);
  }, 250);
  // detector settings changed through the API or the CLI (on any replica): applied to the running detection
  const settingsPoll = setInterval(() => {
    detection.refreshSettings().catch((err: unknown) => {
      counters.inc("kam_detector_errors_total", { kind: "settings" });
      log.error({ err }, "could not read the clusters' detector settings (tried again in a few seconds)");
    });
  }, SETTINGS_POLL_MS);
  settingsPoll.unref();

  // socket.io handles its two paths; Next's dev server its own HMR upgrades; any other upgrade is ended
  // (what engine.io's destroyUpgrade did before there were two servers)
  const devUpgrade = config.dev ? pages.getUpgradeHandler() : null;
  server.on("upgrade", (req, socket, head) => {
    const url = req.url ?? "";
    if (Object.values(SOCKET_PATHS).some((p) => url.startsWith(`${p}/`))) return;
    if (devUpgrade) void devUpgrade(req, socket, head);
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  // agents can reconnect from now: the offline limit of those alive when this server last stopped runs from here
  await detection.listening(Date.now());
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `${tlsFiles ? "https" : "http"}://${shownHost}:${port}`;
  log.info({ url, db: db.kind, tls: !!tlsFiles }, `keepalived monitor listening on ${url}`);
  // first start: no user yet -> a one-time setup link (only its hash is stored; void once used or after 24 h)
  const setup = opts.setupLink === false ? null : await createSetupToken(db.prisma);
  if (setup) {
    const base = config.publicUrl ? config.publicUrl.replace(/\/$/, "") : url;
    // over plain HTTP the link is accepted from this host only (http/routes/auth-setup.ts): say how to get there
    const viaTunnel = !tlsFiles && !base.startsWith("https:") ? ` (plain HTTP: accepted from this host only, e.g. through ssh -L ${port}:127.0.0.1:${port})` : "";
    log.warn(
      `no user exists yet. Create the first admin within 24 h at ${base}/setup?token=${setup} ` +
        `(one-time link${viaTunnel}), or run: npm run admin -- user add NAME --role admin`,
    );
  }

  let closed = false;
  /** the step close() is at (named in the log when a stop takes too long) */
  let closingStep = "not started";
  return {
    url,
    port,
    parts,
    db,
    log,
    closingStep: () => closingStep,
    async close() {
      if (closed) return;
      closed = true;
      const step = async <T>(name: string, work: () => T | Promise<T>): Promise<T> => {
        closingStep = name;
        return await work();
      };
      clearInterval(ticker);
      clearInterval(settingsPoll);
      // the leases first: another replica takes this one's clusters on its next poll
      await step("detection leases", () => leases?.stop());
      remoteLiveness?.stop();
      feed.stop();
      stopRevocationSweep();
      recovery.stop();
      access.stop();
      await step("retention pass", () => retention.stop());
      await step("agents' last-seen times", () => liveness.stop());
      notifier.stop();
      detection.stop();
      await step("detection writes", () => detection.idle());
      // together: each closes its engine's sockets, then the HTTP server, which waits for the other's
      await step("socket.io and HTTP connections", () => Promise.all([io!, agentIo!].map((s) => new Promise<void>((resolve) => s.close(() => resolve())))));
      await step("feed reads", () => feed.idle());
      await step("fan-out pool", () => fanoutPool?.end());
      server.closeAllConnections?.();
      await step("Next", () => pages.close?.());
      await step("database", () => db.close());
      closingStep = "done";
      setServerParts(undefined);
    },
  };
}

/** the main namespace "/" refuses every connection: nothing is served there (counted, by server path) */
function refuseMainNamespace(io: Server, counters: Counters): void {
  io.of("/").use((_socket, next) => {
    counters.inc("kam_socket_main_namespace_refused_total", { path: io.path() });
    const err = new Error("nothing is served on the namespace \"/\": connect /live (browsers) or /agent (agents)") as Error & { data: { code: string } };
    err.data = { code: "forbidden" };
    next(err);
  });
}

/** the channels' secrets key; an unusable key file is a configuration error (exit 2) naming the setting */
function secretBoxOf(config: ServerConfig) {
  try {
    return loadSecretBox({ keyFile: config.secretsKeyFile, dataDir: config.dataDir });
  } catch (e) {
    if (e instanceof SecretKeyError) throw new ConfigError(`invalid server configuration:\n  --secrets-key-file / KAM_SECRETS_KEY_FILE: ${e.message}`);
    throw e;
  }
}

/** The server's command line: `npm start`, kam-server and dist/server.mjs (the compiled server) run it. */
export async function main() {
  // --help, --version and a bad command line (unknown flag, missing value) end here: exit 0, 0 and 2
  const cli = parseCommandLine(SERVER_CLI, process.argv.slice(2));
  if (cli.kind !== "ok") process.exit(report(SERVER_CLI, cli));
  let config: ServerConfig;
  try {
    config = loadServerConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(EXIT.usage);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  for (const w of configWarnings()) log.warn(w);
  // The handlers go in before the start: a SIGTERM that came after "listening" was logged but while the start
  // still wrote its setup link killed the process with the signal's default action (exit by SIGTERM, not 0),
  // seen in CI under load (test/integration/start-stop.test.ts). A stop asked during the start is carried out
  // once the server runs (a failed start exits on its own). The close has 10 s from its own beginning (a start
  // under load may take longer than that by itself); the start, once a stop is asked, has 60 s.
  let running: RunningServer | null = null;
  let stopAsked: string | null = null;
  const deadline = (ms: number, what: () => string) =>
    setTimeout(() => {
      log.error({ sig: stopAsked, step: what() }, `shutdown did not finish within ${ms / 1000} s (still at: ${what()}): exiting with status 1`);
      process.exit(EXIT.failure);
    }, ms).unref();
  let startDeadline: NodeJS.Timeout | null = null;
  const close = (r: RunningServer) => {
    if (startDeadline) clearTimeout(startDeadline);
    deadline(10_000, () => r.closingStep());
    r.close().then(
      () => process.exit(EXIT.ok),
      (e: unknown) => {
        log.error({ err: e, step: r.closingStep() }, "shutdown failed");
        process.exit(EXIT.failure);
      },
    );
  };
  const stop = (sig: string) => {
    if (stopAsked) return;
    stopAsked = sig;
    log.info({ sig }, running ? "shutting down" : "shutting down once the start is done");
    if (running) close(running);
    else startDeadline = deadline(60_000, () => "the start");
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    running = await startServer(config, log);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(EXIT.usage);
    }
    log.fatal({ err: e }, `server did not start: ${(e as Error).message}`);
    process.exit(EXIT.failure);
  }
  if (stopAsked) close(running);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main();
}
