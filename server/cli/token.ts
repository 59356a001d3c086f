/**
 * npm run token -- create --cluster NAME --node NODE [--label TEXT]   print a new agent token for one node (shown once)
 * npm run token -- list                                    tokens with cluster, label, last use
 * npm run token -- revoke ID                               revoke a token
 * Uses DATABASE_URL, or the embedded database under KAM_DATA_DIR (default ./data).
 */
import { loadServerConfig } from "../config";
import { connectForCli } from "../db/connect-cli";
import { createLogger } from "../log";
import { createToken, listTokens, NODE_NAME_RE, revokeToken } from "../ingest/tokens";
import { ROOT } from "../paths";

const USAGE = `usage:
  npm run token -- create --cluster NAME --node NODE [--label TEXT]
      a token for one node: it can connect as NODE only (issue 19)
  npm run token -- create --cluster NAME --any-node [--label TEXT]
      a legacy cluster token (not recommended): accepted for node names nobody claimed yet only
  npm run token -- list
  npm run token -- revoke ID
The database is DATABASE_URL, or the embedded one under KAM_DATA_DIR (default ./data).`;

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (!cmd || cmd === "--help" || cmd === "-h") {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const config = loadServerConfig([], process.env);
  const log = createLogger(process.env.LOG_LEVEL ?? "warn");
  if (cmd === "create") {
    const cluster = arg(argv, "cluster");
    if (!cluster || !/^[A-Za-z0-9._-]{1,128}$/.test(cluster)) {
      console.error("create needs --cluster NAME (letters, digits, '.', '_', '-')\n" + USAGE);
      return 2;
    }
    const node = arg(argv, "node");
    const anyNode = argv.includes("--any-node");
    if (node !== undefined ? !NODE_NAME_RE.test(node) || anyNode : !anyNode) {
      console.error("create needs --node NODE (the agent's node name: letters, digits, '.', '_', ':', '-'), or --any-node for a legacy cluster token\n" + USAGE);
      return 2;
    }
    const db = await connectForCli(config, ROOT, log);
    try {
      const { token, id } = await createToken(db.prisma, cluster, arg(argv, "label") ?? "", node);
      console.log(
        node
          ? `token ${id} for node "${node}" of cluster "${cluster}" (shown once; only its hash is stored):\n${token}`
          : `token ${id} for any new node of cluster "${cluster}" (legacy cluster token; shown once; only its hash is stored):\n${token}`,
      );
    } finally {
      await db.close();
    }
    return 0;
  }
  if (cmd === "list") {
    const db = await connectForCli(config, ROOT, log);
    try {
      const rows = await listTokens(db.prisma);
      if (rows.length === 0) console.log("no tokens yet: npm run token -- create --cluster NAME --node NODE");
      for (const r of rows) {
        console.log(
          [String(r.id).padStart(4), r.cluster.name.padEnd(20), (r.nodeName ?? "(any new node)").padEnd(20), `${r.prefix}…`, r.label || "-",
            r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : r.lastUsedAt ? `last used ${r.lastUsedAt.toISOString()}` : "never used"].join("  "),
        );
      }
    } finally {
      await db.close();
    }
    return 0;
  }
  if (cmd === "revoke") {
    const id = Number(argv[1]);
    if (!Number.isInteger(id) || id <= 0) {
      console.error("revoke needs a token ID (see `npm run token -- list`)");
      return 2;
    }
    const db = await connectForCli(config, ROOT, log);
    try {
      const ok = await revokeToken(db.prisma, id);
      console.log(ok ? `token ${id} revoked` : `no active token ${id}`);
      return ok ? 0 : 1;
    } finally {
      await db.close();
    }
  }
  console.error(`unknown command "${cmd}"\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`token: ${(e as Error).message}`);
    process.exit(1);
  },
);
