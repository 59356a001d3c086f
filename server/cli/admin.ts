/**
 * npm run admin -- webhook add --cluster NAME --url URL [--format json|slack|alertmanager|pagerduty|email] [--min-severity S] ...
 * npm run admin -- webhook list | webhook test ID | webhook remove ID
 * npm run admin -- maintenance add --cluster NAME (--for 2h | --from ISO --to ISO) [--reason TEXT]
 * npm run admin -- maintenance list | maintenance remove ID
 * npm run admin -- settings show --cluster NAME | settings set --cluster NAME key=value ...
 * npm run admin -- user|session|api-token|wall-token|agent-token ...   (see cli/users.ts)
 * npm run admin -- backup FILE [--force] | restore FILE [--force]   (see db/backup.ts)
 * Uses DATABASE_URL, or the embedded database under KAM_DATA_DIR (default ./data).
 * The command line is read by args.ts (--help, --version, exit codes).
 */
import { z } from "zod";
import { withCliDatabase } from "../db/connect-cli";
import { DEFAULT_SETTINGS } from "../detect/types";
import { settingsOf } from "../incidents/detection-host";
import type { Db } from "../db/database";
import { AuthInputError } from "../auth/store";
import { EXIT, ID_ARG, idCommand, runCli, UsageError, type Args, type CliSpec, type Command } from "./args";
import { ACCESS_COMMANDS, CLUSTER_FLAG, readStdinLine } from "./users";
import { targetHost, WEBHOOK_FORMATS, webhookUrlProblem, type WebhookFormat } from "../incidents/notifier";
import { PAGERDUTY_URL, SEVERITIES, sendTo, type EmailSettings } from "../incidents/channels";
import { loadSecretBox } from "../incidents/secret-box";
import { loadServerConfig } from "../config";
import { backup, BackupRefused, restore } from "../db/backup";
import { emailSettings, generateSigningSecret, secretProblem, smtpUrlProblem, testNotifications } from "./channel-setup";

/** the key of the channels' secrets, as the server finds it (KAM_SECRETS_KEY_FILE, or secrets.key in KAM_DATA_DIR) */
function secretBox() {
  const config = loadServerConfig([], process.env);
  return loadSecretBox({ keyFile: config.secretsKeyFile, dataDir: config.dataDir });
}

/** a channel's URL up to its host: never a path or query, which may hold a token */
function shownTarget(url: string): string {
  try {
    return `${new URL(url).protocol}//${targetHost(url)}`;
  } catch {
    return "(unparseable URL)";
  }
}

/** the secret given with --secret-stdin: the first line of stdin */
async function readSecretLine(): Promise<string> {
  const s = await readStdinLine();
  if (!s) throw new UsageError("--secret-stdin: stdin held no secret (an empty first line)");
  return s;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS);

