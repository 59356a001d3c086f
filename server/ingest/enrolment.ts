/**
 * Enrolment codes (issue 14, "Add a node from the dashboard"): an admin makes a one-time code for one node
 * name of a cluster (an existing cluster or a new name); the agent started with it (--enrol / KAM_ENROL_CODE)
 * exchanges it once, through POST /api/enrol, for a per-node agent token made exactly as
 * `npm run token -- create --cluster C --node N` makes one (tokens.ts). Codes are random (256 bits), stored
 * as SHA-256 only, expire (default 1 h), can be listed and revoked; the exchange marks the code used in the
 * same transaction that creates the token, with a conditional UPDATE, so of two agents presenting one code
 * (a copied install command) exactly one gets a token and the other a typed refusal (`enrolment_used`).
 *
 * `codeState` and `refusal` are pure (unit-tested); the rest runs queries.
 */
import { randomBytes } from "node:crypto";
import type { Db } from "../db/database";
import type { ErrorCode } from "../protocol";
import { createToken, hashToken } from "./tokens";

const PREFIX = "kame_";

/** the lifetime of a code when its creator says none, and the longest allowed */
export const ENROL_TTL_DEFAULT_MINUTES = 60;
export const ENROL_TTL_MAX_MINUTES = 7 * 24 * 60;

/** a new code (ENROL_CODE_RE of the protocol): shown once, to the admin who made it */
export function newEnrolmentCode(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

export type CodeState = "pending" | "used" | "expired" | "revoked";

export interface CodeRow {
  id: number;
  clusterName: string;
  nodeName: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

/** where a code stands at `now`: revoked and used win over expired (they say more) */
export function codeState(row: Pick<CodeRow, "expiresAt" | "usedAt" | "revokedAt">, now: Date): CodeState {
  if (row.revokedAt) return "revoked";
  if (row.usedAt) return "used";
  return row.expiresAt.getTime() <= now.getTime() ? "expired" : "pending";
}

export interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
}

const NEW_CODE = "make a new code in the dashboard (Admin, Add a node) and set it in --enrol / KAM_ENROL_CODE";

/** why `row` cannot enrol node `node` at `now` (null: it can); `row` null: no code has that hash */
export function refusal(row: CodeRow | null, node: string, now: Date): Refusal | null {
  if (!row) return { status: 401, code: "unauthorized", message: `unknown enrolment code: check --enrol / KAM_ENROL_CODE, or ${NEW_CODE}` };
  switch (codeState(row, now)) {
    case "revoked":
      return { status: 410, code: "enrolment_revoked", message: `this enrolment code was revoked at ${row.revokedAt!.toISOString()}: ${NEW_CODE}` };
    case "used":
      return {
        status: 409, code: "enrolment_used",
        message: `this enrolment code was used at ${row.usedAt!.toISOString()}: a code enrols one node only; ${NEW_CODE}`,
      };
    case "expired":
      return { status: 410, code: "enrolment_expired", message: `this enrolment code expired at ${row.expiresAt.toISOString()}: ${NEW_CODE}` };
    case "pending":
      break;
  }
  if (row.nodeName !== node) {
    return {
      status: 403, code: "forbidden",
      message: `this enrolment code is for node "${row.nodeName}" of cluster "${row.clusterName}", not "${node}": set --node / KAM_NODE to ${row.nodeName}`,
    };
  }
  return null;
}

export interface NewCode {
  id: number;
  code: string;
  cluster: string;
  node: string;
  expiresAt: Date;
}

/**
 * The valid per-node agent token a node name is bound to (its agents connect with it), or null. A code for
 * such a node could never connect (the handshake refuses a second token for a bound node name:
 * agent-namespace.ts), so the code is refused at creation: revoke the token first to re-enrol the node.
 */
export async function boundToken(db: Db, cluster: string, node: string): Promise<{ id: number; prefix: string } | null> {
  const row = await db.node.findFirst({ where: { name: node, cluster: { name: cluster } }, select: { tokenId: true } });
  if (row?.tokenId == null) return null;
  const t = await db.agentToken.findUnique({ where: { id: row.tokenId }, select: { id: true, prefix: true, revokedAt: true, nodeName: true } });
  return t && !t.revokedAt && t.nodeName !== null ? { id: t.id, prefix: t.prefix } : null;
}

export class EnrolmentConflict extends Error {}

export async function createEnrolmentCode(
  db: Db,
  o: { cluster: string; node: string; ttlMinutes?: number; createdBy: string },
  now = new Date(),
): Promise<NewCode> {
  const bound = await boundToken(db, o.cluster, o.node);
  if (bound) {
    throw new EnrolmentConflict(
      `node "${o.node}" of cluster "${o.cluster}" is bound to agent token #${bound.id} (${bound.prefix}…), which is still valid: ` +
        "revoke it first (Admin, Agent tokens) to enrol the node again",
    );
  }
  const code = newEnrolmentCode();
  const ttl = o.ttlMinutes ?? ENROL_TTL_DEFAULT_MINUTES;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > ENROL_TTL_MAX_MINUTES) throw new RangeError(`ttlMinutes must be 1 to ${ENROL_TTL_MAX_MINUTES}`);
  const expiresAt = new Date(now.getTime() + ttl * 60_000);
  const row = await db.enrolmentCode.create({
    data: {
      clusterName: o.cluster, nodeName: o.node, codeHash: hashToken(code), prefix: code.slice(0, PREFIX.length + 4), createdBy: o.createdBy,
      createdAt: now, expiresAt,
    },
  });
  return { id: row.id, code, cluster: o.cluster, node: o.node, expiresAt };
}

