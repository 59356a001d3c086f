/**
 * Agent tokens: random, shown once, stored as SHA-256 only (they carry 256
 * bits of entropy, so a fast hash is enough; a slow hash would only slow every
 * agent handshake). Each token is scoped to one cluster.
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

export async function createToken(db: Db, cluster: string, label = ""): Promise<{ token: string; id: number }> {
  const token = newToken();
  const c = await db.cluster.upsert({ where: { name: cluster }, create: { name: cluster }, update: {} });
  const row = await db.agentToken.create({
    data: { clusterId: c.id, label, tokenHash: hashToken(token), prefix: token.slice(0, PREFIX.length + 6), createdAt: new Date() },
  });
  return { token, id: row.id };
}

export interface TokenScope {
  tokenId: number;
  clusterId: number;
  cluster: string;
}

/** The cluster a token may write to, or null when unknown or revoked. */
export async function verifyToken(db: Db, token: string): Promise<TokenScope | null> {
  const row = await db.agentToken.findUnique({ where: { tokenHash: hashToken(token) }, include: { cluster: true } });
  if (!row || row.revokedAt) return null;
  return { tokenId: row.id, clusterId: row.clusterId, cluster: row.cluster.name };
}

export async function listTokens(db: Db) {
  return db.agentToken.findMany({ include: { cluster: true }, orderBy: { id: "asc" } });
}

export async function revokeToken(db: Db, id: number): Promise<boolean> {
  const r = await db.agentToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  return r.count === 1;
}
