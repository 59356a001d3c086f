/**
 * Access commands of the admin CLI: users, sessions, API tokens, wall tokens,
 * agent tokens. Secrets are printed once when created and never stored in clear.
 */
import readline from "node:readline";
import { Writable } from "node:stream";
import type { Db } from "../db/database";
import {
  createApiToken, createUser, createWallToken, listApiTokens, listSessions, listUsers, listWallTokens, removeUser,
  revokeApiToken, revokeSessions, revokeWallToken, setPassword, setRole,
} from "../auth/store";
import { createToken, listTokens, revokeToken } from "../ingest/tokens";

export const ACCESS_USAGE = `  npm run admin -- user add NAME --role viewer|operator|admin [--password-stdin]   (prompts for the password on a terminal)
  npm run admin -- user list
  npm run admin -- user passwd NAME [--password-stdin]     (ends the user's sessions)
  npm run admin -- user role NAME viewer|operator|admin
  npm run admin -- user remove NAME
  npm run admin -- session list
  npm run admin -- session revoke ID | session revoke --user NAME
  npm run admin -- api-token create --name NAME | api-token list | api-token revoke ID
  npm run admin -- wall-token create --name NAME [--url BASE] | wall-token list | wall-token revoke ID
  npm run admin -- agent-token create --cluster NAME [--label TEXT] | agent-token list | agent-token revoke ID`;

export class CliUsageError extends Error {}

const iso = (d: Date | null) => (d ? d.toISOString() : "never");

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0];
}

function promptHidden(question: string): Promise<string> {
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  process.stdout.write(question);
  const rl = readline.createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) =>
    rl.question("", (answer) => {
      rl.close();
      process.stdout.write("\n");
      resolve(answer);
    }),
  );
}

/** from stdin (--password-stdin, or when stdin is not a terminal), else asked twice without echo */
export async function readPassword(argv: string[]): Promise<string> {
  if (argv.includes("--password-stdin") || !process.stdin.isTTY) return readStdin();
  const a = await promptHidden("password: ");
  const b = await promptHidden("again: ");
  if (a !== b) throw new CliUsageError("the passwords differ");
  return a;
}

const positiveId = (s: string | undefined, what: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new CliUsageError(`${what} needs an ID (see the list command)`);
  return n;
};

