/**
 * npm run token -- create --cluster NAME --node NODE [--label TEXT]   print a new agent token for one node (shown once)
 * npm run token -- list                                    tokens with cluster, label, last use
 * npm run token -- revoke ID                               revoke a token
 * Uses DATABASE_URL, or the embedded database under KAM_DATA_DIR (default ./data).
 * The command line is read by args.ts (--help, --version, exit codes).
 */
import { z } from "zod";
import { withCliDatabase } from "../db/connect-cli";
import type { Db } from "../db/database";
import { createToken, listTokens, NODE_NAME_RE, revokeToken } from "../ingest/tokens";
import { idCommand, runCli, type CliSpec, type Command } from "./args";
import { CLUSTER_FLAG } from "./users";
import { runAudited } from "./audit";

const TOKEN_COMMANDS: Command<Db>[] = [
  {
    name: "create",
    synopsis: "--cluster NAME (--node NODE | --any-node) [--label TEXT]",
    help: "a token for one node (shown once; only its hash is stored): it can connect as NODE only. --any-node makes a legacy cluster token (not recommended): accepted for node names nobody claimed yet only",
    flags: {
      cluster: { ...CLUSTER_FLAG, help: "the cluster (created with its first token)" },
      node: { type: "string", arg: "NODE", help: "the agent's node name (KAM_NODE)", check: z.string().regex(NODE_NAME_RE, "letters, digits, '.', '_', ':', '-' (1-128)") },
      "any-node": { type: "boolean", help: "a legacy cluster token instead of one bound to a node" },
      label: { type: "string", arg: "TEXT", help: "a note shown in the list" },
    },
    audit: { action: "agent-token.create" },
    check: (a) =>
      (a.string("node") === undefined) === !a.flag("any-node")
        ? "create needs --node NODE (the agent's node name: letters, digits, '.', '_', ':', '-'), or --any-node for a legacy cluster token (not both)"
        : null,
    async run(db, a) {
      const cluster = a.need("cluster");
      const node = a.string("node");
      const { token, id } = await createToken(db, cluster, a.string("label") ?? "", node);
      console.log(
        node
          ? `token ${id} for node "${node}" of cluster "${cluster}" (shown once; only its hash is stored):\n${token}`
          : `token ${id} for any new node of cluster "${cluster}" (legacy cluster token; shown once; only its hash is stored):\n${token}`,
      );
    },
  },
  {
    name: "list",
    help: "tokens with their cluster, node, label and last use",
    async run(db) {
      const rows = await listTokens(db);
      if (rows.length === 0) console.log("no tokens yet: npm run token -- create --cluster NAME --node NODE");
      for (const r of rows) {
        console.log(
          [String(r.id).padStart(4), r.cluster.name.padEnd(20), (r.nodeName ?? "(any new node)").padEnd(20), `${r.prefix}…`, r.label || "-",
            r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : r.lastUsedAt ? `last used ${r.lastUsedAt.toISOString()}` : "never used"].join("  "),
        );
      }
    },
  },
  {
    ...idCommand("revoke", "revoke a token: its agents are refused at their next connection", revokeToken, {
      done: (id) => `token ${id} revoked`,
      none: (id) => `no active token ${id}`,
    }),
    audit: { action: "agent-token.revoke", target: (a) => ({ kind: "agent-token", id: Number(a.positionals[0]) }) },
  },
];

const TOKEN_CLI: CliSpec<Command<Db>> = {
  name: "token",
  invoke: "npm run token --",
  summary: "npm run token: agent tokens (one per node).",
  commands: TOKEN_COMMANDS,
  footer: "The database is DATABASE_URL, or the embedded one under KAM_DATA_DIR (default ./data).",
};

void runCli(TOKEN_CLI, process.argv.slice(2), (command, args) => withCliDatabase((db) => runAudited(db, command, args))).then((code) => process.exit(code));
