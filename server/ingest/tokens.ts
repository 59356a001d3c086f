/**
 * Agent tokens: random, shown once, stored as SHA-256 only (they carry 256
 * bits of entropy, so a fast hash is enough; a slow hash would only slow every
 * agent handshake). Each token is scoped to one cluster and one node name
 * (issue 19): a holder of one node's token cannot connect as its peers. Tokens
 * made before that (node_name NULL, "cluster tokens") are still accepted, but
 * only for a node name nobody claimed yet (agent-namespace.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/database";

const PREFIX = "kam_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function newToken(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

/** cluster names (the API's and the CLIs' check; a cluster is created with its first token) */
export const CLUSTER_NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** node names a token can be bound to: the protocol's node name (1-128 characters), printable, no spaces */
export const NODE_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A new token for `node` of `cluster` (shown once). Without `node` a legacy
 * cluster token is made: only for tests of the migration path and old scripts.
 * `db` may be a transaction's client (an enrolment code's exchange, enrolment.ts).
 */
export async function createToken(db: Pick<Db, "cluster" | "agentToken">, cluster: string, label = "", node?: string): Promise<{ token: string; id: number }> {
  const token = newToken();
  const c = await db.cluster.upsert({ where: { name: cluster }, create: { name: cluster }, update: {} });
  const row = await db.agentToken.create({
    data: {
      clusterId: c.id, label, nodeName: node ?? null, tokenHash: hashToken(token), prefix: token.slice(0, PREFIX.length + 6), createdAt: new Date(),
    },
  });
  return { token, id: row.id };
}

export interface TokenScope {
  tokenId: number;
  clusterId: number;
  cluster: string;
  /** the node name the token is bound to; null for a legacy cluster token */
  nodeName: string | null;
}

/** The cluster a token may write to, or null when unknown or revoked. */
export async function verifyToken(db: Db, token: string): Promise<TokenScope | null> {
  const row = await db.agentToken.findUnique({ where: { tokenHash: hashToken(token) }, include: { cluster: true } });
  if (!row || row.revokedAt) return null;
  return { tokenId: row.id, clusterId: row.clusterId, cluster: row.cluster.name, nodeName: row.nodeName };
}

export async function listTokens(db: Db) {
  return db.agentToken.findMany({ include: { cluster: true }, orderBy: { id: "asc" } });
}

export async function revokeToken(db: Db, id: number): Promise<boolean> {
  const r = await db.agentToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  return r.count === 1;
}
