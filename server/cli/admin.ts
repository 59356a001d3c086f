/**
 * npm run admin -- webhook add --cluster NAME --url URL [--format json|slack|alertmanager|pagerduty|email] [--min-severity S] ...
 * npm run admin -- webhook list | webhook test ID | webhook enable ID | webhook disable ID | webhook remove ID
 * npm run admin -- maintenance add --cluster NAME (--for 2h | --from ISO --to ISO) [--reason TEXT]
 * npm run admin -- maintenance list | maintenance end ID | maintenance remove ID
 * npm run admin -- settings show --cluster NAME | settings set --cluster NAME key=value ...
 * npm run admin -- user|session|api-token|wall-token|agent-token ...   (see cli/users.ts)
 * npm run admin -- backup FILE [--force] | restore FILE [--force]   (see db/backup.ts)
 * Uses DATABASE_URL, or the embedded database under KAM_DATA_DIR (default ./data).
 * The command line is read by args.ts (--help, --version, exit codes).
 */
import { z } from "zod";
import { withCliDatabase } from "../db/connect-cli";
import { DEFAULT_SETTINGS } from "../detect/types";
import { clusterSettings, setClusterSettings, SettingsInputError, SETTING_KEYS } from "../incidents/detector-settings";
import type { Db } from "../db/database";
import { AuthInputError } from "../auth/store";
import { ClusterScope } from "../auth/scope";
import { EXIT, ID_ARG, idCommand, runCli, UsageError, type Args, type CliSpec, type Command } from "./args";
import { ACCESS_COMMANDS, CLUSTER_FLAG, readStdinLine } from "./users";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../incidents/notifier";
import { PAGERDUTY_URL, SEVERITIES, type Severity } from "../incidents/channels";
import { addChannel, ChannelInputError, editChannel, listChannels, removeChannel, testChannel } from "../incidents/channel-admin";
import { addMaintenanceWindow, endMaintenanceWindow, listMaintenanceWindows } from "../incidents/maintenance";
import { loadSecretBox } from "../incidents/secret-box";
import { loadServerConfig } from "../config";
import { backup, BackupRefused, restore } from "../db/backup";
import { emailSettings } from "./channel-setup";
import { runAudited } from "./audit";

/** the key of the channels' secrets, as the server finds it (KAM_SECRETS_KEY_FILE, or secrets.key in KAM_DATA_DIR) */
function secretBox() {
  const config = loadServerConfig([], process.env);
  return loadSecretBox({ keyFile: config.secretsKeyFile, dataDir: config.dataDir });
}

/** the flag the channel module's field names are given with, for its messages */
const FLAG_OF: Record<string, string> = { url: "--url", secret: "--secret-stdin:", to: "--to:", from: "--from:", ca: "--smtp-ca-file:" };

/** the channel module's refusals: bad input is a usage error (exit 2) naming the flag; nothing by that name or id a failure (exit 1) */
async function channelCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (!(e instanceof ChannelInputError)) throw e;
    if (e.code === "not_found") throw new Error(e.message);
    throw new UsageError(e.message.replace(/^(url|secret|to|from|ca): /, (_m, f: string) => `${FLAG_OF[f]} `));
  }
}

