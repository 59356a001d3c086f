/**
 * Access commands of the admin CLI: users, sessions, API tokens, wall tokens,
 * agent tokens. Secrets are printed once when created and never stored in clear.
 * Declared for args.ts: admin.ts adds them to its own commands.
 */
import readline from "node:readline";
import { Writable } from "node:stream";
import { z } from "zod";
import type { Db } from "../db/database";
import {
  createApiToken, createUser, createWallToken, listApiTokens, listSessions, listUsers, listWallTokens, removeUser,
  revokeApiToken, revokeSessions, revokeWallToken, setPassword, setRole, setUserScope,
} from "../auth/store";
import { ROLES } from "../auth/roles";
import { CLUSTER_NAME_RE, createToken, listTokens, revokeToken } from "../ingest/tokens";
import { EXIT, ID_ARG, idCommand, UsageError, type Args, type Command, type FlagSpec } from "./args";

/** --cluster NAME, as every command that names a cluster takes it */
export const CLUSTER_FLAG = {
  type: "string", arg: "NAME", required: true, help: "the cluster's name",
  check: z.string().regex(CLUSTER_NAME_RE, "letters, digits, '.', '_', '-' (1-128)"),
} as const satisfies FlagSpec;

const iso = (d: Date | null) => (d ? d.toISOString() : "never");

/** --clusters A,B: limits a user or token to those clusters (server/auth/scope.ts) */
const CLUSTERS_FLAG = {
  type: "string", arg: "A,B", help: "only these clusters (comma-separated names); default every cluster",
  check: z.string().refine((v) => v.split(",").every((n) => CLUSTER_NAME_RE.test(n)), "cluster names (letters, digits, '.', '_', '-') separated by commas, no spaces"),
} as const satisfies FlagSpec;

/** the clusters of --clusters, or null (every cluster) without it */
const clustersOf = (a: Args): string[] | null => a.string("clusters")?.split(",") ?? null;

/** how lists show a scope (null: every cluster) */
const scopeText = (clusters: string[] | null) => `clusters: ${clusters === null ? "all" : clusters.join(",")}`;

/** the first line of stdin (a password, a secret) */
export async function readStdinLine(): Promise<string> {
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
export async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return readStdinLine();
  const a = await promptHidden("password: ");
  const b = await promptHidden("again: ");
  if (a !== b) throw new UsageError("the passwords differ");
  return a;
}

const PASSWORD_STDIN: FlagSpec = { type: "boolean", help: "read the password from the first line of stdin (else asked twice on a terminal)" };
const ROLE_CHECK = z.enum(ROLES, { message: `must be one of ${ROLES.join(", ")}` });