/** "90m", "2h", "1d" in milliseconds */
export function parseDuration(s: string): number {
  const m = DURATION_RE.exec(s);
  if (!m) throw new UsageError(`--for takes a duration like 90m, 2h or 1d (got "${s}")`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"];
}

/** the cluster named by --cluster; a failure (exit 1) when there is none */
async function cluster(db: Db, name: string) {
  const c = await db.cluster.findUnique({ where: { name } });
  if (!c) throw new Error(`no cluster "${name}" (clusters appear when a token is created for them)`);
  return c;
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
    async run(db, a) {
      const format = (a.string("format") ?? "json") as WebhookFormat;
      const url = a.string("url") ?? PAGERDUTY_URL;
      const problem = format === "email" ? smtpUrlProblem(url) : webhookUrlProblem(url, format);
      if (problem) throw new UsageError(`--url ${problem}`);
      const settings = format === "email" ? emailSettings(a) : {};
      const given = a.flag("secret-stdin") ? await readSecretLine() : null;
      const secret = format === "json" ? given ?? generateSigningSecret() : given;
      if (secret !== null) {
        const bad = secretProblem(format, secret);
        if (bad) throw new UsageError(bad);
      }
      const c = await cluster(db, a.need("cluster"));
      const box = secret === null ? null : secretBox();
      const h = await db.webhook.create({
        data: {
          clusterId: c.id, url, format, minSeverity: a.string("min-severity") ?? "info", settings: settings as object,
          secret: secret === null ? null : box!.seal(secret, "webhook-secret"), createdAt: new Date(),
        },
      });
      console.log(`webhook ${h.id} added to cluster "${c.name}" (${format})${h.minSeverity === "info" ? "" : `: ${h.minSeverity} incidents and above`}`);
      if (format === "json" && given === null) console.log(`signing secret (shown once; give it to the receiver to verify webhook-signature): ${secret}`);
    },
  },
  {
    name: "webhook list",
    help: "alert channels with their cluster, format and minimum severity (URLs shown up to their host)",
    async run(db) {
      const rows = await db.webhook.findMany({ include: { cluster: true }, orderBy: { id: "asc" } });
      if (rows.length === 0) console.log("no webhooks");
      for (const h of rows) {
        const to = h.format === "email" ? ` -> ${(h.settings as unknown as EmailSettings).to.join(", ")}` : "/…";
        const extra = [h.enabled ? "" : "disabled", h.format === "json" ? (h.secret ? "signed" : "unsigned") : ""].filter(Boolean).join(", ");
        console.log(`${String(h.id).padStart(4)}  ${h.cluster.name.padEnd(20)} ${h.format.padEnd(12)} ${h.minSeverity.padEnd(8)} ${shownTarget(h.url)}${to}${extra ? `  (${extra})` : ""}`);
      }
    },
  },
  {
    name: "webhook test",
    args: [ID_ARG],
    help: "send a test notification now (pagerduty: a trigger and its resolve) and print the receiver's answer; exit 1 when it fails",
    async run(db, a) {
      const id = Number(a.positionals[0]);
      const h = await db.webhook.findUnique({ where: { id }, include: { cluster: true } });
      if (!h) throw new Error(`no webhook ${id}`);
      const config = loadServerConfig([], process.env);
      const box = h.secret === null ? null : secretBox();
      let failed = false;
      for (const [event, payload] of testNotifications(h.format, h.cluster.name, h.id, config.publicUrl || null)) {
        const r = await sendTo(h, payload, `kam-test-${h.id}-${Date.now()}`, box);
        if (r.error) {
          console.error(`webhook ${h.id} (${h.format}) test ${event}: failed: ${r.error}`);
          failed = true;
          break;
        }
        console.log(`webhook ${h.id} (${h.format}) test ${event}: ${r.answer}`);
      }
      return failed ? EXIT.failure : EXIT.ok;
    },
  },
  idCommand("webhook remove", "remove a webhook", async (db, id) => (await db.webhook.deleteMany({ where: { id } })).count > 0, {
    done: (id) => `webhook ${id} removed`,
    none: (id) => `no webhook ${id}`,
  }),
  {
    name: "maintenance add",
    synopsis: "--cluster NAME (--for DURATION | --from ISO --to ISO) [--reason TEXT]",
    flags: {
      cluster: CLUSTER_FLAG,
      for: { type: "string", arg: "DURATION", help: "from now, e.g. 90m, 2h, 1d", check: z.string().regex(DURATION_RE, "must be a duration like 90m, 2h or 1d") },
      from: { type: "string", arg: "ISO", help: "start, an ISO time (with --to)" },
      to: { type: "string", arg: "ISO", help: "end, an ISO time after --from" },
      reason: { type: "string", arg: "TEXT", help: "shown with the window" },
    },
    help: "a maintenance window: incidents are recorded, not notified",
    check(a) {
      const [dur, from, to] = [a.string("for"), a.string("from"), a.string("to")];
      if (dur !== undefined ? from !== undefined || to !== undefined : from === undefined || to === undefined) return "maintenance add needs --for DURATION, or --from ISO and --to ISO";
      if (dur === undefined && !(new Date(to!) > new Date(from!))) return "--from/--to must be ISO times with --to after --from";
      return null;
    },
    async run(db, a) {
      const dur = a.string("for");
      const now = new Date();
      const from = dur ? now : new Date(a.need("from"));
      const to = dur ? new Date(now.getTime() + parseDuration(dur)) : new Date(a.need("to"));
      const c = await cluster(db, a.need("cluster"));
      const w = await db.maintenanceWindow.create({ data: { clusterId: c.id, startsAt: from, endsAt: to, reason: a.string("reason") ?? "", createdAt: now } });
      console.log(`maintenance window ${w.id} for "${c.name}": ${from.toISOString()} .. ${to.toISOString()} (incidents recorded, not notified)`);
    },
  },
  {
    name: "maintenance list",
    help: "the 50 latest maintenance windows",
    async run(db) {
      const rows = await db.maintenanceWindow.findMany({ include: { cluster: true }, orderBy: { startsAt: "desc" }, take: 50 });
      if (rows.length === 0) console.log("no maintenance windows");
      for (const w of rows) console.log(`${String(w.id).padStart(4)}  ${w.cluster.name.padEnd(20)} ${w.startsAt.toISOString()} .. ${w.endsAt.toISOString()}  ${w.reason}`);
    },
  },
  idCommand("maintenance remove", "remove a maintenance window", async (db, id) => (await db.maintenanceWindow.deleteMany({ where: { id } })).count > 0, {
    done: (id) => `maintenance window ${id} removed`,
    none: (id) => `no maintenance window ${id}`,
  }),
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
    help: `set detector settings (keys: ${SETTING_KEYS.join(", ")}; milliseconds); they take effect at the next server start`,
    run: (db, a) => showSettings(db, a.need("cluster"), a.positionals),
  },
];

/** prints the cluster's settings after setting each key=value of `changes` */
async function showSettings(db: Db, name: string, changes: string[]): Promise<void> {
  const c = await cluster(db, name);
  const current = settingsOf(c.settings);
  for (const kv of changes) {
    const [k, v] = kv.split("=");
    (current as Record<string, number>)[k] = Number(v);
  }
  if (changes.length) await db.cluster.update({ where: { id: c.id }, data: { settings: current } });
  console.log(JSON.stringify({ cluster: c.name, settings: { ...DEFAULT_SETTINGS, ...current } }, null, 2));
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
  footer: "The database is DATABASE_URL, or the embedded one under KAM_DATA_DIR (default ./data). Detector settings take effect at the next server start.",
};

/** runs a command on the database; a refused value (a short password, a bad name) is a usage error */
async function exec(command: AdminCommand, args: Args): Promise<number | void> {
  if (command.standalone) return command.standalone(args);
  try {
    return await withCliDatabase((db) => command.run(db, args));
  } catch (e) {
    if (e instanceof AuthInputError && e.code === "invalid_message") throw new UsageError(e.message);
    throw e;
  }
}

void runCli(ADMIN_CLI, process.argv.slice(2), exec).then((code) => process.exit(code));