/** true when the command was one of these */
export async function runAccessCommand(db: Db, argv: string[]): Promise<boolean> {
  const [what, verb, arg] = argv;
  if (what === "user") {
    if (verb === "add") {
      if (!arg || arg.startsWith("--")) throw new CliUsageError("user add needs a NAME");
      const role = flag(argv, "role") ?? "viewer";
      const u = await createUser(db, arg, role, await readPassword(argv));
      console.log(`user ${u.id} "${u.name}" added (${u.role})`);
    } else if (verb === "list") {
      const rows = await listUsers(db);
      if (rows.length === 0) console.log("no users: npm run admin -- user add NAME --role admin");
      for (const u of rows) console.log(`${String(u.id).padStart(4)}  ${u.name.padEnd(24)} ${u.role.padEnd(9)} last sign-in ${iso(u.lastLoginAt)}  ${u.sessions} session(s)`);
    } else if (verb === "passwd") {
      if (!arg || arg.startsWith("--")) throw new CliUsageError("user passwd needs a NAME");
      await setPassword(db, arg, await readPassword(argv));
      console.log(`password of "${arg}" changed; their sessions ended`);
    } else if (verb === "role") {
      if (!arg || !argv[3]) throw new CliUsageError("user role needs NAME and ROLE");
      const u = await setRole(db, arg, argv[3]);
      console.log(`"${u.name}" is now ${u.role}`);
    } else if (verb === "remove") {
      if (!arg) throw new CliUsageError("user remove needs a NAME");
      const u = await removeUser(db, arg);
      console.log(`user "${u.name}" removed with their sessions`);
    } else throw new CliUsageError(`unknown user command "${verb ?? ""}"`);
    return true;
  }
  if (what === "session") {
    if (verb === "list") {
      const rows = await listSessions(db);
      if (rows.length === 0) console.log("no sessions");
      for (const s of rows) {
        const who = s.user ? `user ${s.user.name}` : s.wallToken ? `wall ${s.wallToken.name}` : "?";
        console.log(`${String(s.id).padStart(5)}  ${who.padEnd(28)} from ${s.ip || "?"}  since ${iso(s.createdAt)}  last seen ${iso(s.lastSeenAt)}  ends ${iso(s.expiresAt)}`);
      }
    } else if (verb === "revoke") {
      const user = flag(argv, "user");
      const n = user ? await revokeSessions(db, { user }) : await revokeSessions(db, { id: BigInt(positiveId(arg, "session revoke")) });
      console.log(`${n} session(s) revoked (open live connections close within seconds)`);
    } else throw new CliUsageError(`unknown session command "${verb ?? ""}"`);
    return true;
  }
  if (what === "api-token" || what === "wall-token") {
    const api = what === "api-token";
    if (verb === "create") {
      const name = flag(argv, "name");
      if (!name) throw new CliUsageError(`${what} create needs --name NAME`);
      const t = api ? await createApiToken(db, name, "cli") : await createWallToken(db, name, "cli");
      if (api) console.log(`API token ${t.id} "${name}" (read-only; shown once, only its hash is stored):\n${t.token}\nuse: curl -H "Authorization: Bearer ${t.token.slice(0, 9)}..." https://monitor/api/clusters`);
      else {
        const base = (flag(argv, "url") ?? process.env.KAM_PUBLIC_URL ?? "http://localhost:3000").replace(/\/$/, "");
        console.log(`wall token ${t.id} "${name}" (shown once, only its hash is stored). Open on the wall screen:\n${base}/wall?token=${t.token}`);
      }
    } else if (verb === "list") {
      const rows = api ? await listApiTokens(db) : await listWallTokens(db);
      if (rows.length === 0) console.log(`no ${what}s`);
      for (const t of rows) {
        console.log(`${String(t.id).padStart(4)}  ${t.name.padEnd(24)} ${t.prefix}…  ${t.revokedAt ? `revoked ${iso(t.revokedAt)}` : `last used ${iso(t.lastUsedAt)}`}`);
      }
    } else if (verb === "revoke") {
      const id = positiveId(arg, `${what} revoke`);
      const ok = api ? await revokeApiToken(db, id) : await revokeWallToken(db, id);
      console.log(ok ? `${what} ${id} revoked${api ? "" : " and its sessions ended"}` : `no active ${what} ${id}`);
    } else throw new CliUsageError(`unknown ${what} command "${verb ?? ""}"`);
    return true;
  }
  if (what === "agent-token") {
    if (verb === "create") {
      const cluster = flag(argv, "cluster");
      if (!cluster || !/^[A-Za-z0-9._-]{1,128}$/.test(cluster)) throw new CliUsageError("agent-token create needs --cluster NAME");
      const t = await createToken(db, cluster, flag(argv, "label") ?? "");
      console.log(`agent token ${t.id} for cluster "${cluster}" (shown once; only its hash is stored):\n${t.token}`);
    } else if (verb === "list") {
      const rows = await listTokens(db);
      if (rows.length === 0) console.log("no agent tokens");
      for (const r of rows) console.log(`${String(r.id).padStart(4)}  ${r.cluster.name.padEnd(20)} ${r.prefix}…  ${r.label || "-"}  ${r.revokedAt ? `revoked ${iso(r.revokedAt)}` : `last used ${iso(r.lastUsedAt)}`}`);
    } else if (verb === "revoke") {
      const id = positiveId(arg, "agent-token revoke");
      console.log((await revokeToken(db, id)) ? `agent token ${id} revoked (its agents are refused at their next connection)` : `no active agent token ${id}`);
    } else throw new CliUsageError(`unknown agent-token command "${verb ?? ""}"`);
    return true;
  }
  return false;
}
