/**
 * npm run admin -- webhook add --cluster NAME --url URL [--format json|slack|alertmanager]
 * npm run admin -- webhook list | webhook remove ID
 * npm run admin -- maintenance add --cluster NAME (--for 2h | --from ISO --to ISO) [--reason TEXT]
 * npm run admin -- maintenance list | maintenance remove ID
 * npm run admin -- settings show --cluster NAME | settings set --cluster NAME key=value ...
 * npm run admin -- user|session|api-token|wall-token|agent-token ...   (see cli/users.ts)
 * Uses DATABASE_URL, or the embedded database under KAM_DATA_DIR (default ./data).
 * The command line is read by args.ts (--help, --version, exit codes).
 */
import { z } from "zod";
import { withCliDatabase } from "../db/connect-cli";
import { DEFAULT_SETTINGS } from "../detect/types";
import { settingsOf } from "../incidents/detection-host";
import type { Db } from "../db/database";
import { AuthInputError } from "../auth/store";
import { idCommand, runCli, UsageError, type Args, type CliSpec, type Command } from "./args";
import { ACCESS_COMMANDS, CLUSTER_FLAG } from "./users";
import { WEBHOOK_FORMATS, webhookUrlProblem } from "../incidents/notifier";

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
    flags: {
      cluster: CLUSTER_FLAG,
      url: { type: "string", arg: "URL", required: true, help: "where incidents are POSTed on open and resolve (alertmanager: Alertmanager's base URL, e.g. http://am.example:9093; alerts go to <url>/api/v2/alerts)" },
      format: { type: "string", arg: WEBHOOK_FORMATS.join("|"), help: "the body: generic JSON (default), a Slack message, or Alertmanager API v2 alerts", check: z.enum(WEBHOOK_FORMATS, { message: `must be one of ${WEBHOOK_FORMATS.join(", ")}` }) },
    },
    help: "notify URL of the cluster's incidents",
    async run(db, a) {
      const format = (a.string("format") ?? "json") as (typeof WEBHOOK_FORMATS)[number];
      const problem = webhookUrlProblem(a.need("url"), format);
      if (problem) throw new UsageError(`--url ${problem}`);
      const c = await cluster(db, a.need("cluster"));
      const h = await db.webhook.create({ data: { clusterId: c.id, url: a.need("url"), format, createdAt: new Date() } });
      console.log(`webhook ${h.id} added to cluster "${c.name}" (${format})`);
    },
  },
  {
    name: "webhook list",
    help: "webhooks with their cluster and format (URL shown up to its origin)",
    async run(db) {
      const rows = await db.webhook.findMany({ include: { cluster: true }, orderBy: { id: "asc" } });
      if (rows.length === 0) console.log("no webhooks");
      for (const h of rows) console.log(`${String(h.id).padStart(4)}  ${h.cluster.name.padEnd(20)} ${h.format.padEnd(12)} ${new URL(h.url).origin}/…`);
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

const ADMIN_CLI: CliSpec<Command<Db>> = {
  name: "admin",
  invoke: "npm run admin --",
  summary: "npm run admin: webhooks, maintenance windows, detector settings, users, sessions and tokens.",
  commands: [...ADMIN_COMMANDS, ...ACCESS_COMMANDS],
  footer: "The database is DATABASE_URL, or the embedded one under KAM_DATA_DIR (default ./data). Detector settings take effect at the next server start.",
};

/** runs a command on the database; a refused value (a short password, a bad name) is a usage error */
async function exec(command: Command<Db>, args: Args): Promise<number | void> {
  try {
    return await withCliDatabase((db) => command.run(db, args));
  } catch (e) {
    if (e instanceof AuthInputError && e.code === "invalid_message") throw new UsageError(e.message);
    throw e;
  }
}

void runCli(ADMIN_CLI, process.argv.slice(2), exec).then((code) => process.exit(code));