const USER_COMMANDS: Command<Db>[] = [
  {
    name: "user add",
    args: [{ name: "NAME" }],
    flags: {
      role: { type: "string", arg: ROLES.join("|"), help: "default viewer", check: ROLE_CHECK },
      clusters: { ...CLUSTERS_FLAG, help: "a viewer or operator sees only these clusters (comma-separated names); default every cluster (an admin always sees every one)" },
      "password-stdin": PASSWORD_STDIN,
    },
    help: "add a user (prompts for the password on a terminal)",
    audit: { action: "user.add", target: (a) => ({ kind: "user", id: a.positionals[0] }) },
    async run(db, a) {
      const u = await createUser(db, a.positionals[0], a.string("role") ?? "viewer", await readPassword(a.flag("password-stdin")), clustersOf(a));
      console.log(`user ${u.id} "${u.name}" added (${u.role}, ${scopeText(u.clusters)})`);
    },
  },
  {
    name: "user list",
    help: "users with their role, clusters, last sign-in and sessions",
    async run(db) {
      const rows = await listUsers(db);
      if (rows.length === 0) console.log("no users: npm run admin -- user add NAME --role admin");
      for (const u of rows) {
        console.log(`${String(u.id).padStart(4)}  ${u.name.padEnd(24)} ${u.role.padEnd(9)} ${scopeText(u.clusters)}  last sign-in ${iso(u.lastLoginAt)}  ${u.sessions} session(s)${u.signIn === "oidc" ? "  (identity provider)" : ""}`);
      }
    },
  },
  {
    name: "user scope",
    args: [{ name: "NAME" }],
    flags: { clusters: { ...CLUSTERS_FLAG, help: "the user sees only these clusters (comma-separated names)" }, all: { type: "boolean", help: "the user sees every cluster again" } },
    synopsis: "NAME (--clusters A,B | --all)",
    help: "limit a viewer or operator to some clusters, or give every cluster back; it applies at once (open live pages within seconds)",
    audit: { action: "user.scope", target: (a) => ({ kind: "user", id: a.positionals[0] }) },
    check: (a) => ((a.string("clusters") === undefined) === !a.flag("all") ? "user scope needs --clusters A,B or --all (one of them)" : null),
    async run(db, a) {
      const u = await setUserScope(db, a.positionals[0], a.flag("all") ? null : clustersOf(a));
      console.log(`"${u.name}" (${u.role}) ${scopeText(u.clusters)}; it applies at once`);
    },
  },
  {
    name: "user passwd",
    args: [{ name: "NAME" }],
    flags: { "password-stdin": PASSWORD_STDIN },
    help: "set a user's password (ends the user's sessions)",
    audit: { action: "user.password", target: (a) => ({ kind: "user", id: a.positionals[0] }) },
    async run(db, a) {
      const name = a.positionals[0];
      await setPassword(db, name, await readPassword(a.flag("password-stdin")));
      console.log(`password of "${name}" changed; their sessions ended`);
    },
  },
  {
    name: "user role",
    args: [{ name: "NAME" }, { name: "ROLE", check: ROLE_CHECK }],
    help: `change a user's role (${ROLES.join(", ")}); it applies at once`,
    audit: { action: "user.role", target: (a) => ({ kind: "user", id: a.positionals[0] }) },
    async run(db, a) {
      const u = await setRole(db, a.positionals[0], a.positionals[1]);
      console.log(`"${u.name}" is now ${u.role}`);
    },
  },
  {
    name: "user remove",
    args: [{ name: "NAME" }],
    help: "remove a user with their sessions",
    audit: { action: "user.remove", target: (a) => ({ kind: "user", id: a.positionals[0] }) },
    async run(db, a) {
      const u = await removeUser(db, a.positionals[0]);
      console.log(`user "${u.name}" removed with their sessions`);
    },
  },
  {
    name: "session list",
    help: "sessions of users and wall screens",
    async run(db) {
      const rows = await listSessions(db);
      if (rows.length === 0) console.log("no sessions");
      for (const s of rows) {
        const who = s.user ? `user ${s.user.name}` : s.wallToken ? `wall ${s.wallToken.name}` : "?";
        console.log(`${String(s.id).padStart(5)}  ${who.padEnd(28)} from ${s.ip || "?"}  since ${iso(s.createdAt)}  last seen ${iso(s.lastSeenAt)}  ends ${iso(s.expiresAt)}`);
      }
    },
  },
  {
    name: "session revoke",
    args: [{ ...ID_ARG, optional: true }],
    flags: { user: { type: "string", arg: "NAME", help: "every session of this user" } },
    synopsis: "ID | --user NAME",
    help: "end one session, or every session of a user (open live connections close within seconds)",
    audit: { action: "session.revoke", target: (a) => (a.string("user") !== undefined ? { kind: "user", id: a.string("user")! } : { kind: "session", id: a.positionals[0] }) },
    check: (a) => ((a.positionals[0] === undefined) === (a.string("user") === undefined) ? "session revoke needs an ID or --user NAME (one of them)" : null),
    async run(db, a) {
      const [id] = a.positionals;
      const user = a.string("user");
      const n = user !== undefined ? await revokeSessions(db, { user }) : await revokeSessions(db, { id: BigInt(id) });
      console.log(`${n} session(s) revoked (open live connections close within seconds)`);
      return user === undefined && n === 0 ? EXIT.failure : EXIT.ok;
    },
  },
];