/** the newest codes first (at most `limit`), with the agent token each was exchanged for */
export async function listEnrolmentCodes(db: Db, limit = 200) {
  return db.enrolmentCode.findMany({ orderBy: { id: "desc" }, take: limit });
}

/** false when it was not pending (used, revoked already, unknown); a used code's token stays (revoke the token) */
export async function revokeEnrolmentCode(db: Db, id: number, now = new Date()): Promise<boolean> {
  const r = await db.enrolmentCode.updateMany({ where: { id, revokedAt: null, usedAt: null }, data: { revokedAt: now } });
  return r.count === 1;
}

export type Redeemed = { ok: true; codeId: number; cluster: string; node: string; token: string; tokenId: number } | { ok: false; codeId: number | null; refusal: Refusal };

/**
 * Exchanges `code` for a new agent token of its node, once. In one transaction: the code's row is read and
 * checked (`refusal`), then taken by `UPDATE ... WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > now`
 * (a concurrent exchange of the same code waits for the row lock and then matches nothing), then the token is
 * made and recorded on the code. A refusal changes nothing.
 */
export async function redeemEnrolmentCode(
  db: Db,
  req: { code: string; node: string; from: string; agentId?: string },
  now = new Date(),
): Promise<Redeemed> {
  const codeHash = hashToken(req.code);
  return db.$transaction(async (tx) => {
    const row = await tx.enrolmentCode.findUnique({ where: { codeHash } });
    if (row && req.agentId && row.usedByAgent === req.agentId && row.agentTokenId !== null) {
      const again = await reissue(tx, { ...row, agentTokenId: row.agentTokenId }, req.node, now);
      if (again) return again;
    }
    const no = refusal(row, req.node, now);
    if (no || !row) return { ok: false as const, codeId: row?.id ?? null, refusal: no! };
    const taken = await tx.enrolmentCode.updateMany({
      where: { id: row.id, usedAt: null, revokedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now, usedFrom: req.from.slice(0, 128), usedByAgent: req.agentId ?? null },
    });
    if (taken.count !== 1) {
      // another exchange took it between our read and our update
      const again = await tx.enrolmentCode.findUnique({ where: { codeHash } });
      const why = refusal(again, req.node, now) ?? { status: 409, code: "enrolment_used" as const, message: "this enrolment code was just used by another agent" };
      return { ok: false as const, codeId: row.id, refusal: why };
    }
    const t = await createToken(tx, row.clusterName, `enrolment code #${row.id}`, row.nodeName);
    await tx.enrolmentCode.update({ where: { id: row.id }, data: { agentTokenId: t.id } });
    return { ok: true as const, codeId: row.id, cluster: row.clusterName, node: row.nodeName, token: t.token, tokenId: t.id };
  });
}

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/**
 * The agent that used a code asks again (its answer was lost: a timeout, a crash before it stored the token):
 * while the code has not expired nor been revoked and the token it gave was never used to connect, that token
 * is revoked and a new one issued in its place. Once the token connected, or for any other agent id, the
 * code stays used (null: the caller refuses it as such).
 */
async function reissue(tx: Tx, row: CodeRow & { agentTokenId: number }, node: string, now: Date): Promise<Redeemed | null> {
  if (row.revokedAt || row.expiresAt.getTime() <= now.getTime() || row.nodeName !== node) return null;
  const dropped = await tx.agentToken.updateMany({ where: { id: row.agentTokenId, lastUsedAt: null, revokedAt: null }, data: { revokedAt: now } });
  if (dropped.count !== 1) return null;
  const t = await createToken(tx, row.clusterName, `enrolment code #${row.id}`, row.nodeName);
  const moved = await tx.enrolmentCode.updateMany({ where: { id: row.id, agentTokenId: row.agentTokenId }, data: { agentTokenId: t.id } });
  if (moved.count !== 1) throw new Error(`enrolment code #${row.id} changed while its token was issued again`);
  return { ok: true, codeId: row.id, cluster: row.clusterName, node: row.nodeName, token: t.token, tokenId: t.id };
}

/** a word for sh: as it is when it is plainly safe, else in single quotes */
function shWord(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one-line install command the dashboard shows for a code (agent/install.sh, served at
 * /downloads/install.sh): `base` is the server's URL as the nodes reach it (KAM_PUBLIC_URL, else the
 * dashboard's own origin).
 */
export function installCommand(base: string, node: string, code: string): string {
  const b = base.replace(/\/+$/, "");
  return `curl -fsSL ${shWord(`${b}/downloads/install.sh`)} | sh -s -- --server ${shWord(b)} --node ${shWord(node)} --code ${shWord(code)}`;
}

/**
 * The server's URL for the nodes: KAM_PUBLIC_URL when set, else the origin of the dashboard the admin uses
 * (a state change's Origin, or its Referer's: both were checked to be this dashboard's), else the Host header.
 */
export function serverBase(publicUrl: string, headers: { origin?: string; referer?: string; host?: string }, tls: boolean): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, "");
  if (headers.origin && headers.origin !== "null") return headers.origin;
  if (headers.referer) {
    try {
      return new URL(headers.referer).origin;
    } catch {
      // not a URL: the Host below
    }
  }
  return `${tls ? "https" : "http"}://${headers.host ?? "localhost"}`;
}
