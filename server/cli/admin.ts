/**
 * npm run admin -- webhook add --cluster NAME --url URL [--format json|slack|alertmanager]
 * npm run admin -- webhook list | webhook remove ID
 * npm run admin -- maintenance add --cluster NAME (--for 2h | --from ISO --to ISO) [--reason TEXT]
 * npm run admin -- maintenance list | maintenance remove ID
 * npm run admin -- settings show --cluster NAME | settings set --cluster NAME key=value ...
 * npm run admin -- user|session|api-token|wall-token|agent-token ...   (see cli/users.ts)
 * Uses DATABASE_URL, or the embedded database under KAM_DATA_DIR (default ./data).
 */
import { loadServerConfig } from "../config";
import { connectForCli } from "../db/connect-cli";
import { createLogger } from "../log";
import { ROOT } from "../paths";
import { DEFAULT_SETTINGS } from "../detect/types";
import { settingsOf } from "../incidents/detection-host";
import type { Db } from "../db/database";
import { ACCESS_USAGE, CliUsageError, runAccessCommand } from "./users";
import { AuthInputError } from "../auth/store";
import { WEBHOOK_FORMATS, isWebhookFormat, webhookUrlProblem } from "../incidents/notifier";

const USAGE = `usage:
  npm run admin -- webhook add --cluster NAME --url URL [--format json|slack|alertmanager]
      (alertmanager: --url is Alertmanager's base URL, e.g. http://am.example:9093; alerts go to <url>/api/v2/alerts)
  npm run admin -- webhook list
  npm run admin -- webhook remove ID
  npm run admin -- maintenance add --cluster NAME (--for 2h | --from ISO --to ISO) [--reason TEXT]
  npm run admin -- maintenance list
  npm run admin -- maintenance remove ID
  npm run admin -- settings show --cluster NAME
  npm run admin -- settings set --cluster NAME key=value ...   (keys: ${Object.keys(DEFAULT_SETTINGS).join(", ")}; milliseconds)
${ACCESS_USAGE}
Detector settings take effect at the next server start.`;

class UsageError extends Error {}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function need(argv: string[], name: string, what: string): string {
  const v = arg(argv, name);
  if (!v) throw new UsageError(`missing --${name} ${what}`);
  return v;
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(s);
  if (!m) throw new UsageError(`--for takes a duration like 90m, 2h or 1d (got "${s}")`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"];
}

async function cluster(db: Db, name: string) {
  const c = await db.cluster.findUnique({ where: { name } });
  if (!c) throw new UsageError(`no cluster "${name}" (clusters appear when a token is created for them)`);
  return c;
}

async function run(db: Db, argv: string[]): Promise<void> {
  if (await runAccessCommand(db, argv)) return;
  const [what, verb] = argv;
  const now = new Date();
  if (what === "webhook" && verb === "add") {
    const url = need(argv, "url", "http(s)://...");
    const format = arg(argv, "format") ?? "json";
    if (!isWebhookFormat(format)) throw new UsageError(`--format is one of ${WEBHOOK_FORMATS.join(", ")}`);
    const problem = webhookUrlProblem(url, format);
    if (problem) throw new UsageError(`--url ${problem}`);
    const c = await cluster(db, need(argv, "cluster", "NAME"));
    const h = await db.webhook.create({ data: { clusterId: c.id, url, format, createdAt: now } });
    console.log(`webhook ${h.id} added to cluster "${c.name}" (${format})`);
  } else if (what === "webhook" && verb === "list") {
    const rows = await db.webhook.findMany({ include: { cluster: true }, orderBy: { id: "asc" } });
    if (rows.length === 0) console.log("no webhooks");
    for (const h of rows) console.log(`${String(h.id).padStart(4)}  ${h.cluster.name.padEnd(20)} ${h.format.padEnd(12)} ${new URL(h.url).origin}/…`);
  } else if (what === "webhook" && verb === "remove") {
    const r = await db.webhook.deleteMany({ where: { id: Number(argv[2]) } });
    console.log(r.count ? `webhook ${argv[2]} removed` : `no webhook ${argv[2]}`);
  } else if (what === "maintenance" && verb === "add") {
    const c = await cluster(db, need(argv, "cluster", "NAME"));
    const dur = arg(argv, "for");
    const from = dur ? now : new Date(need(argv, "from", "ISO time"));
    const to = dur ? new Date(now.getTime() + parseDuration(dur)) : new Date(need(argv, "to", "ISO time"));
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) throw new UsageError("--from/--to must be ISO times with --to after --from");
    const w = await db.maintenanceWindow.create({ data: { clusterId: c.id, startsAt: from, endsAt: to, reason: arg(argv, "reason") ?? "", createdAt: now } });
    console.log(`maintenance window ${w.id} for "${c.name}": ${from.toISOString()} .. ${to.toISOString()} (incidents recorded, not notified)`);
  } else if (what === "maintenance" && verb === "list") {
    const rows = await db.maintenanceWindow.findMany({ include: { cluster: true }, orderBy: { startsAt: "desc" }, take: 50 });
    if (rows.length === 0) console.log("no maintenance windows");
    for (const w of rows) console.log(`${String(w.id).padStart(4)}  ${w.cluster.name.padEnd(20)} ${w.startsAt.toISOString()} .. ${w.endsAt.toISOString()}  ${w.reason}`);
  } else if (what === "maintenance" && verb === "remove") {
    const r = await db.maintenanceWindow.deleteMany({ where: { id: Number(argv[2]) } });
    console.log(r.count ? `maintenance window ${argv[2]} removed` : `no maintenance window ${argv[2]}`);
  } else if (what === "settings" && (verb === "show" || verb === "set")) {
    const c = await cluster(db, need(argv, "cluster", "NAME"));
    const current = settingsOf(c.settings);
    if (verb === "set") {
      for (const kv of argv.slice(2).filter((a) => a.includes("=") && !a.startsWith("--"))) {
        const [k, v] = kv.split("=");
        if (!(k in DEFAULT_SETTINGS)) throw new UsageError(`unknown setting "${k}" (one of ${Object.keys(DEFAULT_SETTINGS).join(", ")})`);
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new UsageError(`${k} must be a number >= 0 (got "${v}")`);
        (current as Record<string, number>)[k] = n;
      }
      await db.cluster.update({ where: { id: c.id }, data: { settings: current } });
    }
    console.log(JSON.stringify({ cluster: c.name, settings: { ...DEFAULT_SETTINGS, ...current } }, null, 2));
  } else {
    throw new UsageError(`unknown command "${argv.join(" ")}"`);
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help") {
    console.log(USAGE);
    return argv.length ? 0 : 2;
  }
  const config = loadServerConfig([], process.env);
  const db = await connectForCli(config, ROOT, createLogger(process.env.LOG_LEVEL ?? "warn"));
  try {
    await run(db.prisma, argv);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof CliUsageError) {
      console.error(`${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof AuthInputError) {
      console.error(`admin: ${e.message}`);
      return e.code === "not_found" ? 1 : 2;
    }
    throw e;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`admin: ${(e as Error).message}`);
    process.exit(1);
  },
);