/** the secret given with --secret-stdin: the first line of stdin */
async function readSecretLine(): Promise<string> {
  const s = await readStdinLine();
  if (!s) throw new UsageError("--secret-stdin: stdin held no secret (an empty first line)");
  return s;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;

/** "90m", "2h", "1d" in milliseconds */
export function parseDuration(s: string): number {
  const m = DURATION_RE.exec(s);
  if (!m) throw new UsageError(`--for takes a duration like 90m, 2h or 1d (got "${s}")`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"];
}

const ADMIN_COMMANDS: Command<Db>[] = [
  {
    name: "webhook add",
    synopsis: `--cluster NAME --url URL [--format ${WEBHOOK_FORMATS.join("|")}] [--min-severity ${SEVERITIES.join("|")}] [--secret-stdin] [email: --to ADDRS --from ADDR [--smtp-user USER] [--smtp-ca-file PEM]]`,
    flags: {
      cluster: CLUSTER_FLAG,
      url: { type: "string", arg: "URL", help: `where incidents are sent on open and resolve (alertmanager: Alertmanager's base URL, e.g. http://am.example:9093, alerts go to <url>/api/v2/alerts; pagerduty: default ${PAGERDUTY_URL}; email: smtp://HOST[:PORT] of the SMTP server, port 587 by default, STARTTLS required, 465 = TLS)` },
      format: { type: "string", arg: WEBHOOK_FORMATS.join("|"), help: "the body: generic JSON signed per Standard Webhooks (default), a Slack message, Alertmanager API v2 alerts, PagerDuty Events API v2, or an email", check: z.enum(WEBHOOK_FORMATS, { message: `must be one of ${WEBHOOK_FORMATS.join(", ")}` }) },
      "min-severity": { type: "string", arg: SEVERITIES.join("|"), help: "send only incidents of at least this severity (default info: all)", check: z.enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(", ")}` }) },
      "secret-stdin": { type: "boolean", help: "read the secret from the first line of stdin: json: the signing secret (whsec_..., else one is generated and shown once); pagerduty: the routing key (required); email: the SMTP password (required with --smtp-user)" },
      to: { type: "string", arg: "ADDRS", help: "email: recipients, comma-separated" },
      from: { type: "string", arg: "ADDR", help: "email: the sender address" },
      "smtp-user": { type: "string", arg: "USER", help: "email: SMTP AUTH user name (the password from --secret-stdin)" },
      "smtp-ca-file": { type: "string", arg: "PEM", help: "email: CA certificate(s) to trust for the SMTP server's certificate, besides the system's" },
    },
    help: "send the cluster's incidents to an alert channel",
    check(a) {
      const format = a.string("format") ?? "json";
      const email = ["to", "from", "smtp-user", "smtp-ca-file"].filter((f) => a.string(f) !== undefined);
      if (format === "email") {
        if (!a.string("url") || !a.string("to") || !a.string("from")) return "--format email needs --url smtp://HOST[:PORT], --to and --from";
        if (a.string("smtp-user") && !a.flag("secret-stdin")) return "--smtp-user needs the password on stdin (--secret-stdin)";
      } else if (email.length) return `--${email[0]} is for --format email`;
      if (format === "pagerduty" && !a.flag("secret-stdin")) return "--format pagerduty needs the routing key on stdin (--secret-stdin)";
      if (format !== "pagerduty" && format !== "email" && !a.string("url")) return "--url is required";
      if ((format === "slack" || format === "alertmanager") && a.flag("secret-stdin")) return `--format ${format} takes no secret`;
      return null;
    },
    audit: { action: "webhook.add" },
    async run(db, a) {
      const format = (a.string("format") ?? "json") as WebhookFormat;
      const secret = a.flag("secret-stdin") ? await readSecretLine() : undefined;
      const { channel: h, signingSecret } = await channelCall(() => addChannel(db, secretBox, {
        cluster: a.need("cluster"), format, url: a.string("url"), minSeverity: a.string("min-severity") as Severity | undefined, secret,
        email: format === "email" ? emailSettings(a) : undefined,
      }));
      console.log(`webhook ${h.id} added to cluster "${h.cluster}" (${format})${h.minSeverity === "info" ? "" : `: ${h.minSeverity} incidents and above`}`);
      if (signingSecret) console.log(`signing secret (shown once; give it to the receiver to verify webhook-signature): ${signingSecret}`);
    },
  },
  {
    name: "webhook list",
    help: "alert channels with their cluster, format and minimum severity (URLs shown up to their host), and their last test",
    async run(db) {
      const rows = await listChannels(db);
      if (rows.length === 0) console.log("no webhooks");
      for (const h of rows) {
        const to = h.email ? ` -> ${h.email.to.join(", ")}` : "";
        const extra = [h.enabled ? "" : "disabled", h.format === "json" ? (h.secret ? "signed" : "unsigned") : "", h.lastTest ? `last test ${h.lastTest.ok ? "ok" : "failed"}` : ""].filter(Boolean).join(", ");
        console.log(`${String(h.id).padStart(4)}  ${h.cluster.padEnd(20)} ${h.format.padEnd(12)} ${h.minSeverity.padEnd(8)} ${h.url}${to}${extra ? `  (${extra})` : ""}`);
      }
    },
  },
  {
    name: "webhook test",
    args: [ID_ARG],
    help: "send a test notification now (pagerduty: a trigger and its resolve) and print the receiver's answer; exit 1 when it fails",
    audit: { action: "webhook.test", target: (a) => ({ kind: "webhook", id: Number(a.positionals[0]) }), evenOnFailure: true },
    async run(db, a) {
      const id = Number(a.positionals[0]);
      const config = loadServerConfig([], process.env);
      const format = (await db.webhook.findUnique({ where: { id }, select: { format: true } }))?.format;
      const r = await channelCall(() => testChannel(db, secretBox, id, config.publicUrl || null));
      for (const step of r.steps) {
        if (step.ok) console.log(`webhook ${id} (${format}) test ${step.event}: ${step.answer}`);
        else console.error(`webhook ${id} (${format}) test ${step.event}: failed: ${step.answer}`);
      }
      return r.ok ? EXIT.ok : EXIT.failure;
    },
  },
  ...(["enable", "disable"] as const).map((verb): Command<Db> => ({
    name: `webhook ${verb}`,
    args: [ID_ARG],
    help: verb === "enable" ? "send the cluster's incidents to this channel again" : "stop sending to this channel (kept, with its secret and delivery log)",
    audit: { action: "webhook.edit", target: (a) => ({ kind: "webhook", id: Number(a.positionals[0]) }) },
    async run(db, a) {
      const h = await channelCall(() => editChannel(db, secretBox, Number(a.positionals[0]), { enabled: verb === "enable" }));
      console.log(`webhook ${h.id} ${verb}d`);
    },
  })),
  {
    ...idCommand("webhook remove", "remove a webhook", removeChannel, {
      done: (id) => `webhook ${id} removed`,
      none: (id) => `no webhook ${id}`,
    }),
    audit: { action: "webhook.remove", target: (a) => ({ kind: "webhook", id: Number(a.positionals[0]) }) },
  },
  {
    name: "maintenance add",
    synopsis: "--cluster NAME (--for DURATION | --from ISO --to ISO) [--vrid VRID] [--reason TEXT]",
    flags: {
      cluster: CLUSTER_FLAG,
      for: { type: "string", arg: "DURATION", help: "from now, e.g. 90m, 2h, 1d", check: z.string().regex(DURATION_RE, "must be a duration like 90m, 2h or 1d") },
      from: { type: "string", arg: "ISO", help: "start, an ISO time (with --to)" },
      to: { type: "string", arg: "ISO", help: "end, an ISO time after --from" },
      reason: { type: "string", arg: "TEXT", help: "shown with the window" },
      vrid: { type: "string", arg: "VRID", help: "only this VRID's incidents are silenced (default: every incident of the cluster)", check: z.string().regex(/^([1-9]\d?|1\d\d|2[0-4]\d|25[0-5])$/, "a VRID, 1 to 255") },
    },
    help: "a maintenance window: incidents are recorded, not notified",
    audit: { action: "maintenance.add" },
    check(a) {
      const [dur, from, to] = [a.string("for"), a.string("from"), a.string("to")];
      if (dur !== undefined ? from !== undefined || to !== undefined : from === undefined || to === undefined) return "maintenance add needs --for DURATION, or --from ISO and --to ISO";
      if (dur === undefined && !(new Date(to!) > new Date(from!))) return "--from/--to must be ISO times with --to after --from";
      return null;
    },
    async run(db, a) {
      const dur = a.string("for");
      const now = new Date();
      const vrid = a.string("vrid");
      const r = await addMaintenanceWindow(db, {
        cluster: a.need("cluster"), from: dur ? undefined : new Date(a.need("from")).toISOString(),
        ...(dur ? { minutes: parseDuration(dur) / 60_000 } : { to: new Date(a.need("to")).toISOString() }),
        reason: a.string("reason") ?? "", ...(vrid ? { vrid: Number(vrid) } : {}),
      }, "", ClusterScope.ALL, now);
      if (!r.ok) throw r.code === "not_found" ? new Error(`${r.message} (clusters appear when a token is created for them)`) : new UsageError(r.message);
      const w = r.window;
      console.log(`maintenance window ${w.id} for "${w.cluster}"${w.vrid ? ` VRID ${w.vrid}` : ""}: ${w.from} .. ${w.to} (incidents recorded, not notified)`);
    },
  },
  {
    name: "maintenance list",
    help: "the 50 latest maintenance windows",
    async run(db) {
      const rows = await listMaintenanceWindows(db, ClusterScope.ALL, { limit: 50 });
      if (rows.length === 0) console.log("no maintenance windows");
      for (const w of rows) console.log(`${String(w.id).padStart(4)}  ${w.cluster.padEnd(20)} ${w.vrid ? `VRID ${String(w.vrid).padEnd(4)}` : "all      "} ${w.from} .. ${w.to}  ${w.reason}`);
    },
  },
  {
    ...idCommand("maintenance end", "end a maintenance window now (one that has not started yet is cancelled: it ends where it starts)", async (db, id) => (await endMaintenanceWindow(db, id, ClusterScope.ALL)) !== null, {
      done: (id) => `maintenance window ${id} ended`,
      none: (id) => `no current or future maintenance window ${id}`,
    }),
    audit: { action: "maintenance.end", target: (a) => ({ kind: "maintenance", id: Number(a.positionals[0]) }) },
  },
  {
    ...idCommand("maintenance remove", "remove a maintenance window", async (db, id) => (await db.maintenanceWindow.deleteMany({ where: { id } })).count > 0, {
      done: (id) => `maintenance window ${id} removed`,
      none: (id) => `no maintenance window ${id}`,
    }),
    audit: { action: "maintenance.remove", target: (a) => ({ kind: "maintenance", id: Number(a.positionals[0]) }) },
  },
  {
    name: "settings show",
    flags: { cluster: CLUSTER_FLAG },
    help: "the cluster's detector settings",
    run: (db, a) => showSettings(db, a.need("cluster"), []),
  },
  {
    name: "settings set",
    synopsis: "--cluster NAME KEY=VALUE...",
    flags: { cluster: CLUSTER_FLAG },
    args: [{
      name: "KEY=VALUE", variadic: true,
      check: z.string()
        .refine((kv) => SETTING_KEYS.includes(kv.split("=")[0]), `the key is one of ${SETTING_KEYS.join(", ")}`)
        .refine((kv) => /^=\d+(\.\d+)?$/.test(kv.slice(kv.indexOf("="))), "the value is a number >= 0 (milliseconds)"),
    }],
    help: `set detector settings (keys: ${SETTING_KEYS.join(", ")}; milliseconds); the running server applies them within seconds`,
    audit: { action: "settings.set", target: (a) => ({ kind: "cluster", id: a.need("cluster") }) },
    run: (db, a) => showSettings(db, a.need("cluster"), a.positionals),
  },
];

/** prints the cluster's settings after setting each key=value of `changes` (the running server applies them within seconds) */
async function showSettings(db: Db, name: string, changes: string[]): Promise<void> {
  const patch = Object.fromEntries(changes.map((kv) => [kv.slice(0, kv.indexOf("=")), Number(kv.slice(kv.indexOf("=") + 1))]));
  let s;
  try {
    s = changes.length ? await setClusterSettings(db, name, patch, ClusterScope.ALL) : await clusterSettings(db, name, ClusterScope.ALL);
  } catch (e) {
    if (e instanceof SettingsInputError && e.code === "invalid_message") throw new UsageError(e.message);
    throw e;
  }
  if (!s) throw new Error(`no cluster "${name}" (clusters appear when a token is created for them)`);
  console.log(JSON.stringify({ cluster: s.cluster, settings: { ...DEFAULT_SETTINGS, ...s.settings } }, null, 2));
}

/** backup and restore work on the database's files or dump, not through a Prisma client: run without one */
type AdminCommand = Command<Db> & { standalone?: (args: Args) => Promise<number | void> };

const FILE_ARG = { name: "FILE" };
const BACKUP_COMMANDS: AdminCommand[] = (["backup", "restore"] as const).map((name) => ({
  name,
  args: [FILE_ARG],
  flags: {
    force: { type: "boolean", help: name === "backup" ? "overwrite FILE when it exists" : "replace a database that holds rows (the server must be stopped)" },
  },
  help: name === "backup"
    ? "write the whole database to FILE: pg_dump --format=custom (DATABASE_URL; needs postgresql-client) or the embedded database's data directory (the server stopped); not the secrets key file"
    : "load a backup FILE into the database: pg_restore --clean --if-exists --no-owner (DATABASE_URL) or the embedded data directory (the old one kept beside it); refuses a non-empty database without --force",
  run: () => Promise.reject(new Error(`${name} runs standalone`)),
  async standalone(a: Args) {
    const config = loadServerConfig([], process.env);
    const target = { databaseUrl: config.databaseUrl, dataDir: config.dataDir };
    const opts = { force: a.flag("force"), say: (l: string) => console.log(l) };
    try {
      await (name === "backup" ? backup : restore)(target, a.positionals[0], opts);
    } catch (e) {
      if (e instanceof BackupRefused) {
        console.error(`admin: ${name}: ${e.message}`);
        return EXIT.failure;
      }
      throw e;
    }
  },
}));

const ADMIN_CLI: CliSpec<AdminCommand> = {
  name: "admin",
  invoke: "npm run admin --",
  summary: "npm run admin: webhooks, maintenance windows, detector settings, users, sessions and tokens; backup and restore.",
  commands: [...ADMIN_COMMANDS, ...ACCESS_COMMANDS, ...BACKUP_COMMANDS],
  footer: "The database is DATABASE_URL, or the embedded one under KAM_DATA_DIR (default ./data). The running server applies detector settings within seconds.",
};

/** runs a command on the database; a refused value (a short password, a bad name) is a usage error */
async function exec(command: AdminCommand, args: Args): Promise<number | void> {
  if (command.standalone) return command.standalone(args);
  try {
    return await withCliDatabase((db) => runAudited(db, command, args));
  } catch (e) {
    if (e instanceof AuthInputError && e.code === "invalid_message") throw new UsageError(e.message);
    throw e;
  }
}

void runCli(ADMIN_CLI, process.argv.slice(2), exec).then((code) => process.exit(code));