/** create, list and revoke of API tokens and of wall tokens: the same three commands */
function secretTokenCommands(what: "api-token" | "wall-token"): Command<Db>[] {
  const api = what === "api-token";
  const flags: Record<string, FlagSpec> = {
    name: { type: "string", arg: "NAME", required: true, help: "what it is for (shown in lists)" },
    clusters: { ...CLUSTERS_FLAG, help: `${api ? "it reads" : "the wall shows"} only these clusters (comma-separated names); default every cluster` },
  };
  if (!api) flags.url = { type: "string", arg: "BASE", help: "the dashboard's URL for the printed link (default KAM_PUBLIC_URL, else http://localhost:3000)" };
  return [
    {
      name: `${what} create`,
      flags,
      help: api ? "a read-only API token (Authorization: Bearer), shown once" : "a NOC wall token: prints the wall URL …/wall?token=kamw_…, shown once",
      audit: { action: `${what}.create` },
      async run(db, a) {
        const name = a.need("name");
        const t = api ? await createApiToken(db, name, "cli", clustersOf(a)) : await createWallToken(db, name, "cli", clustersOf(a));
        if (api) console.log(`API token ${t.id} "${name}" (read-only; shown once, only its hash is stored):\n${t.token}\nuse: curl -H "Authorization: Bearer ${t.token.slice(0, 9)}..." https://monitor/api/clusters`);
        else {
          const base = (a.string("url") ?? process.env.KAM_PUBLIC_URL ?? "http://localhost:3000").replace(/\/$/, "");
          console.log(`wall token ${t.id} "${name}" (shown once, only its hash is stored). Open on the wall screen:\n${base}/wall?token=${t.token}`);
        }
      },
    },
    {
      name: `${what} list`,
      help: `${api ? "API" : "wall"} tokens with their last use`,
      async run(db) {
        const rows = api ? await listApiTokens(db) : await listWallTokens(db);
        if (rows.length === 0) console.log(`no ${what}s`);
        for (const t of rows) {
          console.log(`${String(t.id).padStart(4)}  ${t.name.padEnd(24)} ${t.prefix}…  ${scopeText(t.clusters)}  ${t.revokedAt ? `revoked ${iso(t.revokedAt)}` : `last used ${iso(t.lastUsedAt)}`}`);
        }
      },
    },
    {
      ...idCommand(`${what} revoke`, api ? "revoke an API token" : "revoke a wall token and end its sessions", api ? revokeApiToken : revokeWallToken, {
        done: (id) => `${what} ${id} revoked${api ? "" : " and its sessions ended"}`,
        none: (id) => `no active ${what} ${id}`,
      }),
      audit: { action: `${what}.revoke`, target: (a) => ({ kind: what, id: Number(a.positionals[0]) }) },
    },
  ];
}

const AGENT_TOKEN_COMMANDS: Command<Db>[] = [
  {
    name: "agent-token create",
    flags: { cluster: CLUSTER_FLAG, label: { type: "string", arg: "TEXT", help: "a note shown in the list" } },
    help: "a legacy cluster token, for any new node of the cluster (`npm run token -- create --node NODE` makes one bound to a node)",
    audit: { action: "agent-token.create" },
    async run(db, a) {
      const cluster = a.need("cluster");
      const t = await createToken(db, cluster, a.string("label") ?? "");
      console.log(`agent token ${t.id} for cluster "${cluster}" (shown once; only its hash is stored):\n${t.token}`);
    },
  },
  {
    name: "agent-token list",
    help: "agent tokens with their cluster and last use",
    async run(db) {
      const rows = await listTokens(db);
      if (rows.length === 0) console.log("no agent tokens");
      for (const r of rows) console.log(`${String(r.id).padStart(4)}  ${r.cluster.name.padEnd(20)} ${r.prefix}…  ${r.label || "-"}  ${r.revokedAt ? `revoked ${iso(r.revokedAt)}` : `last used ${iso(r.lastUsedAt)}`}`);
    },
  },
  {
    ...idCommand("agent-token revoke", "revoke an agent token (its agents are refused at their next connection)", revokeToken, {
      done: (id) => `agent token ${id} revoked (its agents are refused at their next connection)`,
      none: (id) => `no active agent token ${id}`,
    }),
    audit: { action: "agent-token.revoke", target: (a) => ({ kind: "agent-token", id: Number(a.positionals[0]) }) },
  },
];

export const ACCESS_COMMANDS: Command<Db>[] = [...USER_COMMANDS, ...secretTokenCommands("api-token"), ...secretTokenCommands("wall-token"), ...AGENT_TOKEN_COMMANDS];
